"""Version 1 of the policy: the table of the Linux Foundation review approved 2022-03-14.

The seed is frozen here, in the migration, so that no later edit of a live module can
rewrite what version 1 was. The test suite restores it from this module after tests
that flush the database (see the root conftest).
"""

import datetime
from dataclasses import dataclass

from django.db import migrations

REVIEW = "Linux Foundation review of KubeVela's telemetry, approved 2022-03-14"


@dataclass(frozen=True)
class ReviewedElement:
    """One row of the review's table, with its three answers (None: not assessed)."""

    key: str
    personal_info: bool | None
    tracking_identifier: bool | None
    sensitive_data: bool | None
    note: str
    rejection_reason: str = ""  # empty: approved

    @property
    def decision(self) -> str:
        return "rejected" if self.rejection_reason else "approved"


ELEMENTS = [
    ReviewedElement(
        "version", False, False, False,
        "Version of KubeVela the user is running, e.g. vela-core v1.2.4.",
    ),
    ReviewedElement(
        "platformID", False, True, False,
        "A unique ID that represents an individual installation; it does not tell who the user is.",
    ),
    ReviewedElement(
        "installTime", False, False, False,
        "Date the user installed vela-core for the first time.",
    ),
    ReviewedElement(
        "clusterCount", False, False, False,
        "Index of how many clusters this installation has, only as a bucket (<10, <50, <100, "
        "<500, <2000, <5000, <10000), to help develop the multi-cluster feature.",
    ),
    ReviewedElement(
        "appCount", False, False, False,
        "Index of how many KubeVela applications this installation has, only as a bucket "
        "(<10, <50, <100, <500, <2000, <5000, <10000), to improve performance at each scale.",
    ),
    ReviewedElement(
        "enableAddonList", False, False, False,
        "The addons (KubeVela plugins) this installation enabled, so the community knows which "
        "addons are used most and deserve maintenance first.",
    ),
    ReviewedElement(
        "xDefinitionTopList", False, False, False,
        "The definitions (KubeVela's major features) this installation uses most, so the "
        "community knows which features deserve maintenance first.",
    ),
    ReviewedElement(
        "requestTime", False, False, False,
        "The date the report was uploaded. Sent at most once a day.",
    ),
    ReviewedElement(
        "browserInfo", False, False, False,
        "Browser type, version and screen width, to adapt VelaUX (the UI dashboard) for a "
        "better user experience. Not detailed enough to fingerprint or track users.",
    ),
    ReviewedElement(
        "clientIP", True, True, True,
        "The sender's IP address.",
        "LF review 2022-03-07: IP addresses may be subject to data privacy protections in some "
        "jurisdictions and may reveal personal or business information. Never collected.",
    ),
    ReviewedElement(
        "region", None, None, None,
        "The region of the installation, derived from the IP address.",
        "LF review 2022-03-09/14: deriving a region needs the sender's IP address, possibly sent "
        "to a third-party IP-to-region service. Removed from the table; a region may only ever "
        "be asked of users directly, through a separately approved questionnaire.",
    ),
]  # fmt: skip


def seed_policy_v1(PolicyVersion, PolicyElement) -> None:  # noqa: N803 - model classes, historical or real
    if PolicyVersion.objects.filter(number=1).exists():
        return
    version = PolicyVersion.objects.create(
        number=1,
        status="published",
        approved_on=datetime.date(2022, 3, 14),
        approval_reference=REVIEW,
        summary="The data elements approved by the Linux Foundation review.",
        published_at=datetime.datetime(2022, 3, 14, tzinfo=datetime.UTC),
    )
    for position, element in enumerate(ELEMENTS, start=1):
        PolicyElement.objects.create(
            policy_version=version,
            key=element.key,
            decision=element.decision,
            personal_info=element.personal_info,
            tracking_identifier=element.tracking_identifier,
            sensitive_data=element.sensitive_data,
            note=element.note,
            rejection_reason=element.rejection_reason,
            position=position,
        )


def seed(apps, schema_editor):
    seed_policy_v1(apps.get_model("ingest", "PolicyVersion"), apps.get_model("ingest", "PolicyElement"))


def unseed(apps, schema_editor):
    apps.get_model("ingest", "PolicyVersion").objects.filter(number=1).delete()


class Migration(migrations.Migration):
    dependencies = [("ingest", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
