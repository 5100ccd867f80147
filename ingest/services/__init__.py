"""Every write of the ingest app, by topic."""

from ingest.services.policy import (
    policy_elements_missing_refusal,
    policy_elements_unstorable_refusal,
    policy_version_draft,
    policy_version_publish,
    policy_version_validate,
)
from ingest.services.releases import (
    DayNotClosed,
    stats_last_releasable_day,
    stats_release_day,
    stats_release_due,
    stats_releases_delete_before,
)
from ingest.services.reports import (
    DailyLimitReached,
    IngestOutcome,
    installation_digest,
    installation_erase,
    report_ingest,
    reports_purge_expired,
)
from ingest.services.rollups import (
    rollup_day,
    rollup_range,
    rollup_stale_days,
    rollups_delete_before,
    rollups_mark_stale,
    rollups_refresh_statistics,
)

__all__ = [
    "DailyLimitReached",
    "DayNotClosed",
    "IngestOutcome",
    "installation_digest",
    "installation_erase",
    "policy_elements_missing_refusal",
    "policy_elements_unstorable_refusal",
    "policy_version_draft",
    "policy_version_publish",
    "policy_version_validate",
    "report_ingest",
    "reports_purge_expired",
    "rollup_day",
    "rollup_range",
    "rollup_stale_days",
    "rollups_delete_before",
    "rollups_mark_stale",
    "rollups_refresh_statistics",
    "stats_last_releasable_day",
    "stats_release_day",
    "stats_release_due",
    "stats_releases_delete_before",
]
