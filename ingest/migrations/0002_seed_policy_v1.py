"""Version 1 of the policy: the table of the LF review approved on 2022-03-14."""

from django.db import migrations

from ingest.review_policy import seed_policy_v1


def seed(apps, schema_editor):
    seed_policy_v1(apps.get_model("ingest", "PolicyVersion"), apps.get_model("ingest", "PolicyElement"))


def unseed(apps, schema_editor):
    apps.get_model("ingest", "PolicyVersion").objects.filter(number=1).delete()


class Migration(migrations.Migration):
    dependencies = [("ingest", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
