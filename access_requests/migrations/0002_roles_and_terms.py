"""Roles (maintainers, auditors) and version 1 of the data-use terms."""

import datetime

from django.contrib.auth.management import create_permissions
from django.db import migrations

TERMS_V1 = """By requesting access you agree that:

1. You use the data only for the purpose you stated, for the benefit of the KubeVela
   community, and only during the period of access granted.
2. You do not try to identify, contact or track any installation, person or organisation,
   nor combine the data with other data to do so. Installation identifiers are pseudonyms
   valid only for your grant.
3. You do not pass the data on. Published results are aggregates that respect the portal's
   minimum group size (no group of fewer installations than the public statistics show).
4. You keep the data secure, and delete every copy when your access ends or is revoked.
5. Every read of the data is recorded, and maintainers may revoke access at any time."""

MAINTAINER_PERMISSIONS = [
    ("access_requests", "view_accessrequest"), ("access_requests", "change_accessrequest"),
    ("access_requests", "review_accessrequest"), ("access_requests", "view_grant"),
    ("access_requests", "change_grant"), ("access_requests", "view_requestevent"),
    ("access_requests", "view_profile"), ("access_requests", "view_datauseterms"),
    ("portal", "view_auditevent"),
    ("ingest", "view_policyversion"), ("ingest", "add_policyversion"),
    ("ingest", "change_policyversion"), ("ingest", "view_policyelement"),
    ("ingest", "add_policyelement"), ("ingest", "change_policyelement"),
    ("ingest", "delete_policyelement"), ("ingest", "view_discardedfieldcount"),
    ("ingest", "view_dailyrollup"), ("ingest", "view_rollupday"),
]
AUDITOR_APPS = ["access_requests", "portal", "ingest", "auth"]


def _ensure_permissions(apps):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def seed_roles(Group, Permission):  # noqa: N803 - model classes, historical or real
    maintainers, _ = Group.objects.get_or_create(name="maintainers")
    for app_label, codename in MAINTAINER_PERMISSIONS:
        maintainers.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    auditors, _ = Group.objects.get_or_create(name="auditors")
    auditors.permissions.add(*Permission.objects.filter(
        content_type__app_label__in=AUDITOR_APPS, codename__startswith="view_"))


def seed_terms(DataUseTerms):  # noqa: N803
    DataUseTerms.objects.get_or_create(
        version=1,
        defaults={"text": TERMS_V1,
                  "published_at": datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)},
    )


def seed(apps, schema_editor):
    _ensure_permissions(apps)
    seed_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))
    seed_terms(apps.get_model("access_requests", "DataUseTerms"))


def unseed(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["maintainers", "auditors"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("access_requests", "0001_initial"),
        ("ingest", "0003_rollups"),
        ("portal", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
