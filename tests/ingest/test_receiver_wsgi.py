"""The receiver's WSGI application answers as the Django stack does, byte for byte.

ingest.receiver serves the receiver's POSTs without Django's handler. Each case here
sends the same request to it and to the lean Django handler it replaces (built under
the same settings), with the database put back in between, and compares the status
line, the headers, the body and what was logged under ``django.request``.
"""

import io
import json
import logging

import pytest
from django.core.cache import cache
from django.test import override_settings

from ingest import ratelimit
from ingest.models import PolicyVersion, Report
from ingest.receiver import ReceiverApplication
from ingest.selectors import policy_cache_clear
from portal.middleware import UNKNOWN_ADDRESS
from portal.wsgi import LeanHandler
from tests.support import LOCAL_FIXTURES

# Real WSGI handlers open and close connections per request, as in production.
pytestmark = pytest.mark.django_db(transaction=True)
BODY = (LOCAL_FIXTURES / "typical-chrome.json").read_bytes()
ORIGIN = "https://velaux.example.com:8000"


def environ(body: bytes = BODY, *, method: str = "POST", path: str = "/collecting", **extra):
    values = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "198.51.100.77",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    values.update(extra)
    return {key: value for key, value in values.items() if value is not None}


def answer(application, values: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, headers

    result = application(values, start_response)
    try:
        body = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    headers = sorted((name.lower(), value) for name, value in seen["headers"])
    return seen["status"], headers, body


class Pair:
    """The fast application and the lean handler, built under the same settings."""

    def __init__(self):
        self.django = LeanHandler()
        self.handed_on = 0

        def fallback(values, start_response):
            self.handed_on += 1
            return self.django(values, start_response)

        self.fast = ReceiverApplication(fallback=fallback)


def both(pair: Pair, caplog, make_environ, *, requests_before: int = 0, reset=None):
    """Send make_environ() to each side, from the same database state; both answers."""
    answers = []
    for side in (pair.fast, pair.django):
        Report.objects.all().delete()
        cache.clear()  # the global ceiling's shared counter
        ratelimit.reset()
        policy_cache_clear()
        if reset:
            reset()
        for _ in range(requests_before):
            answer(side, make_environ())
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="django.request"):
            got = answer(side, make_environ())
        logged = [
            (r.levelname, r.getMessage()) for r in caplog.records if r.name == "django.request"
        ]
        answers.append((*got, logged, Report.objects.count()))
    return answers


CASES = {
    "new report, with an Origin": dict(HTTP_ORIGIN=ORIGIN),
    "new report, no Origin": {},
    "new report, empty Origin": dict(HTTP_ORIGIN=""),
    "new report, unparsable Origin": dict(HTTP_ORIGIN="http://[::1"),
    "the twin path": dict(PATH_INFO="/api/v1/reports", HTTP_ORIGIN=ORIGIN),
    "JSON with a charset": dict(CONTENT_TYPE="application/json; charset=utf-8"),
    "a proxy's address headers": dict(
        HTTP_X_FORWARDED_FOR="203.0.113.9", HTTP_X_REAL_IP="203.0.113.9", HTTP_ORIGIN=ORIGIN
    ),
}
REFUSALS = {
    "malformed JSON": (b"{bad", {}),
    "not an object": (b"[1, 2]", {}),
    "an invalid field": (json.dumps({"platformID": "x" * 200}).encode(), {}),
    "text/plain": (BODY, dict(CONTENT_TYPE="text/plain")),
    "no Content-Type": (BODY, dict(CONTENT_TYPE=None)),
    "declared too large": (BODY, dict(CONTENT_LENGTH=str(10 * 1024 * 1024))),
    "Content-Length not a number": (BODY, dict(CONTENT_LENGTH="abc")),
    "no Content-Length (chunked)": (BODY, dict(CONTENT_LENGTH=None)),
    "body shorter than declared": (BODY[:40], dict(CONTENT_LENGTH=str(len(BODY)))),
}


@pytest.mark.parametrize("extra", CASES.values(), ids=CASES.keys())
def test_an_accepted_report_gets_the_same_answer(caplog, extra):
    pair = Pair()
    fast, django = both(pair, caplog, lambda: environ(**extra))
    assert fast == django
    assert fast[0] == "202 Accepted"
    assert fast[4] == 1  # stored
    assert pair.handed_on == 0  # answered by the fast path itself


def test_a_replaced_report_and_the_daily_limit_get_the_same_answers(caplog):
    pair = Pair()
    replaced = both(pair, caplog, lambda: environ(HTTP_ORIGIN=ORIGIN), requests_before=1)
    assert replaced[0] == replaced[1]
    assert json.loads(replaced[0][2])["report"] == "replaced"
    with override_settings(INGEST_MAX_REPORTS_PER_INSTALLATION_PER_DAY=1):
        limited = both(pair, caplog, lambda: environ(HTTP_ORIGIN=ORIGIN), requests_before=1)
    assert limited[0] == limited[1]
    assert limited[0][0] == "200 OK"
    assert json.loads(limited[0][2])["status"] == "not_stored"
    assert pair.handed_on == 0


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refused_report_gets_the_same_answer_and_warning(caplog, case):
    body, extra = case
    pair = Pair()
    fast, django = both(pair, caplog, lambda: environ(body, HTTP_ORIGIN=ORIGIN, **extra))
    assert fast == django
    assert fast[0].startswith("4")
    assert fast[3] and fast[3][0][0] == "WARNING"  # Django's "Bad Request: /collecting"
    assert fast[4] == 0
    assert pair.handed_on == 0


