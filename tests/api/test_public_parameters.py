"""No query parameter of a public page, or of the token-authenticated data API, is a 5xx.

Beside the schemathesis run (which follows the OpenAPI schema), this property test does
not trust any schema: it walks every route of portal/urls.py but the admin, fills the
path's parameters, and sends query strings made of the parameters the views read and
invented ones, with the awkward values of issue 12 (finding 8): dates at the ends of the
calendar, digits that `str.isdigit()` passes and `int()` refuses, NUL and other controls,
invalid UTF-8, huge numbers. Every answer must be below 500; a 400 of the JSON API must
be a JSON error with a message. Run it on PostgreSQL, where a NUL reaches the server.
"""

import json
from datetime import timedelta
from urllib.parse import quote, urlencode

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access_requests import services
from ingest.dimensions import DIMENSIONS
from ingest.models import Report
from tests.access_requests.factories import file_request
from tests.ingest.factories import report_row
from tests.personas import persona_create
from tests.support import on_postgres, require_service

pytestmark = pytest.mark.django_db

PROPERTY = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# Regex routes of allauth, with paths of the shapes they accept.
REGEX_ROUTES = {
    "account_confirm_email": ["accounts/confirm-email/{text}/"],
    "account_reset_password_from_key": ["accounts/password/reset/key/1-{text}/"],
}
DATA_ROUTES = {"api-data-reports", "api-data-rollups", "api-export", "api-export-download"}
# The parameters the views read, and a few that tempt a framework (page, ordering, format).
READ_NAMES = ["range", "from", "to", "limit", "release", "cursor"]
PARAMETER_NAMES = [
    *READ_NAMES,
    *("dimension", "format", "p", "page", "o", "q", "next", "code", "state", "process", "e"),
]
AWKWARD = [
    *("", "\x00", "a\x00b", "%00", "²", "①", "٣", "-1", "0", "1", "1000", "1001"),
    *("9" * 30, "9" * 5000, "1e3", " 5", "5 ", "0x10", "NaN", "null", "[]", "{}"),
    *("0001-01-01", "0001-01-29", "0001-01-30", "9999-12-31", "9999-12-02", "2026-02-30"),
    *("20260101", "2026-W01-1", "+2026-01-01", "-2026-01-01", "2026-1-1", "10000-01-01"),
    *("30", "90", "365", "custom", "v1.9.4", "v1.9.4\x00", "x" * 300, "\u2028", "\ufeff"),
    *("'; SELECT 1; --", "<script>alert(1)</script>", "../../etc/passwd", "%", "%zz"),
]
awkward = st.sampled_from(AWKWARD)
values = st.one_of(
    awkward,
    awkward,
    st.dates().map(lambda day: day.isoformat()),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.text(max_size=24),
)
names = st.sampled_from(PARAMETER_NAMES) | st.text(min_size=1, max_size=12)
# What each parameter a view reads is most likely to trip on, and anything else.
EDGES = {
    "range": ["30", "90", "365", "custom", "custom", "custom", "0", "366"],
    "from": ["0001-01-01", "0001-01-29", "0001-01-30", "9999-12-31", "2026-02-30", "10000-01-01"],
    "limit": ["²", "①", "٣", "0", "1", "1000", "1001", "-1", " 5", "9" * 5000],
    "release": ["v1.9.4", "\x00", "v1.9.4\x00", "", "x" * 65, "v1.9.4/git"],
    "cursor": ["", "\x00", "e30", "W10:1:x", "1" * 300],
}
EDGES["to"] = EDGES["from"]
by_name = {name: st.one_of(*[st.sampled_from(EDGES[name])] * 2, values) for name in READ_NAMES}
# Each parameter a view reads present or not, then a few more (repeated names too).
read = st.fixed_dictionaries({}, optional=by_name)
more = st.lists(st.tuples(names, values), max_size=3)
encoded = st.tuples(read, more).map(lambda parts: urlencode([*parts[0].items(), *parts[1]]))
# Raw bytes, percent-encoded: invalid UTF-8 and NUL as the server receives them.
raw_bytes = st.binary(max_size=24).map(lambda b: "".join(f"%{byte:02X}" for byte in b))
raw_pair = st.tuples(st.sampled_from(PARAMETER_NAMES), raw_bytes).map(lambda p: f"{p[0]}={p[1]}")
query_strings = st.one_of(encoded, encoded, st.tuples(encoded, raw_pair).map("&".join))
path_text = st.one_of(
    st.sampled_from([*DIMENSIONS, "release_minor-daily", "clientIP", "", "%00"]),
    st.text(min_size=1, max_size=16),
).map(lambda text: quote(text, safe="%"))
dimensions_mostly = st.one_of(st.sampled_from([*DIMENSIONS, "release_minor-daily"]), path_text)
path_ints = st.one_of(st.sampled_from([0, 1, 2**31, 2**63]), st.integers(0, 10**6))


