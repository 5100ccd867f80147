"""Every deployed VelaUX release, as it is: what it sends, what is kept, what it is told.

The quirk fixtures are in ``tests/fixtures/velaux-quirks/``.
"""

from datetime import date

import pytest
from django.core.management import call_command
from django.test import override_settings

from ingest.dimensions import DEVELOPMENT, OLD_CLUSTER_BUCKET
from ingest.models import DailyRollup, PublicFigure, Report
from tests.ingest.factories import report_row
from tests.ingest.helpers import post_report
from tests.support import database_dump, quirk_fixture


@pytest.mark.django_db
def test_more_than_fifty_addons_are_accepted_and_stored(client):
    payload = quirk_fixture("many-addons.json")
    response = post_report(client, payload)
    assert response.status_code == 202, response.json()
    stored = Report.objects.get(platform_id=payload["platformID"])
    assert stored.addons == payload["enableAddonList"]
    assert len(stored.addons) > 50


@pytest.mark.django_db
def test_go_zero_time_stores_no_install_date(client):
    payload = quirk_fixture("zero-install-time.json")
    assert payload["installTime"].startswith("0001-01-01T00:00:00")
    assert post_report(client, payload).status_code == 202
    assert Report.objects.get(platform_id=payload["platformID"]).install_date is None


@pytest.mark.django_db
def test_two_msie_tokens_read_as_internet_explorer(client):
    payload = quirk_fixture("double-msie.json")
    assert "," in payload["browserInfo"]["nameAndVersion"]
    assert post_report(client, payload).status_code == 202
    stored = Report.objects.get(platform_id=payload["platformID"])
    first = payload["browserInfo"]["nameAndVersion"].split(",")[0]  # ie8.0
    assert (stored.browser_family, stored.browser_major_version) == ("ie", int(first[2:-2]))


@pytest.mark.django_db
def test_the_legacy_shape_is_read_into_todays_coarse_form(client):
    payload = quirk_fixture("legacy-v1.2.json")
    assert (payload["clusterCount"], payload["appCount"]) == (2, 7)
    response = post_report(client, payload)
    assert response.status_code == 202, response.json()
    assert response.json()["discarded_fields"] == []  # installID and enableAddList are read
    stored = Report.objects.get(platform_id=payload["installID"])
    assert (stored.cluster_count_bucket, stored.app_count_bucket) == ("<3", "<10")
    assert stored.addons == {item["name"]: item["phase"] for item in payload["enableAddList"]}
    assert (stored.release, stored.git_commit) == ("v1.2.4", None)
    assert stored.install_date == date(2022, 2, 24)
    assert stored.browser_family is None


@pytest.mark.parametrize(
    ("field", "count", "label"),
    [
        ("clusterCount", 0, "<3"),
        ("clusterCount", 499, "<500"),
        ("clusterCount", 500, ">=500"),
        ("appCount", 9999, "<10000"),
        ("appCount", 10000, ">=10000"),
    ],
)
@pytest.mark.django_db
def test_a_raw_count_becomes_its_bucket(client, field, count, label):
    payload = dict(quirk_fixture("legacy-v1.2.json"), **{field: count})
    assert post_report(client, payload).status_code == 202
    column = "cluster_count_bucket" if field == "clusterCount" else "app_count_bucket"
    assert getattr(Report.objects.get(), column) == label


@pytest.mark.django_db
def test_legacy_addons_in_another_phase_are_not_enabled(client):
    payload = dict(
        quirk_fixture("legacy-v1.2.json"),
        enableAddList=[
            {"name": "fluxcd", "phase": "enabled"},
            {"name": "terraform", "phase": "disabled"},
            {"name": "kruise", "phase": "suspend"},
        ],
    )
    assert post_report(client, payload).status_code == 202
    assert Report.objects.get().addons == {"fluxcd": "enabled"}


@pytest.mark.django_db(transaction=True)
def test_no_raw_count_reaches_the_database_or_the_logs(client, caplog, capfd):
    """Distinctive raw counts: stored only as their labels, in no dump and no log line."""
    caplog.set_level("DEBUG")
    # Seven digits: no row ID of a test database reaches them (four-digit counts met the
    # IDs of auth_permission, which grow as transactional tests re-create it), and a
    # given seven-digit run is unlikely inside the dump's hashes.
    clusters, apps = 4187093, 7321846
    payload = dict(quirk_fixture("legacy-v1.2.json"), clusterCount=clusters, appCount=apps)
    assert post_report(client, payload).status_code == 202
    post_report(client, dict(payload, appCount=-apps))  # a refusal logs too
    stored = Report.objects.get()
    assert (stored.cluster_count_bucket, stored.app_count_bucket) == (">=500", ">=10000")
    dump = database_dump()
    assert payload["installID"] in dump  # the dump is real
    logs = caplog.text + "".join(capfd.readouterr())
    assert "collecting" in logs
    for number in (str(clusters), str(apps)):
        assert number not in dump, f"{number} found in the database"
        assert number not in logs, f"{number} found in the logs"


