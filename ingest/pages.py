"""The transparency and statistics pages: what is collected (rendered from the policy
the receiver enforces), every published policy version, and the public figures with
their CSVs. Every figure shown is a released, differentially private one.
"""

import csv
import math
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy

from ingest.charts import bar_chart, line_chart
from ingest.dictionary import CLIENT_QUIRKS, dictionary_entries, row_fields
from ingest.dimensions import DIMENSIONS
from ingest.models import PolicyElement
from ingest.privacy import Z_95, budget
from ingest.selectors import policy_document, policy_get_published, policy_history
from ingest.stats import (
    DEFAULT_TOP,
    MAX_RANGE_DAYS,
    PRESETS,
    STATS_HTML_SECONDS,
    DateRange,
    ReleasedTotal,
    StatsRangeError,
    noise_margins,
    reporting_estimate,
    share_percent,
    stats_daily_reporting,
    stats_groups,
    stats_html_cache_key,
    stats_noise_scale,
    stats_range_parse,
    stats_released_days,
    stats_released_totals,
    stats_shown_series,
)
from portal.csv_safety import neutralise_cell

ADOPTION = "release_minor"
PRESET_CHOICES = [
    ("30", gettext_lazy("Last 30 days")),
    ("90", gettext_lazy("Last 90 days")),
    ("365", gettext_lazy("Last 365 days")),
]
BAR_UNIT = gettext_lazy("Installations reporting per day (average) · share")
LINE_UNIT = gettext_lazy("Installations reporting per day")
NO_SHARE = "\u2013"  # an en dash: no share (no released total to take it of)


def home(request: HttpRequest) -> HttpResponse:
    """The transparency page, rendered from the published policy the receiver enforces."""
    policy = policy_get_published()
    document = policy_document(policy) if policy else {}
    context = {
        "policy": policy,
        "approved": document.get("elements", []),
        "rejected": document.get("rejected_elements", []),
        "endpoints": document.get("endpoints", []),
        "endpoint_host": settings.TELEMETRY_ENDPOINT_HOST,
        "hosts": document.get("hosts", [settings.TELEMETRY_ENDPOINT_HOST]),
        "retention_days": settings.REPORT_RETENTION_DAYS,
        "privacy": budget(),
    }
    return render(request, "ingest/home.html", context)


def data_dictionary(request: HttpRequest) -> HttpResponse:
    """Every element's stored fields, value sets and client quirks, generated from the
    catalogue and the parser's tables, with its standing in the published policy."""
    policy = policy_get_published()
    rejected = policy.elements.filter(decision=PolicyElement.Decision.REJECTED) if policy else []
    context = {
        "policy": policy,
        "entries": dictionary_entries(policy),
        "row_fields": row_fields(),
        "client_quirks": CLIENT_QUIRKS,
        "rejected": rejected,
    }
    return render(request, "ingest/dictionary.html", context)


def policy_versions(request: HttpRequest) -> HttpResponse:
    return render(request, "ingest/policy_history.html", {"versions": policy_history()})


def _period(request: HttpRequest) -> DateRange:
    """The range a visitor asked for: From and To when either is given, whatever the
    preset says (the dates are what the visitor typed; the preset is a shortcut), else
    the preset (last 30, 90 or 365 days; 30 when none is given)."""
    first = request.GET.get("from", "").strip()
    last = request.GET.get("to", "").strip()
    preset = request.GET.get("range", "30")
    if not (first or last) and preset not in PRESETS and preset != "custom":
        raise StatsRangeError(
            gettext("Choose the last 30, 90 or 365 days, or give a From or To date (YYYY-MM-DD).")
        )
    return stats_range_parse(
        first=first or None, last=last or None, preset=preset, today=timezone.now().date()
    )


def _selected_preset(period: DateRange) -> str | None:
    """The preset the shown range is, if it is one (for aria-current on its link)."""
    today = timezone.now().date()
    for value, days in PRESETS.items():
        if period.last == today and period.days == days:
            return value
    return None


def statistics(request: HttpRequest) -> HttpResponse:
    common = {"presets": PRESET_CHOICES, "max_range_days": MAX_RANGE_DAYS}
    try:
        period = _period(request)
    except StatsRangeError as exc:
        entered = {"from": request.GET.get("from", ""), "to": request.GET.get("to", "")}
        context = {**common, "error": str(exc), "entered": entered}
        return render(request, "ingest/stats.html", context, status=400)
    days_released = stats_released_days(period=period)
    margins = noise_margins(days=days_released, noise_scale=stats_noise_scale(period=period))
    context = {
        **common,
        "period": period,
        "selected_preset": _selected_preset(period),
        "days_released": days_released,
        "margins": _margins_shown(margins),
        "min_installations": settings.STATS_MIN_INSTALLATIONS,
        "privacy": budget(),
        "release_delay_hours": settings.STATS_RELEASE_DELAY_HOURS,
        "figures_html": _figures_html(period),
    }
    return render(request, "ingest/stats.html", context)


def _figures_html(period: DateRange) -> str:
    """The charts and tables of a range: from the cache when the range is one that is
    cached (ingest.stats.stats_html_cache_key says which, and under what key)."""
    key = stats_html_cache_key(period=period, today=timezone.now().date())
    html = cache.get(key) if key else None
    if html is None:
        html = _figures_render(period)
        if key:
            cache.set(key, html, STATS_HTML_SECONDS)
    return mark_safe(html)  # noqa: S308 - our own autoescaped template  # nosec B308 B703