def _routes() -> list[tuple[str, str]]:
    """(route, name) of every URL pattern but the admin's."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern.name

    return list(walk(get_resolver().url_patterns))


def _templates(*, data: bool) -> list[str]:
    """Path templates with {int} and {text} holes: the data API's, or every other route."""
    templates = []
    for route, name in _routes():
        if route.startswith("admin/") or (name in DATA_ROUTES) != data:
            continue
        if name in REGEX_ROUTES:
            templates += REGEX_ROUTES[name]
            continue
        assert "^" not in route, f"a regex route to fill in REGEX_ROUTES: {route} ({name})"
        for converter, hole in (("int", "{int}"), ("str", "{text}"), ("slug", "{text}")):
            while f"<{converter}:" in route:
                start = route.index(f"<{converter}:")
                route = route[:start] + hole + route[route.index(">", start) + 1 :]
        assert "<" not in route, f"a path converter to fill in: {route} ({name})"
        templates.append(route)
    return sorted(set(templates))


PUBLIC_TEMPLATES = _templates(data=False)
DATA_TEMPLATES = _templates(data=True)
# The pages that read query parameters get every query; one other route is drawn beside.
READING_PATHS = ["/stats/", "/stats/release.csv", "/stats/release_minor-daily.csv"]
READING_PATHS += ["/api/v1/stats/release", "/api/v1/stats/addon"]
DATA_READING_PATHS = ["/api/v1/data/reports", "/api/v1/data/rollups/addon"]


def test_every_public_route_is_walked():
    """The walk reaches the surfaces the issue names (so it follows portal/urls.py)."""
    for template in (
        "",
        "policy/",
        "stats/",
        "stats/{text}.csv",
        "access/register/",
        "accounts/login/",
        "accounts/signup/",
        "accounts/password/reset/",
        "api/v1/policy",
        "api/v1/stats/",
        "api/v1/stats/{text}",
        "api/v1/installations/{text}",
        "collecting",
    ):
        assert template in PUBLIC_TEMPLATES
    assert DATA_TEMPLATES == [
        "api/v1/data/reports",
        "api/v1/data/rollups/{text}",
        "api/v1/exports/{int}",
        "api/v1/exports/{int}/download",
    ]


@pytest.fixture
def fleet(settings):
    """A few installations over ten days, rolled up and released: pages with figures."""
    settings.ALLOWED_HOSTS = ["testserver"]
    today = timezone.now().date()
    Report.objects.bulk_create(
        report_row(
            f"fleet-{n:02d}",
            today - timedelta(days=offset),
            release=["v1.9.4", "v1.10.0"][n % 2],
            addons={"fluxcd": "enabled"},
        )
        for n in range(12)
        for offset in range(1, 11)
    )
    call_command("rollup", f"--from={today - timedelta(days=10)}", f"--to={today}", verbosity=0)
    return today


@pytest.fixture
def token(fleet):
    """A grantee's read token over the fleet's days, with the version element."""
    applicant = persona_create("gina")
    maintainer = persona_create("maria")
    request = file_request(
        applicant,
        elements=["platformID", "requestTime", "version", "enableAddonList"],
        period_start=fleet - timedelta(days=10),
        period_end=fleet,
    )
    grant = services.access_request_approve(request=request, reviewer=maintainer)
    token, secret = services.token_mint(grant=grant, user=applicant, name="property")
    return token, secret


