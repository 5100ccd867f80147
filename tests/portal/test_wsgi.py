"""The WSGI entry point: the receiver's lean stack keeps the rules that matter."""

import json

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import RequestFactory

from portal.wsgi import application, full_application, lean_application
from tests.support import LOCAL_FIXTURES

# A real WSGI handler opens and closes database connections per request, as in
# production, so these tests run outside a wrapping transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def _call(environ: dict) -> tuple[str, dict, bytes]:
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, {k.lower(): v for k, v in headers}

    body = b"".join(application(environ, start_response))
    return seen["status"], seen["headers"], body


def test_the_receiver_is_served_by_the_lean_handler_and_keeps_its_rules(monkeypatch):
    body = (LOCAL_FIXTURES / "typical-chrome.json").read_text()
    request = RequestFactory().post(
        "/collecting",
        body,
        content_type="application/json",
        HTTP_ORIGIN="https://ui.example",
        REMOTE_ADDR="198.51.100.77",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        SERVER_NAME="testserver",
    )
    original = type(lean_application).__call__
    used = []

    def spy(self, environ, start_response):
        used.append("lean")
        return original(self, environ, start_response)

    monkeypatch.setattr(type(lean_application), "__call__", spy)
    status, headers, answer = _call(request.environ)
    assert used == ["lean"]
    assert status.startswith("202")
    assert headers["access-control-allow-origin"] == "*"
    assert headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in headers
    assert json.loads(answer)["status"] == "accepted"


def test_pages_keep_the_full_stack(monkeypatch):
    request = RequestFactory().get("/", SERVER_NAME="testserver")
    handlers = {id(full_application): "full", id(lean_application): "lean"}
    original = WSGIHandler.__call__
    used = []

    def spy(self, environ, start_response):
        used.append(handlers[id(self)])
        return original(self, environ, start_response)

    monkeypatch.setattr(WSGIHandler, "__call__", spy)
    status, headers, _ = _call(request.environ)
    assert used == ["full"]
    assert status.startswith("200")
    assert "default-src 'self'" in headers["content-security-policy"]


def test_the_lean_stack_forgets_the_address_first():
    from django.conf import settings

    assert settings.LEAN_MIDDLEWARE[0] == "portal.middleware.ForgetClientAddressMiddleware"
