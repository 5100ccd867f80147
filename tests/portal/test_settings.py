import logging
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import envbool, envint, envlist, envstr
from portal.logging import RedactAddressesFilter, redact_addresses
from tests.support import ROOT


def test_envbool_reads_the_usual_spellings(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert envbool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "0")
    assert envbool("FLAG", True) is False
    monkeypatch.delenv("FLAG")
    assert envbool("FLAG", True) is True


@pytest.mark.parametrize(("reader", "value"), [(envbool, "maybe"), (envint, "ten")])
def test_a_bad_value_fails_loudly_naming_the_variable(monkeypatch, reader, value):
    monkeypatch.setenv("SETTING_UNDER_TEST", value)
    with pytest.raises(ImproperlyConfigured, match="SETTING_UNDER_TEST"):
        reader("SETTING_UNDER_TEST", 1)


def test_envint_enforces_its_minimum(monkeypatch):
    monkeypatch.setenv("DAYS", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        envint("DAYS", 365, minimum=1)


def test_secrets_can_come_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("TOKEN_FILE", str(secret))
    assert envstr("TOKEN") == "from-a-file"


def test_envlist_splits_on_commas(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example,,")
    assert envlist("HOSTS", []) == ["a.example", "b.example"]


def _start_django(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0"}, "SECRET_KEY is required"),
        ({"DEBUG": "perhaps", "SECRET_KEY": "x"}, "DEBUG='perhaps' is not a boolean"),
        ({"SECRET_KEY": "x", "DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"SECRET_KEY": "x", "REPORT_RETENTION_DAYS": "a year"}, "REPORT_RETENTION_DAYS"),
        ({"SECRET_KEY": "x", "EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "not both"),
    ],
)
def test_bad_configuration_stops_the_process(env, message):
    result = _start_django(DJANGO_SETTINGS_MODULE="portal.settings", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_debug_runs_without_a_secret_key_and_says_it_is_the_development_default():
    result = _start_django(DJANGO_SETTINGS_MODULE="portal.settings", DEBUG="1", REDIS_URL="")
    assert result.returncode == 0, result.stderr
    assert "REDIS_URL is not set: Celery tasks run in-process" in result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Invalid request from ip=198.51.100.77: bad line", "from ip=[address]: bad line"),
        ("peer 2001:db8::1 closed", "peer [address] closed"),
        ("peer ::1 closed", "peer [address] closed"),
        ("fe80:0:0:0:202:b3ff:fe1e:8329 said hi", "[address] said hi"),
        (
            '"DELETE /api/v1/installations/abc123 HTTP/1.1" 204',
            '"DELETE /api/v1/installations/[platformID] HTTP/1.1" 204',
        ),
        ("at 10:31:39 all went well", "at 10:31:39 all went well"),
        ("release v1.9.4 of chrome124.0.0.0", "release v1.9.4 of chrome124.0.0.0"),
    ],
)
def test_log_redaction(text, expected):
    assert expected in redact_addresses(text)


def test_the_filter_redacts_formatted_arguments_and_tracebacks():
    try:
        raise ValueError("connect to 203.0.113.9 failed")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "from %s", ("198.51.100.77",), sys.exc_info()
        )
    RedactAddressesFilter().filter(record)
    assert record.getMessage() == "from [address]"
    assert "203.0.113.9" not in record.exc_text


def test_the_middleware_forgets_every_address(rf):
    from portal.middleware import ForgetClientAddressMiddleware

    seen = {}

    def view(request):
        seen.update(request.META)
        from django.http import HttpResponse

        return HttpResponse()

    request = rf.get(
        "/",
        REMOTE_ADDR="198.51.100.77",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        HTTP_X_REAL_IP="203.0.113.9",
        HTTP_FORWARDED="for=203.0.113.9",
    )
    ForgetClientAddressMiddleware(view)(request)
    assert "198.51.100.77" not in str(seen)
    assert "203.0.113.9" not in str(seen)


def test_healthz_answers_without_touching_the_database(client):
    """No django_db mark: any query here would raise."""
    response = client.get("/healthz")
    assert response.json() == {"status": "ok"}


def test_system_checks_warn_about_the_embedded_defaults_in_production(settings, monkeypatch):
    from portal.checks import check_embedded_defaults

    settings.DEBUG = False
    settings.REDIS_URL = ""
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", "django.db.backends.sqlite3")
    ids = {problem.id for problem in check_embedded_defaults(None)}
    assert ids == {"portal.W001", "portal.W002"}


@pytest.mark.django_db
def test_readyz_checks_the_database_and_redis(client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"
    if settings.REDIS_URL:
        assert response.json()["checks"]["redis"] == "ok"


@pytest.mark.django_db
def test_readyz_fails_when_the_database_does_not_answer(client, monkeypatch):
    from portal import views

    monkeypatch.setattr(views, "_database_ready", lambda: False)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "failing"}} or (
        response.json()["checks"]["database"] == "failing"
    )
    assert response["Retry-After"] == "10"


def test_the_smtp_relay_comes_from_the_environment(tmp_path):
    password = tmp_path / "smtp-password"
    password.write_text("relay-secret\n")
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, s.EMAIL_HOST_PASSWORD, "
        "s.EMAIL_USE_TLS)"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        SECRET_KEY="x",
        EMAIL_HOST="smtp.example.org",
        EMAIL_PORT="587",
        EMAIL_HOST_USER="portal",
        EMAIL_HOST_PASSWORD_FILE=str(password),
        EMAIL_USE_TLS="1",
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["smtp.example.org", "587", "portal", "relay-secret", "True"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "json_body"),
    [("/", False), ("/stats/", False), ("/access/register/", False), ("/api/v1/policy", True)],
)
def test_a_lost_database_connection_is_a_503_with_retry_after_not_a_500(
    client, monkeypatch, path, json_body
):
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    def broken(self, *args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    client.get("/healthz")  # the client is set up before the database goes away
    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    if json_body:
        assert response.json()["error"] == "database_unavailable"
    else:
        assert "Temporarily unavailable" in response.content.decode()
