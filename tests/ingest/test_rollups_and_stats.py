"""Rollups and public statistics, on data built to tempt a leak of small groups."""

import csv
import io
from datetime import date, timedelta
from itertools import combinations

import pytest
from django.core.management import call_command
from django.test import override_settings

from ingest.dimensions import DIMENSIONS, FOLDED, PARTITION
from ingest.models import DailyRollup, Report, RollupDay
from ingest.services import installation_erase, reports_purge_expired, rollup_day
from tests.ingest.factories import report_row

pytestmark = pytest.mark.django_db
DAY1 = date(2026, 3, 2)
DAY2 = date(2026, 3, 3)
SMALL = ("v1.9.3", "v1.2.0", "rare-addon", "rare-trait", "opera")


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
        DailyRollup.objects.filter(day=DAY1).values_list(
            "dimension", "value", "installations", "public_label"
        )
    )
    rollup_day(day=DAY1)
    after = sorted(
        DailyRollup.objects.filter(day=DAY1).values_list(
            "dimension", "value", "installations", "public_label"
        )
    )
    assert before == after


@pytest.mark.parametrize("dimension", list(DIMENSIONS))
def test_no_api_figure_reveals_a_small_group(client, tempting, dimension):
    figures = _api(client, dimension)
    minimum = figures["min_installations"]
    body = str(figures)
    for small in SMALL:
        assert small not in body
    # every per-day public cell reaches the minimum ...
    assert all(cell["installations"] >= minimum for cell in figures["daily"])
    # ... and every range figure is exactly a sum of those cells
    for group in figures["groups"]:
        cells = [c["installations"] for c in figures["daily"] if c["label"] == group["label"]]
        assert group["installation_days"] == sum(cells)


@pytest.mark.parametrize("dimension", [k for k, d in DIMENSIONS.items() if d.kind == PARTITION])
def test_no_subtraction_from_the_total_reveals_a_small_group(client, tempting, dimension):
    for day in (DAY1, DAY2):
        figures = _api(client, dimension, day, day)
        cells = [g["installation_days"] for g in figures["groups"]]
        total = figures["total_installation_days"]
        assert total == sum(cells)
        for size in range(len(cells) + 1):
            for subset in combinations(cells, size):
                derived = total - sum(subset)
                assert derived == 0 or derived >= figures["min_installations"]


def test_releases_fold_inside_their_line_so_the_line_minus_releases_hides_nothing(client, tempting):
    lines = {
        g["label"]: g["installation_days"]
        for g in _api(client, "release_minor", DAY1, DAY1)["groups"]
    }
    releases = {
        g["label"]: g["installation_days"] for g in _api(client, "release", DAY1, DAY1)["groups"]
    }
    assert lines == {"v1.9": 28, FOLDED: 14}  # v1.2 (2) folded, and v1.8 (12) with it
    assert releases == {"v1.9.4": 25, FOLDED: 14} or releases == {"v1.9 (other)": 28, FOLDED: 14}
    assert sum(releases.values()) == sum(lines.values())


def test_differences_between_ranges_reveal_only_public_cells(client, tempting):
    both = {g["label"]: g["installation_days"] for g in _api(client, "addon")["groups"]}
    first = {
        g["label"]: g["installation_days"] for g in _api(client, "addon", DAY1, DAY1)["groups"]
    }
    for label, value in both.items():
        difference = value - first.get(label, 0)
        assert difference == 0 or difference >= 10


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
    for small in SMALL:
        assert small not in response.content.decode()


def test_the_page_shows_the_same_figures_and_hides_small_groups(client, tempting):
    page = client.get("/stats/", {"range": "custom", "from": DAY1, "to": DAY2})
    assert page.status_code == 200
    html = page.content.decode()
    assert "fluxcd" in html
    for small in SMALL:
        assert small not in html
    daily = client.get(
        "/stats/release_minor-daily.csv", {"range": "custom", "from": DAY1, "to": DAY2}
    ).content.decode()
    assert "v1.9" in daily
    assert "v1.2" not in daily


def test_the_stats_index_lists_every_dimension(client):
    listed = client.get("/api/v1/stats/").json()
    assert [d["dimension"] for d in listed["dimensions"]] == list(DIMENSIONS)
    assert listed["min_installations"] == 10


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


def test_days_rolled_up_under_another_minimum_are_not_shown(client, tempting):
    with override_settings(STATS_MIN_INSTALLATIONS=5):
        figures = _api(client, "addon")
        assert figures["days_rolled_up"] == 0
        assert figures["groups"] == []


def test_erasure_rolls_the_affected_days_up_again(
    tempting, django_capture_on_commit_callbacks, celery_eager
):
    with django_capture_on_commit_callbacks(execute=True):
        installation_erase(platform_id="inst0000")
    assert RollupDay.objects.get(day=DAY1).reports == 41
    assert (
        DailyRollup.objects.get(day=DAY1, dimension="release", value="v1.9.4").installations == 24
    )


def test_retention_removes_the_rollups_of_deleted_days(tempting, settings):
    settings.REPORT_RETENTION_DAYS = 1
    reports_purge_expired(today=DAY2 + timedelta(days=1))
    assert not RollupDay.objects.filter(day=DAY1).exists()
    assert not DailyRollup.objects.filter(day=DAY1).exists()
    assert RollupDay.objects.filter(day=DAY2).exists()


def test_the_stats_queries_do_not_grow_with_the_data(client, django_assert_max_num_queries):
    _tempting_fleet(DAY1)
    rollup_day(day=DAY1)
    with django_assert_max_num_queries(40) as small:
        client.get("/stats/", {"range": "custom", "from": DAY1, "to": DAY2})
    for offset in range(2, 12):
        _tempting_fleet(DAY1 + timedelta(days=offset), shift=offset)
        rollup_day(day=DAY1 + timedelta(days=offset))
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get("/stats/", {"range": "custom", "from": DAY1, "to": DAY1 + timedelta(days=12)})


def test_the_rollup_job_is_scheduled(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["ingest-rollup-recent-days"]
    assert entry["task"] == "ingest.tasks.rollup_recent_days"


def test_the_stats_page_shows_a_new_rollup_at_once(client):
    params = {"range": "custom", "from": DAY1, "to": DAY1}
    _tempting_fleet(DAY1)
    rollup_day(day=DAY1)
    assert "fluxcd" in client.get("/stats/", params).content.decode()
    Report.objects.filter(report_date=DAY1).delete()
    rollup_day(day=DAY1)
    page = client.get("/stats/", params).content.decode()
    assert "fluxcd" not in page
