import json

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import JsonResponse
from django.test import override_settings
from django.utils import timezone

from ingest import views
from ingest.models import DiscardedFieldCount, Report
from ingest.parsing import MAX_ADDONS, MAX_DEFINITIONS
from tests.ingest.helpers import database_state, post_report
from tests.support import velaux_fixture_paths

pytestmark = pytest.mark.django_db
ORIGIN = "https://velaux.example.com:8000"


@pytest.mark.parametrize("path", velaux_fixture_paths(), ids=lambda p: p.name)
def test_it_accepts_every_velaux_payload_with_cors(client, path):
    payload = json.loads(path.read_text())
    response = post_report(client, path.read_text(), HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 202, response.content
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    assert response.json()["status"] == "accepted"
    assert Report.objects.get().platform_id == payload["platformID"]


@pytest.mark.parametrize("path", ["/collecting", "/api/v1/reports"])
def test_it_answers_the_cors_preflight(client, path):
    response = client.options(
        path,
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert 200 <= response.status_code < 300
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "content-type" in response["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.parametrize("path", ["/", "/api/v1/policy", "/api/v1/installations/abc", "/admin/"])
def test_no_other_endpoint_gets_cors_headers(client, path):
    preflight = client.options(path, HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    plain = client.get(path, HTTP_ORIGIN=ORIGIN)
    assert "Access-Control-Allow-Origin" not in preflight
    assert "Access-Control-Allow-Origin" not in plain


def test_both_paths_behave_the_same(client, typical_payload):
    first = post_report(client, typical_payload, path="/collecting")
    second = post_report(client, typical_payload, path="/api/v1/reports")
    assert (first.status_code, first.json()["report"]) == (202, "new")
    assert (second.status_code, second.json()["report"]) == (202, "replaced")
    assert Report.objects.count() == 1


@pytest.mark.parametrize(
    ("version", "release", "git_commit"),
    [
        ("v1.9.4NaNgit-1a2b3c4", "v1.9.4", "git-1a2b3c4"),
        ("v1.9.4/git-1a2b3c4", "v1.9.4", "git-1a2b3c4"),
        ("v1.9.4NaN", "v1.9.4", None),
        ("NaN", None, None),
        ("NaNgit-1a2b3c4", None, "git-1a2b3c4"),
        ("v1.10.0-beta.1", "v1.10.0-beta.1", None),
    ],
)
def test_it_splits_the_version_and_never_keeps_the_nan_artefact(
    client, typical_payload, version, release, git_commit
):
    typical_payload["version"] = version
    assert post_report(client, typical_payload).status_code == 202
    report = Report.objects.get()
    assert (report.release, report.git_commit) == (release, git_commit)
    assert "NaN" not in f"{report.release}{report.git_commit}"


@pytest.mark.parametrize(
    ("install_time", "utc_date"),
    [
        ("2023-05-10T08:15:42.123456789+08:00", "2023-05-10"),
        ("2023-05-10T02:00:00+08:00", "2023-05-09"),
        ("2023-05-10T23:30:00.5-02:00", "2023-05-11"),
        ("2024-11-02T23:59:59.5Z", "2024-11-02"),
        ("2022-09-30T02:00:00Z", "2022-09-30"),
        ("2025-03-14T10:20:30.123+00:00", "2025-03-14"),
    ],
)
def test_install_time_is_stored_as_a_utc_date(client, typical_payload, install_time, utc_date):
    typical_payload["installTime"] = install_time
    assert post_report(client, typical_payload).status_code == 202
    assert Report.objects.get().install_date.isoformat() == utc_date


@pytest.mark.parametrize(
    ("cluster", "app", "stored"),
    [
        ("<3", "<10", ("<3", "<10")),
        (">=500", ">=10000", (">=500", ">=10000")),
        (">=50", "<500", (">=50", "<500")),  # an older release's cluster buckets
        ("<2000", "<2000", ("<2000", "<2000")),  # the oldest releases used the app buckets
        ("", "", (None, None)),  # before VelaUX's first daily count
    ],
)
def test_it_stores_bucket_labels_or_unknown(client, typical_payload, cluster, app, stored):
    typical_payload.update(clusterCount=cluster, appCount=app)
    assert post_report(client, typical_payload).status_code == 202
    report = Report.objects.get()
    assert (report.cluster_count_bucket, report.app_count_bucket) == stored


def test_missing_definition_lists_are_empty(client, typical_payload):
    for key in (
        "traitDefinitionTopList",
        "workflowStepDefinitionTopList",
        "policyDefinitionTopList",
    ):
        typical_payload.pop(key)
    assert post_report(client, typical_payload).status_code == 202
    report = Report.objects.get()
    assert report.component_definitions == ["webservice", "k8s-objects", "helm"]
    assert report.trait_definitions == []
    assert report.workflow_step_definitions == []
    assert report.policy_definitions == []
    assert report.addons == {"fluxcd": "enabled", "velaux": "enabled", "vela-prism": "enabling"}


@pytest.mark.parametrize(
    ("name_and_version", "family", "major"),
    [
        ("chrome124.0.0.0", "chrome", 124),
        ("firefox125.0", "firefox", 125),
        ("ie9.0", "ie", 9),
        ("safari/605.1.15", "safari", None),  # the WebKit build, not a Safari version
        ("ie8.0,msie6.0", "ie", 8),  # two MSIE tokens: the first is read
        ("edge120.0", "other", None),  # VelaUX says chrome for Edge: no edge family
        ("", None, None),
        ("netscape4.0", "other", None),
        ("???", "other", None),
    ],
)
def test_it_parses_browser_family_and_major_version(
    client, typical_payload, name_and_version, family, major
):
    typical_payload["browserInfo"]["nameAndVersion"] = name_and_version
    assert post_report(client, typical_payload).status_code == 202
    report = Report.objects.get()
    assert (report.browser_family, report.browser_major_version) == (family, major)
    assert report.screen_width == 1920


def test_it_discards_unapproved_fields_and_counts_only_their_names(client, typical_payload):
    typical_payload["browserInfo"].update(language="tlh-KLINGON", screenHeight=4321)
    typical_payload.update(
        clientIP="192.0.2.44",
        region="atlantis-1",
        requestTime="1999-01-01",
        brandNewField={"secret": "value-xyz"},
    )
    response = post_report(client, typical_payload)
    assert response.status_code == 202
    assert response.json()["discarded_fields"] == [
        "brandNewField",
        "browserInfo.language",
        "browserInfo.screenHeight",
        "clientIP",
        "region",
        "requestTime",
    ]
    stored = json.dumps(list(Report.objects.values()), default=str)
    for value in ("tlh-KLINGON", "4321", "192.0.2.44", "atlantis-1", "1999", "value-xyz"):
        assert value not in stored
    counted = {row.field_name: row.count for row in DiscardedFieldCount.objects.all()}
    assert counted == dict.fromkeys(response.json()["discarded_fields"], 1)


def test_request_time_is_stamped_by_the_server(client, typical_payload):
    typical_payload["requestTime"] = "2001-01-01T00:00:00Z"
    assert post_report(client, typical_payload).status_code == 202
    assert Report.objects.get().report_date == timezone.now().date()


def test_a_later_report_the_same_day_replaces_the_earlier(client, typical_payload):
    assert post_report(client, typical_payload).json()["report"] == "new"
    typical_payload["appCount"] = "<5000"
    response = post_report(client, typical_payload)
    assert response.status_code == 202
    assert response.json()["report"] == "replaced"
    report = Report.objects.get()
    assert (report.app_count_bucket, report.revision) == ("<5000", 2)


@pytest.mark.django_db(transaction=True)
def test_the_answer_comes_after_the_commit(postgres, client, typical_payload, monkeypatch):
    """202 means committed: when the view builds its answer, another database connection
    already sees the row (the test's own connection would see it uncommitted too)."""
    platform_id = typical_payload["platformID"]
    seen_by_another_connection = []

    def answer_once_committed(*args, **kwargs):
        outside = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with outside.cursor() as cursor:
                cursor.execute(
                    f"SELECT count(*) FROM {Report._meta.db_table} WHERE platform_id = %s",  # noqa: S608
                    [platform_id],
                )
                seen_by_another_connection.append(cursor.fetchone()[0])
        finally:
            outside.close()
        return JsonResponse(*args, **kwargs)

    monkeypatch.setattr(views, "JsonResponse", answer_once_committed)
    response = post_report(client, typical_payload)
    assert response.status_code == 202
    assert seen_by_another_connection == [1]


# --- bad input: a clear 4xx that names the problem, and nothing changes ---------------

BIG_LIST = [f"def-{i}" for i in range(MAX_DEFINITIONS + 1)]


def _with(**changes):
    def build(payload):
        payload.update(changes)
        return json.dumps(payload)

    return build


def _browser(**changes):
    def build(payload):
        payload["browserInfo"].update(changes)
        return json.dumps(payload)

    return build


BAD_BODIES = [
    ("malformed json", lambda p: '{"platformID": "abc",', 400, "malformed_json", None),
    ("not an object", lambda p: '["platformID"]', 400, "not_an_object", None),
    ("blank body", lambda p: "  ", 400, "malformed_json", None),
    ("missing platformID", lambda p: "{}", 400, "missing_field", "platformID"),
    ("platformID too long", _with(platformID="a" * 65), 400, "invalid_field", "platformID"),
    ("platformID bad chars", _with(platformID="ab/../cd"), 400, "invalid_field", "platformID"),
    ("platformID a number", _with(platformID=12345), 400, "invalid_field", "platformID"),
    ("appCount a negative number", _with(appCount=-1), 400, "invalid_field", "appCount"),
    ("appCount a fraction", _with(appCount=4.5), 400, "invalid_field", "appCount"),
    ("unknown bucket", _with(clusterCount="<7"), 400, "invalid_field", "clusterCount"),
    ("addons a list", _with(enableAddonList=["fluxcd"]), 400, "invalid_field", "enableAddonList"),
    (
        "addon bad status",
        _with(enableAddonList={"fluxcd": "on"}),
        400,
        "invalid_field",
        "enableAddonList",
    ),
    (
        "too many addons",
        _with(enableAddonList={f"a{i}": "enabled" for i in range(MAX_ADDONS + 1)}),
        400,
        "invalid_field",
        "enableAddonList",
    ),
    (
        "list too long",
        _with(traitDefinitionTopList=BIG_LIST),
        400,
        "invalid_field",
        "traitDefinitionTopList",
    ),
    (
        "definition not a string",
        _with(componentDefinitionTopList=[1]),
        400,
        "invalid_field",
        "componentDefinitionTopList",
    ),
    (
        "name over 253",
        _with(componentDefinitionTopList=["x" * 254]),
        400,
        "invalid_field",
        "componentDefinitionTopList",
    ),
    (
        "addon name over 253",
        _with(enableAddonList={"x" * 254: "enabled"}),
        400,
        "invalid_field",
        "enableAddonList",
    ),
    (
        "installTime not RFC 3339",
        _with(installTime="10/05/2023"),
        400,
        "invalid_field",
        "installTime",
    ),
    (
        "installTime impossible",
        _with(installTime="2023-02-30T00:00:00Z"),
        400,
        "invalid_field",
        "installTime",
    ),
    ("version an object", _with(version={"v": 1}), 400, "invalid_field", "version"),
    (
        "screenWidth a string",
        _browser(screenWidth="1920"),
        400,
        "invalid_field",
        "browserInfo.screenWidth",
    ),
    (
        "screenWidth a boolean",
        _browser(screenWidth=True),
        400,
        "invalid_field",
        "browserInfo.screenWidth",
    ),
    ("browserInfo a string", _with(browserInfo="chrome"), 400, "invalid_field", "browserInfo"),
    (
        "too many top-level fields",
        _with(**{f"extra{i}": 1 for i in range(50)}),
        400,
        "invalid_field",
        "(body)",
    ),
    ("field name over 253", _with(**{"y" * 254: 1}), 400, "invalid_field", "(body)"),
]


@pytest.mark.parametrize(
    ("case", "build", "status", "code", "field"), BAD_BODIES, ids=[case[0] for case in BAD_BODIES]
)
def test_bad_input_is_refused_with_a_named_error_and_changes_nothing(
    client, typical_payload, case, build, status, code, field
):
    post_report(client, {"platformID": "existing01"})
    before = database_state()
    response = post_report(client, build(typical_payload))
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == code
    assert body["message"]
    if field:
        assert body["field"] == field
        assert field in body["message"]
    assert database_state() == before


def test_a_body_over_64_kib_gets_413(client, typical_payload):
    typical_payload["padding"] = "x" * (64 * 1024)
    before = database_state()
    response = post_report(client, typical_payload)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert database_state() == before


def test_an_oversized_body_is_refused_without_reading_it(rf):
    """The declared length alone refuses it: the stream is never read."""
    from ingest.views import collect_report

    class Unreadable:
        def read(self, *args):
            raise AssertionError("the body was read")

        readline = read

    request = rf.post("/collecting", data=b"{}", content_type="application/json")
    request.META["CONTENT_LENGTH"] = str(10 * 1024 * 1024)
    request._stream = Unreadable()
    response = collect_report(request)
    assert response.status_code == 413


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_content_type_other_than_json_gets_415(client, typical_payload, content_type):
    before = database_state()
    response = client.post("/collecting", json.dumps(typical_payload), content_type=content_type)
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert database_state() == before


def test_json_with_a_charset_is_accepted(client, typical_payload):
    response = post_report(client, typical_payload, content_type="application/json;charset=utf-8")
    assert response.status_code == 202


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_get_405(client, method):
    response = getattr(client, method)("/collecting")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert "POST" in response["Allow"]


# --- rate limits, keyed by installation and clock, never by address ----------------------


@override_settings(INGEST_MAX_REPORTS_PER_INSTALLATION_PER_DAY=3)
def test_over_its_daily_limit_an_installation_gets_a_2xx_that_says_not_stored(
    client, typical_payload
):
    """VelaUX re-sends on every page load after anything but a 2xx: a retry cannot help."""
    for _ in range(3):
        assert post_report(client, typical_payload).status_code == 202
    stored = list(Report.objects.values())
    typical_payload["appCount"] = "<5000"
    response = post_report(client, typical_payload)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "not_stored" and body["reason"] == "daily_limit_reached"
    assert body["report_date"] == stored[0]["report_date"].isoformat()
    assert "Retry-After" not in response
    assert list(Report.objects.values()) == stored
    other = dict(typical_payload, platformID="another0installation")
    assert post_report(client, other).status_code == 202


@override_settings(INGEST_GLOBAL_MAX_REPORTS_PER_MINUTE=2)
def test_the_global_ceiling_gets_429_with_retry_after(client, typical_payload):
    for index in range(2):
        payload = dict(typical_payload, platformID=f"fleet{index}")
        assert post_report(client, payload).status_code == 202
    response = post_report(client, dict(typical_payload, platformID="fleet9"))
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 61
    assert not Report.objects.filter(platform_id="fleet9").exists()


def test_no_rate_limit_key_contains_an_address(client, typical_payload, settings):
    post_report(
        client, typical_payload, REMOTE_ADDR="198.51.100.77", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    from django.core.cache import cache

    if settings.REDIS_URL:
        keys = [k.decode() for k in cache._cache.get_client().keys("*")]
    else:
        keys = list(cache._cache.keys())
    assert keys, "the global ceiling should have counted the report"
    for key in keys:
        assert "198.51.100.77" not in key
        assert "203.0.113.9" not in key
