"""The production profile (deploy/production.env): `check --deploy` is clean and the
responses carry the transport and browser protections it promises."""

import json
import os
import secrets
import subprocess
import sys

import pytest

from tests.support import ROOT

PROFILE = ROOT / "deploy" / "production.env"
pytestmark = pytest.mark.slow


def profile_env(**overrides: str) -> dict[str, str]:
    """The process environment a production unit gets: the profile file over a clean base."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    for line in PROFILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    env["SECRET_KEY"] = secrets.token_urlsafe(64)
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_profile_passes_check_deploy_with_no_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=profile_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_does_fail_without_the_profile():
    """The check above can fail: plain DEBUG=0 with no HTTPS settings is refused."""
    env = profile_env(HTTPS="0", HSTS_SECONDS="0", HSTS_PRELOAD="0")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in result.stderr + result.stdout


PROBE = r"""
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from allauth.account.models import EmailAddress
from django.test import Client

user = get_user_model().objects.create_user("pat", "pat@example.org", "a-long-password-for-pat")
EmailAddress.objects.create(user=user, email="pat@example.org", verified=True, primary=True)
host = "telemetry.kubevela.net"
https = Client(HTTP_HOST=host, HTTP_X_FORWARDED_PROTO="https")
plain = Client(HTTP_HOST=host)

def headers(response):
    return {k.lower(): v for k, v in response.items()}

def cookies(response):
    return {name: {"secure": bool(m["secure"]), "httponly": bool(m["httponly"]),
                   "samesite": m["samesite"]} for name, m in response.cookies.items()}

home = https.get("/")
plain_home = plain.get("/")
login_page = https.get("/accounts/login/")
signed_in = https.post("/accounts/login/", {"login": "pat@example.org",
                                             "password": "a-long-password-for-pat"})
print(json.dumps({
    "home": {"status": home.status_code, "headers": headers(home)},
    "login_page": {"status": login_page.status_code, "cookies": cookies(login_page)},
    "signed_in": {"status": signed_in.status_code, "cookies": cookies(signed_in)},
    "plain_home": {"status": plain_home.status_code, "location": plain_home.get("Location")},
    "plain_healthz": plain.get("/healthz").status_code,
}))
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    database = tmp_path_factory.mktemp("profile") / "db.sqlite3"
    # Static files are served from the source folders: collectstatic is not under test.
    env = profile_env(
        DATABASE_URL=f"sqlite:///{database}",
        REDIS_URL="",
        CACHE_URL="",
        LOG_LEVEL="ERROR",
        STATIC_MANIFEST="0",
    )
    env["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_pages_carry_hsts_csp_and_the_browser_protections(probe):
    home = probe["home"]
    assert home["status"] == 200
    headers = home["headers"]
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    csp = headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cross-origin-opener-policy"] == "same-origin"


def test_cookies_are_secure_and_the_session_cookie_is_http_only(probe):
    csrf = probe["login_page"]["cookies"]["csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax"
    assert probe["signed_in"]["status"] == 302
    session = probe["signed_in"]["cookies"]["sessionid"]
    assert session == {"secure": True, "httponly": True, "samesite": "Lax"}


def test_plain_http_is_redirected_except_the_health_checks(probe):
    assert probe["plain_home"]["status"] == 301
    assert probe["plain_home"]["location"] == "https://telemetry.kubevela.net/"
    assert probe["plain_healthz"] == 200
