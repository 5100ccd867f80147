"""Daily rollups: the only source of public statistics.

Each UTC day is aggregated into DailyRollup rows with SQL on the database (one
GROUP BY per dimension), and each row gets its public label (shown, folded or
suppressed) at the same time. Rolling up a day replaces it entirely, so
re-running gives the same result.
"""

from collections import defaultdict
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ingest.dimensions import (
    DIMENSIONS,
    MULTI,
    UNKNOWN,
    fold_children,
    fold_multi,
    fold_partition,
    release_line,
    screen_band_sql,
)
from ingest.models import DailyRollup, Report, RollupDay

SCALAR_EXPRESSIONS = {
    "release": "release",
    "cluster_count": "cluster_count_bucket",
    "app_count": "app_count_bucket",
    "browser": "browser_family",
    "screen_width": screen_band_sql(),
}
DEFINITION_COLUMNS = {
    "component_definition": "component_definitions",
    "trait_definition": "trait_definitions",
    "workflow_step_definition": "workflow_step_definitions",
    "policy_definition": "policy_definitions",
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


def _count_day(day: date) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    with connection.cursor() as cursor:
        for key, expression in SCALAR_EXPRESSIONS.items():
            counts[key] = _scalar_counts(cursor, day, expression)
        counts["addon"] = _addon_counts(cursor, day)
        for key, column in DEFINITION_COLUMNS.items():
            counts[key] = _definition_counts(cursor, day, column)
    lines: dict[str, int] = defaultdict(int)
    for release, count in counts["release"].items():
        lines[release_line(release)] += count
    counts["release_minor"] = dict(lines)
    return counts


def _public_labels(counts: dict[str, dict[str, int]], minimum: int) -> dict[str, dict]:
    labels: dict[str, dict] = {}
    labels["release_minor"] = fold_partition(counts["release_minor"], minimum)
    for key, dimension in DIMENSIONS.items():
        if key == "release_minor":
            continue
        if dimension.parent == "release_minor":
            parent_of = {release: release_line(release) for release in counts[key]}
            labels[key] = fold_children(counts[key], parent_of, labels["release_minor"], minimum)
        elif dimension.kind == MULTI:
            labels[key] = fold_multi(counts[key], minimum)
        else:
            labels[key] = fold_partition(counts[key], minimum)
    return labels


def rollup_day(*, day: date) -> RollupDay:
    """Aggregate one UTC day into rollup rows, replacing any earlier rollup of it."""
    minimum = settings.STATS_MIN_INSTALLATIONS
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The planner guesses 100 elements per JSON array (there are ~3), which
            # pushes big days over the JIT thresholds: compiling costs more than it saves.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        counts = _count_day(day)
        labels = _public_labels(counts, minimum)
        DailyRollup.objects.filter(day=day).delete()
        DailyRollup.objects.bulk_create(
            DailyRollup(
                day=day,
                dimension=key,
                value=value[:128],
                installations=count,
                public_label=labels[key][value],
            )
            for key in DIMENSIONS
            for value, count in counts[key].items()
        )
        rolled, _ = RollupDay.objects.update_or_create(
            day=day,
            defaults={
                "reports": sum(counts["release"].values()),
                "min_installations": minimum,
                "computed_at": timezone.now(),
            },
        )
    return rolled


def rollup_range(*, first: date, last: date) -> list[RollupDay]:
    days = (first + timedelta(days=offset) for offset in range((last - first).days + 1))
    rolled = [rollup_day(day=day) for day in days]
    if len(rolled) > 1:
        rollups_refresh_statistics()
    return rolled


def rollups_refresh_statistics() -> None:
    """Give the planner fresh statistics after a backfill (autovacuum may lag or be off)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {DailyRollup._meta.db_table}, {RollupDay._meta.db_table}")


def rollups_delete_before(*, cutoff: date) -> int:
    deleted, _ = DailyRollup.objects.filter(day__lt=cutoff).delete()
    RollupDay.objects.filter(day__lt=cutoff).delete()
    return deleted
