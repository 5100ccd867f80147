"""Daily rollups: exact counts per group, for maintainers, auditors and grantees.

Each UTC day is aggregated into DailyRollup rows with SQL on the database (one
GROUP BY per dimension). Rolling up a day replaces it entirely, so re-running gives
the same result. Public statistics never read these rows: they are released once
per day, with noise, by ingest.services.releases.
"""

from collections import defaultdict
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from ingest.catalogue import DEFINITION_COLUMNS
from ingest.dimensions import (
    DIMENSIONS,
    UNKNOWN,
    cluster_bucket_sql,
    release_line,
    release_sql,
    screen_band_sql,
)
from ingest.models import DailyRollup, PublicFigure, Report, RollupDay, StatsRelease

SCALAR_EXPRESSIONS = {
    "release": release_sql(),
    "cluster_count": cluster_bucket_sql(),
    "app_count": "app_count_bucket",
    "browser": "browser_family",
    "screen_width": screen_band_sql(),
}


def _table() -> str:
    return Report._meta.db_table


def _scalar_counts(cursor, day: date, expression: str) -> dict[str, int]:
    cursor.execute(
        f"SELECT {expression}, COUNT(*) FROM {_table()} WHERE report_date = %s GROUP BY 1",  # noqa: S608 - identifiers from the model and code  # nosec B608
        [day],
    )
    return {value if value is not None else UNKNOWN: count for value, count in cursor.fetchall()}


def _addon_counts(cursor, day: date) -> dict[str, int]:
    if connection.vendor == "postgresql":
        each = "jsonb_each_text(r.addons) AS e(key, value)"
    else:
        each = "json_each(r.addons) AS e"
    cursor.execute(
        f"SELECT e.key, COUNT(*) FROM {_table()} AS r CROSS JOIN {each} "  # noqa: S608 - identifiers from the model and code  # nosec B608
        "WHERE r.report_date = %s AND e.value = 'enabled' GROUP BY 1",
        [day],
    )
    return dict(cursor.fetchall())


def _definition_counts(cursor, day: date, column: str) -> dict[str, int]:
    if connection.vendor == "postgresql":
        each = f"jsonb_array_elements_text(r.{column}) AS e(value)"
    else:
        each = f"json_each(r.{column}) AS e"
    cursor.execute(
        f"SELECT e.value, COUNT(DISTINCT r.id) FROM {_table()} AS r CROSS JOIN {each} "  # noqa: S608 - identifiers from the model and code  # nosec B608
        "WHERE r.report_date = %s GROUP BY 1",
        [day],
    )
    return dict(cursor.fetchall())


def count_partitions(day: date) -> dict[str, dict[str, int]]:
    """The single-valued dimensions of one day: each report counts in exactly one group."""
    with connection.cursor() as cursor:
        counts = {
            key: _scalar_counts(cursor, day, expression)
            for key, expression in SCALAR_EXPRESSIONS.items()
        }
    lines: dict[str, int] = defaultdict(int)
    for release, count in counts["release"].items():
        lines[release_line(release)] += count
    counts["release_minor"] = dict(lines)
    return counts


def count_day(day: date) -> dict[str, dict[str, int]]:
    counts = count_partitions(day)
    with connection.cursor() as cursor:
        counts["addon"] = _addon_counts(cursor, day)
        for key, column in DEFINITION_COLUMNS.items():
            counts[key] = _definition_counts(cursor, day, column)
    return counts


def rollup_day(*, day: date) -> RollupDay:
    """Aggregate one UTC day into rollup rows, replacing any earlier rollup of it."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The planner guesses 100 elements per JSON array (there are ~3), which
            # pushes big days over the JIT thresholds: compiling costs more than it saves.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        counts = count_day(day)
        DailyRollup.objects.filter(day=day).delete()
        DailyRollup.objects.bulk_create(
            DailyRollup(
                day=day,
                dimension=key,
                value=value,
                installations=count,
            )
            for key in DIMENSIONS
            for value, count in counts[key].items()
        )
        rolled, _ = RollupDay.objects.update_or_create(
            day=day,
            defaults={
                "reports": sum(counts["release"].values()),
                "computed_at": timezone.now(),
                "stale": False,
            },
        )
    return rolled


def rollup_range(*, first: date, last: date) -> list[RollupDay]:
    days = (first + timedelta(days=offset) for offset in range((last - first).days + 1))
    rolled = [rollup_day(day=day) for day in days]
    if len(rolled) > 1:
        rollups_refresh_statistics()
    return rolled


def rollups_mark_stale(*, days: list[date]) -> int:
    """Mark rolled-up days whose reports changed; the hourly task rolls them up again.

    One flag per day however many erasures touch it, and nothing is queued: the work an
    anonymous erasure causes is bounded by the number of days, not of requests.
    """
    return RollupDay.objects.filter(day__in=days, stale=False).update(stale=True)


def rollup_stale_days() -> list[RollupDay]:
    """Roll up again the stale days, oldest first: at most once per day per call."""
    days = RollupDay.objects.filter(stale=True).order_by("day").values_list("day", flat=True)
    return [rollup_day(day=day) for day in list(days)]


def rollups_refresh_statistics() -> None:
    """Give the planner fresh statistics after a backfill (autovacuum may lag or be off).

    The exact rollups and the released figures alike: the public pages read the latter.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            tables = (DailyRollup, RollupDay, PublicFigure, StatsRelease)
            cursor.execute(f"ANALYZE {', '.join(t._meta.db_table for t in tables)}")


def rollups_delete_before(*, cutoff: date) -> int:
    deleted, _ = DailyRollup.objects.filter(day__lt=cutoff).delete()
    RollupDay.objects.filter(day__lt=cutoff).delete()
    return deleted
