"""The transparency and statistics pages: what is collected (rendered from the policy
the receiver enforces), every published policy version, and the public figures with
their CSVs. Every figure shown is a released, differentially private one.
"""

import csv
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from ingest.charts import bar_chart, line_chart
from ingest.dictionary import CLIENT_QUIRKS, dictionary_entries, row_fields
from ingest.dimensions import DIMENSIONS
from ingest.models import PolicyElement
from ingest.privacy import budget
from ingest.selectors import policy_document, policy_get_published, policy_history
from ingest.stats import (
    DEFAULT_TOP,
    PRESETS,
    STATS_HTML_SECONDS,
    DateRange,
    StatsRangeError,
    stats_groups,
    stats_html_cache_key,
    stats_range_parse,
    stats_released_days,
    stats_shown_series,
)
from portal.csv_safety import neutralise_cell

ADOPTION = "release_minor"
RANGE_CHOICES = [
    ("30", "Last 30 days"),
    ("90", "Last 90 days"),
    ("365", "Last 365 days"),
    ("custom", "Custom range"),
]


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
    """A preset (last 30, 90 or 365 days) or a custom from/to range."""
    preset = request.GET.get("range", "30")
    custom = preset not in PRESETS
    return stats_range_parse(
        first=request.GET.get("from") if custom else None,
        last=request.GET.get("to") if custom else None,
        preset=preset,
        today=timezone.now().date(),
    )


def statistics(request: HttpRequest) -> HttpResponse:
    try:
        period = _period(request)
    except StatsRangeError as exc:
        return render(
            request,
            "ingest/stats.html",
            {"error": str(exc), "range_choices": RANGE_CHOICES},
            status=400,
        )
    context = {
        "period": period,
        "selected_range": request.GET.get("range", "30"),
        "range_choices": RANGE_CHOICES,
        "days_released": stats_released_days(period=period),
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
    sections: list[dict[str, Any]] = []
    for dimension in DIMENSIONS:
        figures = stats_groups(dimension=dimension, period=period)
        chart = bar_chart(figures["groups"], "average_daily_installations")
        sections.append({"figures": figures, "chart": chart})
    adoption = next(s["figures"] for s in sections if s["figures"]["dimension"] == ADOPTION)
    series = stats_shown_series(dimension=ADOPTION, period=period, figures=adoption)
    return render_to_string(
        "ingest/stats_figures.html",
        {
            "period": period,
            "query": urlencode({"range": "custom", "from": period.first, "to": period.last}),
            "top": DEFAULT_TOP,
            "sections": sections,
            "adoption": line_chart(series, period.first, period.last),
            "adoption_table": _series_table(series),
        },
    )


def _series_table(series: list[dict]) -> dict:
    labels = sorted({row["label"] for row in series})
    days: dict[str, dict[str, int]] = {}
    for row in series:
        days.setdefault(row["day"], {})[row["label"]] = row["installations"]
    rows = [(day, [values.get(label, 0) for label in labels]) for day, values in days.items()]
    return {"labels": labels, "rows": rows}


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