def _fill(template: str, data, text=path_text) -> str:
    path = template.replace("{int}", str(data.draw(path_ints)))
    while "{text}" in path:
        path = path.replace("{text}", data.draw(text) or "x", 1)
    return "/" + path


def _assert_no_server_error(response, path: str) -> None:
    assert response.status_code < 500, (path, response.status_code)
    if response.status_code == 400 and path.startswith("/api/"):
        body = json.loads(response.content)
        assert isinstance(body, dict) and body, body  # a JSON error that says something


@pytest.mark.slow
@PROPERTY
@given(data=st.data())
def test_no_public_page_answers_a_server_error(fleet, data):
    require_service("PostgreSQL (set DATABASE_URL)", on_postgres())
    query = data.draw(query_strings)
    drawn = _fill(data.draw(st.sampled_from(PUBLIC_TEMPLATES)), data, dimensions_mostly)
    for path in [*READING_PATHS, drawn]:
        _assert_no_server_error(Client().get(f"{path}?{query}"), path)


AUTHORIZATION = st.one_of(
    st.just("valid"),
    st.just("valid"),
    st.just("valid"),
    st.sampled_from(["", "Bearer", "Bearer \x00", "Basic Zm9vOmJhcg==", "Bearer kvt_\u00b2"]),
    # A server hands a header over as its bytes read as latin-1 (PEP 3333), never more.
    st.binary(max_size=40).map(lambda raw: f"Bearer {raw.decode('latin-1')}"),
)


@pytest.mark.slow
@PROPERTY
@given(data=st.data())
def test_no_token_parameter_answers_a_server_error(token, data):
    require_service("PostgreSQL (set DATABASE_URL)", on_postgres())
    read_token, secret = token
    cache.delete(f"throttle_data_token_token-{read_token.pk}")  # stay under DATA_API_RATE
    query = data.draw(query_strings)
    authorization = data.draw(AUTHORIZATION)
    authorization = f"Bearer {secret}" if authorization == "valid" else authorization
    drawn = _fill(data.draw(st.sampled_from(DATA_TEMPLATES)), data, dimensions_mostly)
    for path in [*DATA_READING_PATHS, drawn]:
        response = Client().get(f"{path}?{query}", HTTP_AUTHORIZATION=authorization)
        _assert_no_server_error(response, path)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/stats/release", {"to": "0001-01-01"}),
        ("/api/v1/stats/release", {"from": "9999-12-31"}),
        ("/stats/", {"range": "custom", "to": "0001-01-01"}),
        ("/stats/release.csv", {"range": "custom", "to": "0001-01-01"}),
    ],
)
def test_ranges_past_the_calendar_are_a_clear_400(client, path, params):
    response = client.get(path, params)
    assert response.status_code == 400
    assert "29 days before" in response.content.decode() or "after" in response.content.decode()


def test_a_one_day_range_on_the_last_day_of_the_calendar_renders(client):
    params = {"range": "custom", "from": "9999-12-31", "to": "9999-12-31"}
    assert client.get("/stats/", params).status_code == 200  # the chart ran past 9999-12-31


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "²"}, "'limit' must be a whole number"),
        ({"limit": "①"}, "'limit' must be a whole number"),
        ({"limit": "9" * 5000}, "'limit' must be a whole number"),
        ({"release": "\x00"}, "'release' must be"),
        ({"release": "v1.9.4\x00"}, "'release' must be"),
    ],
)
@pytest.mark.slow  # the token fixture loads and rolls up a fleet
def test_token_parameters_that_int_or_postgresql_refuse_are_a_clear_400(token, params, message):
    _, secret = token
    response = Client().get("/api/v1/data/reports", params, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 400
    assert message in json.dumps(response.json())


@pytest.mark.slow  # the token fixture loads and rolls up a fleet
def test_a_nul_in_any_parameter_of_a_data_read_is_audited_not_a_500(token):
    from portal.models import AuditEvent

    _, secret = token
    response = Client().get(
        "/api/v1/data/rollups/addon", {"junk": "a\x00b"}, HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 200
    event = AuditEvent.objects.filter(action="data.read").latest("id")
    assert event.details["parameters"] == {"junk": "a\ufffdb"}