def _figures_render(period: DateRange) -> str:
    reporting = reporting_estimate(stats_released_totals(period=period))
    noise_scale = stats_noise_scale(period=period)
    sections: list[dict[str, Any]] = []
    for dimension in DIMENSIONS:
        figures = stats_groups(dimension=dimension, period=period)
        margins = noise_margins(
            days=figures["days_released"], noise_scale=noise_scale, denominator=reporting
        )
        sections.append(_section(figures, reporting, margins))
    adoption = next(s["figures"] for s in sections if s["figures"]["dimension"] == ADOPTION)
    series = stats_shown_series(dimension=ADOPTION, period=period, figures=adoption)
    day_totals = stats_daily_reporting(period=period)
    return render_to_string(
        "ingest/stats_figures.html",
        {
            "period": period,
            "query": urlencode({"range": "custom", "from": period.first, "to": period.last}),
            "top": DEFAULT_TOP,
            "sections": sections,
            "daily_margin": _margin(Z_95 * noise_scale),
            **_adoption(series, day_totals, period, _margin(Z_95 * noise_scale)),
        },
    )


def _section(figures: dict, denominator: ReleasedTotal | None, margins: dict) -> dict[str, Any]:
    """One dimension's table rows and bars, with shares of the released denominator and
    numbers rounded to what their noise allows."""
    shown = _margins_shown(margins)
    rows = []
    for group in figures["groups"]:
        share = share_percent(
            group["installation_days"], denominator.installation_days if denominator else None
        )
        row = {
            **group,
            "value": group["average_daily_installations"],
            "average": _rounded(group["average_daily_installations"], margins["average"]),
            "share": _percent(share, margins["share_points"]),
        }
        row["text"] = f"{row['average']} · {row['share']}" if share is not None else row["average"]
        row["title"] = _bar_title(row, shown)
        rows.append(row)
    return {
        "figures": figures,
        "rows": rows,
        "margins": shown,
        "chart": bar_chart(rows, unit=str(BAR_UNIT)),
    }


def _bar_title(row: dict, margins: dict[str, str]) -> str:
    values = {
        "label": row["label"],
        "average": row["average"],
        "margin": margins["average"],
        "share": row["share"],
        "points": margins.get("share_points", ""),
    }
    if row["share"] != NO_SHARE:
        return (
            gettext(
                "%(label)s: %(average)s installations reporting a day on average "
                "(±%(margin)s), %(share)s of reporting installations (±%(points)s points)"
            )
            % values
        )
    return (
        gettext("%(label)s: %(average)s installations reporting a day on average (±%(margin)s)")
        % values
    )


def _adoption(
    series: list[dict], day_totals: dict[str, ReleasedTotal], period: DateRange, margin: str
) -> dict:
    """The adoption chart, a wide and a narrow drawing of it, and its daily table."""
    days: dict[str, dict[str, str]] = {}
    for row in series:
        reporting = day_totals.get(row["day"])
        share = share_percent(
            row["installations"], reporting.installation_days if reporting else None
        )
        days.setdefault(row["day"], {})[row["label"]] = (
            f"{row['installations']} ({_percent(share, None)})"
            if share is not None
            else str(row["installations"])
        )
    titles = {
        day: gettext(
            "%(day)s: %(values)s installations reporting (each ±%(margin)s; in brackets, of "
            "all reporting)"
        )
        % {
            "day": day,
            "values": "; ".join(f"{label} {text}" for label, text in values.items()),
            "margin": margin,
        }
        for day, values in days.items()
    }
    labels = sorted({row["label"] for row in series})
    first, last = period.first, period.last
    return {
        "adoption": line_chart(series, first, last, unit=str(LINE_UNIT), day_titles=titles),
        # for phones: drawn 340 wide, so its 12 px text is not scaled down
        "adoption_narrow": line_chart(
            series, first, last, unit=str(LINE_UNIT), width=340, height=280, x_tick_count=3
        ),
        "adoption_table": {
            "labels": labels,
            "rows": [
                (day, [values.get(label, "") for label in labels]) for day, values in days.items()
            ],
        },
    }


def _margins_shown(margins: dict) -> dict[str, str]:
    return {key: _margin(value) for key, value in margins.items() if value is not None}


def _margin(value: float) -> str:
    """A 95% half-width, rounded up: never narrower than the noise allows."""
    if value >= 1:
        return str(math.ceil(value))
    return f"{math.ceil(value * 10) / 10:.1f}"


def _rounded(value: float, margin: float) -> str:
    """A noisy figure with no digit finer than its noise: whole numbers unless the 95%
    half-width is under one."""
    return f"{value:.0f}" if margin >= 1 else f"{value:.1f}"


def _percent(share: float | None, margin_points: float | None) -> str:
    if share is None:
        return NO_SHARE
    if 0 < share < 1 and (margin_points is None or margin_points >= 1):
        return "<1%"
    return f"{_rounded(share, margin_points if margin_points is not None else 1)}%"


def statistics_csv(request: HttpRequest, dimension: str) -> HttpResponse:
    if dimension not in DIMENSIONS and dimension != f"{ADOPTION}-daily":
        raise Http404("No such statistic.")
    try:
        period = _period(request)
    except StatsRangeError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"kubevela-{dimension}-{period.first}-{period.last}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    if dimension == f"{ADOPTION}-daily":
        writer.writerow(["day", "release_line", "installations"])
        for row in stats_shown_series(dimension=ADOPTION, period=period):
            writer.writerow([row["day"], neutralise_cell(row["label"]), row["installations"]])
        return response
    writer.writerow([dimension, "average_daily_installations", "installation_days"])
    for group in stats_groups(dimension=dimension, period=period)["groups"]:
        writer.writerow(
            [
                neutralise_cell(group["label"]),
                group["average_daily_installations"],
                group["installation_days"],
            ]
        )
    return response
