"""The statistics page as a visitor reads it: the range they asked for, shares of the
reporting installations, values on hover, units, and how far the figures can be trusted.

Figures are written as released rows (StatsRelease, PublicFigure) so that every expected
number follows from them; the raw reports, where there are any, say something else.
"""

import math
import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ingest.charts import bar_chart, line_chart
from ingest.models import DailyRollup, PublicFigure, Report, StatsRelease
from ingest.privacy import NOISE_SCALE, Z_95
from ingest.stats import (
    SHARE_REFERENCES,
    DateRange,
    ReleasedTotal,
    noise_margins,
    reporting_estimate,
    stats_noise_scale,
)
from tests.ingest.factories import report_row

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 2)
ONE_DAY = {"from": DAY.isoformat(), "to": DAY.isoformat()}
REPORTING = 400  # every reference partition's released total on DAY


def _release(day: date, figures: dict[str, dict[str, int]], noise_scale=NOISE_SCALE) -> None:
    StatsRelease.objects.create(
        day=day, released_at=timezone.now(), rho=0.01, delta=1e-10,
        noise_scale=noise_scale, threshold=170,
    )  # fmt: skip
    PublicFigure.objects.bulk_create(
        PublicFigure(day=day, dimension=dimension, label=label, value=value)
        for dimension, labels in figures.items()
        for label, value in labels.items()
    )


def _reference_partitions(total: int) -> dict[str, dict[str, int]]:
    """Each reference partition sums to ``total``, in two groups."""
    return {
        key: {"(unknown)": total // 4, f"{key}-most": total - total // 4}
        for key in SHARE_REFERENCES
    }


@pytest.fixture
def released_day():
    _release(
        DAY,
        {
            **_reference_partitions(REPORTING),
            "release_minor": {"v1.9": 300, "v1.8": 130},
            "addon": {"velaux": 250, "fluxcd": 150},
        },
    )


def _page(client, params) -> str:
    response = client.get("/stats/", params)
    assert response.status_code == 200
    return " ".join(response.content.decode().split())  # as read: one space between words


def _row(html: str, label: str) -> list[str]:
    """The cells of a table row, by its header."""
    match = re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', html, re.S)
    assert match, label
    return re.findall(r'<td class="num">(.*?)</td>', match.group(1))


# --- the range ---------------------------------------------------------------------------


def test_given_dates_win_over_a_preset_without_any_radio_button(client, released_day):
    html = _page(client, {"range": "365", **ONE_DAY})
    assert "From 2 March 2026 to 2 March 2026: 1 day with released statistics." in html
    assert 'aria-current="page">Last 365 days' not in html


def test_from_alone_runs_to_today_and_to_alone_starts_29_days_before(client):
    today = timezone.now().date()
    html = _page(client, {"from": (today - timedelta(days=3)).isoformat()})
    assert f"to {today.day} {today:%B %Y}:" in html
    html = _page(client, {"to": "2026-03-31"})
    assert "From 2 March 2026 to 31 March 2026" in html


def test_a_preset_alone_is_shown_as_the_current_link(client):
    html = _page(client, {"range": "90"})
    assert 'href="/stats/?range=90" aria-current="page">Last 90 days' in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-03-05", "to": "2026-03-01"}, "The start date must not be after the end"),
        ({"from": "2026-02-30"}, "Dates must be written YYYY-MM-DD."),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "A range may span at most 1098 days."),
        ({"range": "7"}, "Choose the last 30, 90 or 365 days, or give a From or To date"),
    ],
)
def test_an_impossible_range_says_why_and_keeps_what_was_typed(client, params, message):
    response = client.get("/stats/", params)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<p class="error" role="alert">{message}' in html
    if "from" in params:
        assert f'value="{params["from"]}"' in html


# --- shares, from released figures only --------------------------------------------------


def test_shares_are_of_the_released_reporting_installations(client, released_day):
    html = _page(client, ONE_DAY)
    assert _row(html, "v1.9") == ["300", f"{100 * 300 / REPORTING:.0f}%", "300"]
    assert _row(html, "v1.8") == ["130", f"{100 * 130 / REPORTING:.0f}%", "130"]
    # an installation can have many addons: shares of the same reporting installations
    assert _row(html, "velaux") == ["250", f"{100 * 250 / REPORTING:.0f}%", "250"]


def test_shares_read_no_report_and_no_exact_rollup(client, released_day):
    Report.objects.bulk_create(report_row(f"inst{n}", DAY, release="v1.9.4") for n in range(7))
    DailyRollup.objects.create(day=DAY, dimension="browser", value="chrome", installations=7)
    with CaptureQueriesContext(connection) as queries:
        html = _page(client, ONE_DAY)
    tables = (Report._meta.db_table, DailyRollup._meta.db_table)
    assert not [q["sql"] for q in queries if any(table in q["sql"] for table in tables)]
    assert _row(html, "v1.9")[1] == "75%"  # 300 of 400 released, not of the 7 reports


def test_the_denominator_weighs_each_partition_by_its_noise():
    # the same truth plus noise: a total of 4 figures counts twice as much as one of 8
    totals = {"browser": ReleasedTotal(100, 4), "screen_width": ReleasedTotal(130, 8)}
    estimate = reporting_estimate(totals)
    assert estimate.installation_days == pytest.approx((100 / 4 + 130 / 8) / (1 / 4 + 1 / 8))
    assert estimate.figures == pytest.approx(1 / (1 / 4 + 1 / 8))
    assert reporting_estimate({"release": ReleasedTotal(100, 4)}) is None  # not a reference


