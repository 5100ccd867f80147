"""Selectors of the public statistics: range figures and daily series from rollups.

Only rollup rows with a public label are read, only from days rolled up under
the current minimum group size, and a range figure is the sum of per-day public
cells (see ingest.dimensions for why that keeps small groups hidden). The query
count is fixed: it does not grow with the number of reports or days.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Sum

from ingest.dimensions import DIMENSIONS, FOLDED, MULTI, Dimension, natural_order
from ingest.models import DailyRollup, RollupDay

MAX_RANGE_DAYS = 3 * 366
DEFAULT_TOP = 25
PRESETS = {"30": 30, "90": 90, "365": 365}


class StatsRangeError(ValueError):
    """A date range the statistics cannot answer, with a message for the visitor."""


@dataclass(frozen=True)
class DateRange:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def stats_range_parse(
    *, first: str | None, last: str | None, preset: str | None = None, today: date
) -> DateRange:
    if preset in PRESETS and not (first or last):
        return DateRange(today - timedelta(days=PRESETS[preset] - 1), today)
    try:
        end = date.fromisoformat(last) if last else today
        start = date.fromisoformat(first) if first else end - timedelta(days=29)
    except ValueError as exc:
        raise StatsRangeError("Dates must be written YYYY-MM-DD.") from exc
    if start > end:
        raise StatsRangeError("The start date must not be after the end date.")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise StatsRangeError(f"A range may span at most {MAX_RANGE_DAYS} days.")
    return DateRange(start, end)


def _public_rows(dimension: str, period: DateRange):
    # EXISTS rather than IN (subquery): it keeps a good plan even before the rollup
    # tables have planner statistics (right after a backfill).
    rolled_under_current_minimum = RollupDay.objects.filter(
        day=OuterRef("day"), min_installations=settings.STATS_MIN_INSTALLATIONS
    )
    return DailyRollup.objects.filter(
        Exists(rolled_under_current_minimum),
        dimension=dimension,
        day__range=(period.first, period.last),
        public_label__isnull=False,
    )


def stats_rolled_days(*, period: DateRange) -> int:
    return RollupDay.objects.filter(
        day__range=(period.first, period.last),
        min_installations=settings.STATS_MIN_INSTALLATIONS,
    ).count()


def _sort_key(dimension: Dimension):
    def key(group: dict) -> tuple:
        folded = group["label"] == FOLDED or group["label"].endswith(f" {FOLDED}")
        if dimension.ordered:
            return (folded, natural_order(group["label"]))
        return (folded, -group["installation_days"], group["label"])

    return key


def stats_groups(*, dimension: str, period: DateRange, top: int = DEFAULT_TOP) -> dict:
    """One dimension's public figures over a range, as every chart, table, CSV and API shows."""
    spec = DIMENSIONS[dimension]
    days = stats_rolled_days(period=period)
    sums = (
        _public_rows(dimension, period)
        .values("public_label")
        .annotate(installation_days=Sum("installations"))
    )
    groups = [
        {
            "label": row["public_label"],
            "installation_days": row["installation_days"],
            "average_daily_installations": round(row["installation_days"] / days, 1),
        }
        for row in sums
    ]
    groups.sort(key=_sort_key(spec))
    if spec.kind == MULTI:
        groups = groups[:top]
    result = {
        "dimension": dimension,
        "title": spec.title,
        "description": spec.description,
        "kind": spec.kind,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "days_rolled_up": days,
        "min_installations": settings.STATS_MIN_INSTALLATIONS,
        "groups": groups,
    }
    if spec.kind != MULTI:
        result["total_installation_days"] = sum(g["installation_days"] for g in groups)
    return result


def stats_series(*, dimension: str, period: DateRange) -> list[dict]:
    """Per-day public figures of one dimension (for adoption over time)."""
    rows = (
        _public_rows(dimension, period)
        .values("day", "public_label")
        .annotate(installations=Sum("installations"))
        .order_by("day", "public_label")
    )
    return [
        {
            "day": row["day"].isoformat(),
            "label": row["public_label"],
            "installations": row["installations"],
        }
        for row in rows
    ]
