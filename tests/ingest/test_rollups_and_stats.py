"""Exact rollups, and the public statistics released from the same days with noise."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from ingest.dimensions import DIMENSIONS
from ingest.models import DailyRollup, PublicFigure, Report, RollupDay, StatsRelease
from ingest.privacy import NOISE_SCALE
from ingest.services import (
    DayNotClosed,
    installation_erase,
    reports_purge_expired,
    rollup_day,
    stats_release_day,
)
from ingest.stats import DateRange, stats_html_cache_key, stats_range_parse
from ingest.tasks import rollup_recent_days
from tests.ingest.factories import report_row

pytestmark = pytest.mark.django_db
DAY1 = date(2026, 3, 2)
DAY2 = date(2026, 3, 3)
# Names on no public list, sent by a handful of installations: never released.
RARE = ("rare-addon", "rare-trait")


def _report(platform_id, day, release, addons=(), traits=(), browser="chrome", cluster="<3"):
    return report_row(
        platform_id,
        day,
        release=release,
        git_commit="git-1",
        install_date=None,
        cluster_count_bucket=cluster,
        app_count_bucket="<10",
        addons=dict.fromkeys(addons, "enabled"),
        trait_definitions=list(traits),
        browser_family=browser,
    )


def _tempting_fleet(day: date, shift: int = 0) -> None:
    """25 on v1.9.4 and 3 on v1.9.3; 12 on v1.8.0 and 2 on v1.2.0; a rare addon on 4."""
    rows, n = [], 0

    def add(count, **kwargs):
        nonlocal n
        for _ in range(count):
            rows.append(_report(f"inst{n:04d}", day, **kwargs))
            n += 1

    add(25 + shift, release="v1.9.4", addons=["fluxcd", "velaux"], traits=["scaler"])
    add(
        3, release="v1.9.3", addons=["fluxcd", "rare-addon"], traits=["rare-trait"], browser="opera"
    )
    add(12, release="v1.8.0", addons=["velaux"], cluster="<10")
    add(2, release="v1.2.0", addons=["rare-addon"], cluster=">=500")
    Report.objects.bulk_create(rows)


@pytest.fixture
def tempting(client):
    _tempting_fleet(DAY1)
    _tempting_fleet(DAY2, shift=7)
    call_command("rollup", f"--from={DAY1}", f"--to={DAY2}", verbosity=0)


def _api(client, dimension, first=DAY1, last=DAY2):
    response = client.get(f"/api/v1/stats/{dimension}", {"from": first, "to": last})
    assert response.status_code == 200
    return response.json()


def test_rollup_counts_the_day(tempting):
    counts = {(r.dimension, r.value): r.installations for r in DailyRollup.objects.filter(day=DAY1)}
    assert counts[("release", "v1.9.4")] == 25
    assert counts[("release_minor", "v1.9")] == 28
    assert counts[("addon", "fluxcd")] == 28
    assert counts[("addon", "rare-addon")] == 5
    assert counts[("trait_definition", "scaler")] == 25
    assert counts[("screen_width", "1920-2559")] == 42
    assert RollupDay.objects.get(day=DAY1).reports == 42


def test_rerunning_a_day_gives_the_same_result(tempting):
    before = sorted(
        DailyRollup.objects.filter(day=DAY1).values_list("dimension", "value", "installations")
    )
    rollup_day(day=DAY1)
    after = sorted(
        DailyRollup.objects.filter(day=DAY1).values_list("dimension", "value", "installations")
    )
    assert before == after


@pytest.mark.parametrize("dimension", list(DIMENSIONS))
def test_no_api_figure_shows_a_rare_name(client, tempting, dimension):
    figures = _api(client, dimension)
    body = str(figures)
    for rare in RARE:
        assert rare not in body


@pytest.mark.parametrize("dimension", list(DIMENSIONS))
def test_every_range_figure_is_the_sum_of_the_released_days(client, tempting, dimension):
    figures = _api(client, dimension)
    assert figures["days_released"] == 2
    for group in figures["groups"]:
        cells = [c["installations"] for c in figures["daily"] if c["label"] == group["label"]]
        assert group["installation_days"] == sum(cells)
        assert group["average_daily_installations"] == round(sum(cells) / 2, 1)
        assert group["average_daily_installations"] >= figures["display_floor"]
    stored = dict(
        PublicFigure.objects.filter(dimension=dimension)
        .values_list("label")
        .annotate(total=Sum("value"))
    )
    assert {g["label"]: g["installation_days"] for g in figures["groups"]} == {
        g["label"]: stored[g["label"]] for g in figures["groups"]
    }


def test_figures_are_noisy_but_near_the_truth_for_large_groups(client):
    """300 installations a day have velaux: each released day is within 6 noise deviations
    (24) of the truth, and the two days' figure, their sum, is listed."""
    for day in (DAY1, DAY2):
        Report.objects.bulk_create(
            _report(f"big{n:03d}", day, release="v1.9.4", addons=["velaux"]) for n in range(300)
        )
    call_command("rollup", f"--from={DAY1}", f"--to={DAY2}", verbosity=0)
    released = [
        PublicFigure.objects.get(day=day, dimension="addon", label="velaux").value
        for day in (DAY1, DAY2)
    ]
    assert all(abs(value - 300) < 6 * NOISE_SCALE for value in released)
    listed = {g["label"]: g["installation_days"] for g in _api(client, "addon")["groups"]}
    assert listed["velaux"] == sum(released)