def test_no_published_policy_and_the_global_ceiling_get_the_same_answers(caplog):
    pair = Pair()

    def unpublish():
        PolicyVersion.objects.update(status=PolicyVersion.Status.DRAFT)

    try:
        unpublished = both(pair, caplog, lambda: environ(HTTP_ORIGIN=ORIGIN), reset=unpublish)
    finally:
        PolicyVersion.objects.filter(number=1).update(status=PolicyVersion.Status.PUBLISHED)
    assert unpublished[0] == unpublished[1]
    assert unpublished[0][0].startswith("503")
    assert ("retry-after", "60") in unpublished[0][1]
    assert unpublished[0][3][0][0] == "ERROR"
    with override_settings(INGEST_GLOBAL_MAX_REPORTS_PER_MINUTE=1, INGEST_CEILING_BATCH=1):
        ceiling = both(pair, caplog, lambda: environ(HTTP_ORIGIN=ORIGIN), requests_before=1)
    fast, django = ceiling
    assert fast[0] == django[0] == "429 Too Many Requests"
    # Retry-After counts the seconds left in the minute: read a moment apart, it may differ
    # by one; everything else is the same.
    assert [h for h in fast[1] if h[0] != "retry-after"] == [
        h for h in django[1] if h[0] != "retry-after"
    ]
    assert fast[2:] == django[2:]
    assert pair.handed_on == 0


@override_settings(
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=3600,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SECURE_HSTS_PRELOAD=True,
    ALLOWED_HOSTS=["telemetry.example.org"],
)
def test_https_settings_give_the_same_answers(caplog):
    pair = Pair()
    secure = dict(HTTP_HOST="telemetry.example.org", HTTP_X_FORWARDED_PROTO="https")
    fast, django = both(pair, caplog, lambda: environ(HTTP_ORIGIN=ORIGIN, **secure))
    assert fast == django
    assert ("strict-transport-security", "max-age=3600; includeSubDomains; preload") in fast[1]
    assert pair.handed_on == 0
    plain = dict(HTTP_HOST="telemetry.example.org", HTTP_X_FORWARDED_PROTO="http")
    fast, django = both(pair, caplog, lambda: environ(**plain))
    assert fast == django
    assert fast[0].startswith("301")  # to HTTPS, by Django's SecurityMiddleware
    assert pair.handed_on == 1
    unknown = dict(HTTP_HOST="evil.example", HTTP_X_FORWARDED_PROTO="https")
    fast, django = both(pair, caplog, lambda: environ(**unknown))
    assert fast == django
    assert fast[0].startswith("400")  # DisallowedHost, from Django
    assert fast[4] == 0
    assert pair.handed_on == 2


PASSED_ON = {
    "CORS preflight": dict(
        method="OPTIONS",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    ),
    "plain OPTIONS": dict(method="OPTIONS"),
    "GET": dict(method="GET", HTTP_ORIGIN=ORIGIN),
    "no Host header": dict(HTTP_HOST=None),
}


@pytest.mark.parametrize("extra", PASSED_ON.values(), ids=PASSED_ON.keys())
def test_other_requests_are_handed_to_the_django_stack(caplog, extra):
    pair = Pair()
    fast, django = both(pair, caplog, lambda: environ(**extra))
    assert fast == django
    assert pair.handed_on == 1


def test_the_address_is_forgotten_before_anything_reads_it(caplog):
    """On both branches, no address reaches the view, the logs or the WSGI environ."""
    pair = Pair()
    for extra in ({}, dict(method="GET")):
        values = environ(HTTP_X_FORWARDED_FOR="203.0.113.9", HTTP_FORWARDED="for=203.0.113.9")
        values.update(REQUEST_METHOD=extra.get("method", "POST"))
        with caplog.at_level(logging.DEBUG):
            answer(pair.fast, values)
        assert values["REMOTE_ADDR"] == UNKNOWN_ADDRESS
        assert "HTTP_X_FORWARDED_FOR" not in values and "HTTP_FORWARDED" not in values
        assert "198.51.100.77" not in caplog.text and "203.0.113.9" not in caplog.text


def test_an_unexpected_error_is_logged_and_answered_500_in_json(caplog, monkeypatch):
    pair = Pair()

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("ingest.views.parse_report", broken)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        status, headers, body = answer(pair.fast, environ(HTTP_ORIGIN=ORIGIN))
    assert status == "500 Internal Server Error"
    assert json.loads(body)["error"] == "internal_error"
    assert ("access-control-allow-origin", "*") in headers
    assert "Internal Server Error: /collecting" in caplog.text
    assert "RuntimeError: boom" in caplog.text
    assert Report.objects.count() == 0


def test_a_cors_setting_it_does_not_model_sends_every_request_to_django(caplog):
    with override_settings(CORS_ALLOW_ALL_ORIGINS=False, CORS_ALLOWED_ORIGINS=[ORIGIN]):
        pair = Pair()
        fast, django = both(pair, caplog, lambda: environ(HTTP_ORIGIN=ORIGIN))
    assert fast == django
    assert pair.handed_on == 1


def test_production_routes_the_receivers_posts_to_it():
    from portal import wsgi

    assert isinstance(wsgi.receiver_application, ReceiverApplication)
    assert wsgi.receiver_application.fallback is wsgi.lean_application
    assert {"/collecting", "/api/v1/reports"} == wsgi.RECEIVER_PATHS
    status, _, body = answer(wsgi.application, environ(HTTP_ORIGIN=ORIGIN))
    assert status == "202 Accepted"
    assert json.loads(body)["status"] == "accepted"
