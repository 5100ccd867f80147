"""Roles see exports: auditors view everything, maintainers view exports."""

from django.db import migrations


def grant_views(apps, schema_editor):
    from importlib import import_module

    roles = import_module("access_requests.migrations.0002_roles_and_terms")
    roles._ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    roles.seed_roles(Group, Permission)
    Group.objects.get(name="maintainers").permissions.add(
        Permission.objects.get(content_type__app_label="access_requests", codename="view_export")
    )


class Migration(migrations.Migration):
    dependencies = [("access_requests", "0005_exports")]
    operations = [migrations.RunPython(grant_views, migrations.RunPython.noop)]