def test_today_is_not_public(client):
    today = timezone.now().date()
    Report.objects.bulk_create(
        [_report(f"now{n:03d}", today, release="v1.9.4") for n in range(300)]
    )
    call_command("rollup", f"--from={today}", f"--to={today}", verbosity=0)
    assert RollupDay.objects.filter(day=today).exists()  # the exact rollup, for maintainers
    assert not StatsRelease.objects.filter(day=today).exists()
    figures = _api(client, "release", today, today)
    assert figures["days_released"] == 0
    assert figures["groups"] == []
    with pytest.raises(DayNotClosed):
        stats_release_day(day=today)


def test_csv_holds_exactly_what_the_chart_shows(client, tempting):
    response = client.get("/stats/release.csv", {"range": "custom", "from": DAY1, "to": DAY2})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    api = _api(client, "release")
    assert rows[0] == ["release", "average_daily_installations", "installation_days"]
    assert [(r[0], int(r[2])) for r in rows[1:]] == [
        (g["label"], g["installation_days"]) for g in api["groups"]
    ]
    for rare in RARE:
        assert rare not in response.content.decode()


def test_the_page_shows_the_same_figures_and_hides_small_groups(client, tempting):
    page = client.get("/stats/", {"range": "custom", "from": DAY1, "to": DAY2})
    assert page.status_code == 200
    html = page.content.decode()
    api = _api(client, "addon")
    for group in api["groups"]:
        assert f'<th scope="row">{group["label"]}</th>' in html
        assert f'<td class="num">{group["installation_days"]}</td>' in html
    for rare in RARE:
        assert rare not in html
    assert "ε =" in html and "one installation's report on one UTC day" in html
    daily = client.get(
        "/stats/release_minor-daily.csv", {"range": "custom", "from": DAY1, "to": DAY2}
    ).content.decode()
    series = [
        (c["day"], c["label"], c["installations"]) for c in _api(client, "release_minor")["daily"]
    ]
    rows = list(csv.reader(io.StringIO(daily)))[1:]
    assert {(r[0], r[1], int(r[2])) for r in rows} >= set(series)


def test_the_stats_index_lists_every_dimension(client):
    listed = client.get("/api/v1/stats/").json()
    assert [d["dimension"] for d in listed["dimensions"]] == list(DIMENSIONS)
    assert listed["min_installations"] == 10
    privacy = listed["privacy"]
    assert privacy["unit_of_privacy"] == "one installation's report on one UTC day"
    assert [d["dimension"] for d in privacy["dimensions"]] == list(DIMENSIONS)
    assert privacy["per_day"]["rho"] == pytest.approx(
        sum(d["rho_per_day"] for d in privacy["dimensions"])
    )
    assert 0 < privacy["per_day"]["epsilon"] < privacy["per_365_days"]["epsilon"]
    assert privacy["per_day"]["delta"] < 1e-8
    assert privacy["release_delay_hours"] == 2


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"from": "2026-13-01"}, 400),
        ({"from": "2026-03-05", "to": "2026-03-01"}, 400),
        ({"from": "2020-01-01", "to": "2026-01-01"}, 400),
    ],
)
def test_bad_ranges_get_a_clear_400(client, params, status):
    response = client.get("/api/v1/stats/addon", params)
    assert response.status_code == status
    assert response.json()["error"] == "invalid_range"