@override_settings(INGEST_MAX_REPORTS_PER_INSTALLATION_PER_DAY=48)
@pytest.mark.django_db
def test_sixty_reports_a_day_are_all_answered_2xx_and_one_row_remains(client, typical_payload):
    answers = [post_report(client, dict(typical_payload, appCount="<50")) for _ in range(60)]
    assert {answer.status_code for answer in answers[:48]} == {202}
    assert {answer.status_code for answer in answers[48:]} == {200}
    assert all(answer.json()["status"] == "not_stored" for answer in answers[48:])
    assert all(answer.json()["reason"] == "daily_limit_reached" for answer in answers[48:])
    (row,) = Report.objects.all()
    assert row.revision == 48


@pytest.mark.django_db
def test_the_policy_and_the_home_page_name_both_hosts(client, settings):
    settings.TELEMETRY_LEGACY_HOST = "user.kubevela.net"
    policy = client.get("/api/v1/policy").json()
    assert policy["hosts"] == [settings.TELEMETRY_ENDPOINT_HOST, "user.kubevela.net"]
    urls = [endpoint["url"] for endpoint in policy["endpoints"]]
    assert "https://user.kubevela.net/collecting" in urls
    by_name = {element["name"]: element for element in policy["elements"]}
    assert "installID" in by_name["platformID"]["client_fields"]
    assert "enableAddList" in by_name["enableAddonList"]["client_fields"]
    home = client.get("/").content.decode()
    for recipe in (
        "address=/user.kubevela.net/",
        "0.0.0.0 user.kubevela.net",
        'local-zone: "user.kubevela.net." always_nxdomain',
        f"dstdomain {settings.TELEMETRY_ENDPOINT_HOST} user.kubevela.net",
    ):
        assert recipe in home


DAY = date(2026, 3, 2)


def _fleet() -> None:
    rows = []
    for n, (cluster, release, browser) in enumerate(
        [("<3", "v1.9.4", "chrome")] * 300
        + [(">=50", "v1.4.2", "safari")] * 300
        + [("<2000", "latest", "firefox")] * 300
        + [(">=500", "main", "ie")] * 300
    ):
        rows.append(
            report_row(
                f"inst{n:05d}",
                DAY,
                cluster_count_bucket=cluster,
                release=release,
                browser_family=browser,
            )
        )
    Report.objects.bulk_create(rows)


@pytest.mark.slow
@pytest.mark.django_db
def test_one_scale_per_chart_and_development_builds_apart(client):
    _fleet()
    call_command("rollup", f"--from={DAY}", f"--to={DAY}", verbosity=0)
    exact = dict(
        DailyRollup.objects.filter(day=DAY, dimension="cluster_count").values_list(
            "value", "installations"
        )
    )
    assert exact == {"<3": 300, OLD_CLUSTER_BUCKET: 300, ">=500": 600}
    lines = dict(
        DailyRollup.objects.filter(day=DAY, dimension="release_minor").values_list(
            "value", "installations"
        )
    )
    assert lines == {"v1.9": 300, "v1.4": 300, DEVELOPMENT: 600}
    releases = set(
        PublicFigure.objects.filter(day=DAY, dimension="release").values_list("label", flat=True)
    )
    assert DEVELOPMENT in releases
    assert not {"latest", "main"} & releases

    answer = client.get("/api/v1/stats/cluster_count", {"from": DAY, "to": DAY}).json()
    labels = [group["label"] for group in answer["groups"]]
    # 300 and 600 installations clear the one-day floor (108) by 8 noise deviations
    assert labels == ["<3", ">=500", OLD_CLUSTER_BUCKET]
    assert ">=50" not in labels and "<2000" not in labels
    page = client.get("/stats/", {"range": "custom", "from": DAY, "to": DAY}).content.decode()
    assert OLD_CLUSTER_BUCKET in page
    assert "&gt;=50</th>" not in page
    assert "Chrome and Chromium-based browsers (Edge, Opera" in page
    assert "every browser on iOS" in page
    assert "(development builds)" in page


@pytest.mark.django_db
def test_a_screen_width_of_zero_is_stored_as_unknown(client, typical_payload):
    typical_payload["browserInfo"]["screenWidth"] = 0
    assert post_report(client, typical_payload).status_code == 202
    assert Report.objects.get().screen_width is None