def test_no_share_is_made_up_when_noise_took_the_total_below_zero(client):
    _release(DAY, {**_reference_partitions(-40), "release_minor": {"v1.9": 300}})
    assert _row(_page(client, ONE_DAY), "v1.9") == ["300", "\u2013", "300"]


# --- charts ------------------------------------------------------------------------------


def test_each_bar_says_its_value_and_share_on_hover_and_the_axis_its_unit(client, released_day):
    html = _page(client, ONE_DAY)
    margin = math.ceil(Z_95 * NOISE_SCALE)
    assert (
        f"<title>v1.9: 300 installations reporting a day on average (±{margin}), "
        "75% of reporting installations (±"
    ) in html
    assert '<text x="0" y="13" class="chart-unit">Installations reporting per day (average)' in html
    assert "300 · 75%</text>" in html  # beside the bar too


def test_each_day_of_the_adoption_chart_says_its_values_on_hover(client, released_day):
    _release(
        DAY + timedelta(days=1), {**_reference_partitions(200), "release_minor": {"v1.9": 280}}
    )
    html = _page(client, {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()})
    titles = re.findall(r'class="chart-hit"><title>(.*?)</title>', html)
    # v1.8 averages 65 a day over the two days: under the display floor, so not drawn
    assert titles[0].startswith("2026-03-02: v1.9 300 (75%) installations reporting (each ±")
    assert titles[1].startswith("2026-03-03: v1.9 280 (140%)")  # noise: shares can pass 100%
    assert '<text x="0" y="14" class="chart-unit">Installations reporting per day</text>' in html


def test_bars_are_laid_out_in_percent_so_their_text_is_never_scaled():
    rows = [
        {"label": "a", "value": 30.0, "text": "30", "title": "a"},
        {"label": "b", "value": 7.0, "text": "7", "title": "b"},
    ]
    chart = bar_chart(rows, unit="Installations")
    assert chart.ticks[-1][1] == "32"  # the scale's top: the next multiple of 4
    assert [bar.percent for bar in chart.bars] == [round(100 * 30 / 32, 2), round(100 * 7 / 32, 2)]
    assert chart.bars[1].y - chart.bars[0].y == 40
    assert bar_chart([], unit="Installations").ticks == []  # no scale without a bar


def test_the_narrow_line_chart_is_drawn_at_its_own_width():
    series = [{"day": "2026-03-02", "label": "v1.9", "installations": 10}]
    narrow = line_chart(series, DAY, DAY + timedelta(days=9), width=340, x_tick_count=3)
    assert narrow.width == 340 and len(narrow.x_ticks) == 3
    assert narrow.columns == []  # no hover without titles (phones do not hover)
    wide = line_chart(series, DAY, DAY + timedelta(days=9), day_titles={"2026-03-02": "x"})
    assert [column.title for column in wide.columns] == ["x"]
    assert wide.columns[0].x == wide.left  # the first day's strip starts at the axis


# --- how far to trust the figures ---------------------------------------------------------


def test_the_page_states_the_95_percent_margins_from_the_release_parameters(client, released_day):
    for offset in range(1, 4):
        _release(DAY + timedelta(days=offset), _reference_partitions(REPORTING))
    html = _page(client, {"from": DAY.isoformat(), "to": (DAY + timedelta(days=3)).isoformat()})
    average = math.ceil(Z_95 * NOISE_SCALE / math.sqrt(4))
    daily = math.ceil(Z_95 * NOISE_SCALE)
    assert f"95 times in 100 it is within ±{average} installations a day" in html
    assert f"(each daily figure within ±{daily})" in html
    assert f'Average a day <span class="margin">(±{average})</span>' in html
    installation_days = math.ceil(Z_95 * NOISE_SCALE * math.sqrt(4))
    assert f'Installation-days <span class="margin">(±{installation_days})</span>' in html


def test_the_margins_follow_the_noise_each_day_was_released_with(client):
    _release(DAY, {**_reference_partitions(REPORTING), "release_minor": {"v1.9": 300}}, 6.0)
    period = DateRange(DAY, DAY)
    assert stats_noise_scale(period=period) == 6.0
    html = _page(client, ONE_DAY)
    assert f"(±{math.ceil(Z_95 * 6.0)})</span>" in html


def test_figures_are_shown_no_finer_than_their_noise(client):
    _release(DAY, {**_reference_partitions(REPORTING), "release_minor": {"v1.9": 301}})
    _release(DAY + timedelta(days=1), {"release_minor": {"v1.9": 300}})
    two_days = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}
    assert _row(_page(client, two_days), "v1.9")[0] == "300"  # the average is 300.5 ± 34


def test_the_share_margin_combines_both_noises_at_the_worst_case():
    denominator = ReleasedTotal(installation_days=4000, figures=25)
    margins = noise_margins(days=10, noise_scale=24.0, denominator=denominator)
    expected = 100 * Z_95 * math.hypot(24 / math.sqrt(10), 24 * 5 / 10) / 400
    assert margins["share_points"] == pytest.approx(expected)
    assert noise_margins(days=10, noise_scale=24.0)["share_points"] is None
