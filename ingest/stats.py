"""Selectors of the public statistics: range figures and daily series of released days,
and which rendered ranges the page may keep (stats_html_cache_key).

Only released figures are read (ingest.services.releases: drawn once per day, with
noise). Range figures are sums of them, so they cost no privacy budget. The query
count is fixed: it does not grow with the number of reports or days.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Count, F, Max, Sum
from django.utils import translation
from django.utils.translation import gettext

from ingest.dimensions import DIMENSIONS, MULTI, Dimension, natural_order
from ingest.models import PublicFigure, StatsRelease
from ingest.privacy import NOISE_SCALE, Z_95, dimension_privacy, display_floor

MAX_RANGE_DAYS = 3 * 366
DEFAULT_TOP = 25
PRESETS = {"30": 30, "90": 90, "365": 365}
STATS_HTML_SECONDS = 15 * 60


SHARE_REFERENCES = ("cluster_count", "app_count", "browser", "screen_width")
"""The partitions whose released figures estimate how many installations report, the
denominator of every share: each report is in exactly one group of each (perhaps
'(unknown)'), and all their labels are public, so no group is ever held back and each
total is the true number of reports plus noise."""


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
        raise StatsRangeError(gettext("Dates must be written YYYY-MM-DD.")) from exc
    except OverflowError as exc:  # 'to' within 29 days of 0001-01-01 and no 'from'
        raise StatsRangeError(
            gettext(
                "Without 'from' the range starts 29 days before 'to', which is before the "
                "year 1: give 'from' as well."
            )
        ) from exc
    if start > end:
        raise StatsRangeError(gettext("The start date must not be after the end date."))
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise StatsRangeError(
            gettext("A range may span at most %(days)s days.") % {"days": MAX_RANGE_DAYS}
        )
    return DateRange(start, end)


def _figures(dimension: str, period: DateRange):
    return PublicFigure.objects.filter(dimension=dimension, day__range=(period.first, period.last))


def stats_released_days(*, period: DateRange) -> int:
    return StatsRelease.objects.filter(day__range=(period.first, period.last)).count()


def _sort_key(dimension: Dimension):
    def key(group: dict) -> tuple:
        if dimension.ordered:
            return (natural_order(group["label"]),)
        return (-group["installation_days"], group["label"])

    return key


def stats_groups(*, dimension: str, period: DateRange, top: int = DEFAULT_TOP) -> dict:
    """One dimension's public figures over a range, as every chart, table, CSV and API shows.

    A range figure is the sum of the released daily figures (post-processing: no new
    noise, no new budget). A label is listed when its average reaches the display floor.
    """
    spec = DIMENSIONS[dimension]
    days = stats_released_days(period=period)
    floor = display_floor(days, settings.STATS_MIN_INSTALLATIONS)
    sums = _figures(dimension, period).values("label").annotate(total=Sum("value"))
    groups = [
        {
            "label": row["label"],
            "installation_days": row["total"],
            "average_daily_installations": round(row["total"] / days, 1),
        }
        for row in sums
        if days and row["total"] / days >= floor
    ]
    groups.sort(key=_sort_key(spec))
    if spec.kind == MULTI:
        groups = groups[:top]
    result = {
        "dimension": dimension,
        "title": str(spec.title),  # in the active language: the API's is English
        "description": str(spec.description),
        "kind": spec.kind,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "days_released": days,
        "min_installations": settings.STATS_MIN_INSTALLATIONS,
        "display_floor": round(floor, 1),
        "noise": {
            "daily_standard_deviation": NOISE_SCALE,
            "average_standard_deviation": round(NOISE_SCALE / math.sqrt(max(days, 1)), 2),
        },
        "privacy": dimension_privacy(dimension).as_json(),
        "groups": groups,
    }
    if spec.kind != MULTI:
        result["total_installation_days"] = sum(g["installation_days"] for g in groups)
    return result


def stats_series(
    *, dimension: str, period: DateRange, labels: set[str] | None = None
) -> list[dict]:
    """Per-day released figures of one dimension, of ``labels`` only when given."""
    figures = _figures(dimension, period)
    if labels is not None:
        figures = figures.filter(label__in=sorted(labels))
    rows = figures.values("day", "label", "value").order_by("day", "label")
    return [
        {"day": row["day"].isoformat(), "label": row["label"], "installations": row["value"]}
        for row in rows
    ]


def stats_shown_series(
    *, dimension: str, period: DateRange, figures: dict | None = None
) -> list[dict]:
    """The per-day figures of the groups a range lists, as the page, CSV and API give them.

    ``figures``: the range's ``stats_groups``, when the caller has them already.
    """
    figures = figures or stats_groups(dimension=dimension, period=period)
    shown = {group["label"] for group in figures["groups"]}
    return stats_series(dimension=dimension, period=period, labels=shown)


def stats_release_state() -> tuple[str, int]:
    """When a day was last released, and how many days are: the figures of every range
    change only when one of the two does (a first release, or a re-release)."""
    state = StatsRelease.objects.aggregate(latest=Max("released_at"), days=Count("day"))
    return (state["latest"].isoformat() if state["latest"] else "none", state["days"])


def stats_html_cache_key(*, period: DateRange, today: date) -> str | None:
    """The cache key of a range's rendered charts and tables, or None: not cached.

    Rendering thousands of table cells is most of the page's cost; the result only
    changes when a day is released, so it is cached under the release state. The key is
    built from the parsed range alone, never the query string, and only the preset ranges
    (last 30, 90, 365 days) are cached: invented parameters or custom ranges, which anyone
    can vary without end, render uncached and store nothing, so the cache holds three
    pages per release state and language (each for STATS_HTML_SECONDS): the rendered
    figures are in the page's language, so one language's are never served for another.
    """
    if period.last != today or period.days not in PRESETS.values():
        return None
    latest, days = stats_release_state()
    language = translation.get_language() or settings.LANGUAGE_CODE
    parts = (period.first, period.last, settings.STATS_MIN_INSTALLATIONS, latest, days, language)
    return "stats-html:" + ":".join(str(part) for part in parts)


@dataclass(frozen=True)
class ReleasedTotal:
    """A sum of released figures, and how many figures (each with noise of its own, of
    variance NOISE_SCALE²) went into it: the sum's variance is figures · NOISE_SCALE²."""

    installation_days: float
    figures: float


