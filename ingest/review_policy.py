"""Version 1 of the policy: the table of the Linux Foundation review approved 2022-03-14.

Used by the data migration that seeds the database and by the test suite, which
must restore it after tests that flush the database.
"""

import datetime

REVIEW = "Linux Foundation review of KubeVela's telemetry, approved 2022-03-14"

# key, personal info?, tracking or unique identifier?, sensitive/business data?, note
APPROVED = [
    (
        "version",
        False,
        False,
        False,
        "Version of KubeVela the user is running, e.g. vela-core v1.2.4.",
    ),
    (
        "platformID",
        False,
        True,
        False,
        "A unique ID that represents an individual installation; it does not tell who the user is.",
    ),
    ("installTime", False, False, False, "Date the user installed vela-core for the first time."),
    (
        "clusterCount",
        False,
        False,
        False,
        "Index of how many clusters this installation has, only as a bucket (<10, <50, <100, "
        "<500, <2000, <5000, <10000), to help develop the multi-cluster feature.",
    ),
    (
        "appCount",
        False,
        False,
        False,
        "Index of how many KubeVela applications this installation has, only as a bucket "
        "(<10, <50, <100, <500, <2000, <5000, <10000), to improve performance at each scale.",
    ),
    (
        "enableAddonList",
        False,
        False,
        False,
        "The addons (KubeVela plugins) this installation enabled, so the community knows which "
        "addons are used most and deserve maintenance first.",
    ),
    (
        "xDefinitionTopList",
        False,
        False,
        False,
        "The definitions (KubeVela's major features) this installation uses most, so the "
        "community knows which features deserve maintenance first.",
    ),
    (
        "requestTime",
        False,
        False,
        False,
        "The date the report was uploaded. Sent at most once a day.",
    ),
    (
        "browserInfo",
        False,
        False,
        False,
        "Browser type, version and screen width, to adapt VelaUX (the UI dashboard) for a "
        "better user experience. Not detailed enough to fingerprint or track users.",
    ),
]

REJECTED = [
    (
        "clientIP",
        True,
        True,
        True,
        "The sender's IP address.",
        "LF review 2022-03-07: IP addresses may be subject to data privacy protections in some "
        "jurisdictions and may reveal personal or business information. Never collected.",
    ),
    (
        "region",
        None,
        None,
        None,
        "The region of the installation, derived from the IP address.",
        "LF review 2022-03-09/14: deriving a region needs the sender's IP address, possibly sent "
        "to a third-party IP-to-region service. Removed from the table; a region may only ever "
        "be asked of users directly, through a separately approved questionnaire.",
    ),
]


def seed_policy_v1(PolicyVersion, PolicyElement) -> None:
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
    position = 0
    for key, personal, tracking, sensitive, note in APPROVED:
        position += 1
        PolicyElement.objects.create(
            policy_version=version,
            key=key,
            decision="approved",
            personal_info=personal,
            tracking_identifier=tracking,
            sensitive_data=sensitive,
            note=note,
            position=position,
        )
    for key, personal, tracking, sensitive, note, reason in REJECTED:
        position += 1
        PolicyElement.objects.create(
            policy_version=version,
            key=key,
            decision="rejected",
            personal_info=personal,
            tracking_identifier=tracking,
            sensitive_data=sensitive,
            note=note,
            rejection_reason=reason,
            position=position,
        )