def test_an_unknown_dimension_gets_404(client):
    assert client.get("/api/v1/stats/clientIP").status_code == 404
    assert client.get("/stats/clientIP.csv").status_code == 404


def test_erasure_marks_the_days_stale_and_the_hourly_task_rolls_them_up(tempting):
    released = PublicFigure.objects.filter(day__in=[DAY1, DAY2])
    figures = sorted(released.values_list("day", "dimension", "label", "value"))
    installation_erase(platform_id="inst0000")
    assert set(RollupDay.objects.filter(stale=True).values_list("day", flat=True)) == {
        DAY1,
        DAY2,
    }
    rollup_recent_days()
    assert not RollupDay.objects.filter(stale=True).exists()
    assert RollupDay.objects.get(day=DAY1).reports == 41
    assert (
        DailyRollup.objects.get(day=DAY1, dimension="release", value="v1.9.4").installations == 24
    )
    # the released figures are not recomputed
    assert sorted(released.values_list("day", "dimension", "label", "value")) == figures


def test_retention_removes_the_rollups_of_deleted_days(tempting, settings):
    settings.REPORT_RETENTION_DAYS = 1
    reports_purge_expired(today=DAY2 + timedelta(days=1))
    assert not RollupDay.objects.filter(day=DAY1).exists()
    assert not DailyRollup.objects.filter(day=DAY1).exists()
    assert not StatsRelease.objects.filter(day=DAY1).exists()
    assert not PublicFigure.objects.filter(day=DAY1).exists()
    assert RollupDay.objects.filter(day=DAY2).exists()
    assert PublicFigure.objects.filter(day=DAY2).exists()


@pytest.mark.slow
def test_the_stats_queries_do_not_grow_with_the_data(client, django_assert_max_num_queries):
    # 225 on v1.9.4: listed above the one-day floor (108) whatever the noise (9 deviations),
    # so the first page draws its adoption series too
    _tempting_fleet(DAY1, shift=200)
    stats_release_day(day=DAY1)
    with django_assert_max_num_queries(40) as small:
        client.get("/stats/", {"range": "custom", "from": DAY1, "to": DAY2})
    for offset in range(2, 12):
        _tempting_fleet(DAY1 + timedelta(days=offset), shift=offset)
        stats_release_day(day=DAY1 + timedelta(days=offset))
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get("/stats/", {"range": "custom", "from": DAY1, "to": DAY1 + timedelta(days=12)})


def test_the_rollup_job_is_scheduled(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["ingest-rollup-recent-days"]
    assert entry["task"] == "ingest.tasks.rollup_recent_days"


def test_the_stats_page_shows_a_new_release_at_once(client):
    params = {"range": "custom", "from": DAY1, "to": DAY2}
    _tempting_fleet(DAY1)
    stats_release_day(day=DAY1)
    first = client.get("/stats/", params).content.decode()
    assert "1 day with released statistics" in first
    _tempting_fleet(DAY2)
    stats_release_day(day=DAY2)
    assert "2 days with released statistics" in client.get("/stats/", params).content.decode()


def test_a_preset_range_is_kept_under_the_release_state_and_a_custom_one_is_not_kept():
    today = timezone.now().date()
    last_30 = stats_range_parse(first=None, last=None, preset="30", today=today)
    unreleased = stats_html_cache_key(period=last_30, today=today)
    _tempting_fleet(DAY1)
    stats_release_day(day=DAY1)
    released = stats_html_cache_key(period=last_30, today=today)
    stats_release_day(day=DAY1, again=True)
    re_released = stats_html_cache_key(period=last_30, today=today)
    assert unreleased.startswith(f"stats-html:{last_30.first}:{today}:")
    assert len({unreleased, released, re_released}) == 3  # each release is a new page
    assert stats_html_cache_key(period=DateRange(DAY1, DAY2), today=today) is None
    yesterday = today - timedelta(days=1)
    assert (
        stats_html_cache_key(
            period=DateRange(yesterday - timedelta(days=29), yesterday), today=today
        )
        is None
    )