def stats_released_totals(*, period: DateRange) -> dict[str, ReleasedTotal]:
    """Every dimension's released total over a range, in one query.

    Released figures only (post-processing): a share computed from these costs no
    privacy budget and reads no report.
    """
    rows = (
        _released(period)
        .values("dimension")
        .annotate(total=Sum("value"), figures=Count("id"))
        .order_by()
    )
    return {row["dimension"]: ReleasedTotal(row["total"], row["figures"]) for row in rows}


def stats_daily_reporting(*, period: DateRange) -> dict[str, ReleasedTotal]:
    """Each released day's estimate of its reporting installations (reporting_estimate),
    in one query."""
    rows = (
        _released(period)
        .filter(dimension__in=SHARE_REFERENCES)
        .values("day", "dimension")
        .annotate(total=Sum("value"), figures=Count("id"))
        .order_by()
    )
    by_day: dict[str, dict[str, ReleasedTotal]] = {}
    for row in rows:
        by_day.setdefault(row["day"].isoformat(), {})[row["dimension"]] = ReleasedTotal(
            row["total"], row["figures"]
        )
    estimates = {day: reporting_estimate(totals) for day, totals in by_day.items()}
    return {day: estimate for day, estimate in estimates.items() if estimate}


def _released(period: DateRange):
    return PublicFigure.objects.filter(day__range=(period.first, period.last))


def reporting_estimate(totals: dict[str, ReleasedTotal]) -> ReleasedTotal | None:
    """How many installation-days were reported, from the reference partitions'
    released totals: their inverse-variance weighted mean (each is the same truth plus
    independent noise), with the variance of that mean as ``figures``."""
    parts = [totals[key] for key in SHARE_REFERENCES if key in totals and totals[key].figures]
    if not parts:
        return None
    weight = sum(1 / part.figures for part in parts)
    mean = sum(part.installation_days / part.figures for part in parts) / weight
    return ReleasedTotal(mean, 1 / weight)


def stats_noise_scale(*, period: DateRange) -> float:
    """The noise deviation of the range's released days, as each was released with
    (``StatsRelease.noise_scale``; their root mean square, should it ever change), or
    today's ``NOISE_SCALE`` when no day is released."""
    released = StatsRelease.objects.filter(day__range=(period.first, period.last)).aggregate(
        days=Count("day"), squares=Sum(F("noise_scale") * F("noise_scale"))
    )
    if not released["days"]:
        return NOISE_SCALE
    return math.sqrt(released["squares"] / released["days"])


def noise_margins(
    *, days: int, noise_scale: float, denominator: ReleasedTotal | None = None
) -> dict:
    """Half-widths of the 95% intervals of a range's figures, from the noise the release
    drew: deviation ``noise_scale`` (stats_noise_scale) on every daily figure,
    independent draws.

    - an average over ``days`` released days: Z_95 · σ / √days;
    - an installation-day sum: Z_95 · σ · √days;
    - a share, in percentage points: the average's deviation combined with that of the
      denominator (σ · √figures / days), over the denominator's average. Taken at a share
      of 100%, the worst case, so one margin holds for every group of the table.

    Z_95 · σ is 1.96 deviations: 95 of 100 figures are within it of the truth.
    """
    days = max(days, 1)
    average_sd = noise_scale / math.sqrt(days)
    margins: dict = {
        "daily": Z_95 * noise_scale,
        "average": Z_95 * average_sd,
        "installation_days": Z_95 * noise_scale * math.sqrt(days),
        "share_points": None,
    }
    if denominator and denominator.installation_days > 0:
        reporting = denominator.installation_days / days
        denominator_sd = noise_scale * math.sqrt(denominator.figures) / days
        combined = math.hypot(average_sd, denominator_sd)
        margins["share_points"] = 100 * Z_95 * combined / reporting
    return margins


def share_percent(part: float, whole: float | None) -> float | None:
    """A released figure's share of a released total, in percent; None without a
    positive total (no day released, or noise took the total to zero)."""
    if whole is None or whole <= 0:
        return None
    return 100 * part / whole
