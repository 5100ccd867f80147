from datetime import date

from ingest.models import Report
from ingest.selectors import policy_get_enforced


def report_row(platform_id: str, day: date, **overrides) -> Report:
    """An unsaved report as the receiver would store it; override any column.

    Its policy version is the one the receiver enforces, read through the receiver's own
    per-process cache (cleared before each test), so that building thousands of rows does
    not query the policy for each."""
    fields = dict(
        platform_id=platform_id,
        report_date=day,
        policy_version_id=policy_get_enforced().version_id,
        release="v1.9.4",
        git_commit="git-abc",
        install_date=date(2025, 1, 1),
        cluster_count_bucket="<10",
        app_count_bucket="<50",
        addons={"fluxcd": "enabled"},
        component_definitions=["webservice"],
        trait_definitions=[],
        workflow_step_definitions=[],
        policy_definitions=[],
        browser_family="chrome",
        browser_major_version=120,
        screen_width=1920,
    )
    fields.update(overrides)
    return Report(**fields)
