"""portal/settings.py, started in a process of its own: a mistake stops it, naming the variable."""

import os
import subprocess
import sys

import pytest

from tests.support import ROOT

# Every test here starts Django in a process of its own.
pytestmark = pytest.mark.slow


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
