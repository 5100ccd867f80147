"""Project-wide test set-up: the personas by role, fixtures and the real-services rule.

Tests that need PostgreSQL or Redis call ``require_service``: on a developer
machine without the service they are skipped; under REQUIRE_SERVICES=1 (CI) a
missing service fails the test instead. The run's summary says how many were
skipped so, and for which service, so that a skipped proof is never taken for a
passed one.
"""

import json
from collections import Counter
from importlib import import_module

import pytest
from django.conf import settings
from django.core.cache import cache

from tests.personas import persona_create
from tests.support import LOCAL_FIXTURES, MISSING_SERVICE, on_postgres, require_service
from tests.translations import catalogues_compile_stale


def pytest_configure(config):
    """The pages are read in their translations: compile any .po newer than its .mo."""
    try:
        catalogues_compile_stale()
    except RuntimeError as exc:
        raise pytest.UsageError(str(exc)) from exc


@pytest.fixture
def postgres():
    require_service("PostgreSQL (set DATABASE_URL)", on_postgres())


@pytest.fixture
def redis_cache():
    require_service("Redis (set REDIS_URL)", bool(settings.REDIS_URL))


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit windows, the policy cache and the report committer (with its database
    connection) must not leak from test to test."""
    from ingest import ratelimit
    from ingest.selectors import policy_cache_clear
    from ingest.services.group_commit import committer_stop

    cache.clear()
    ratelimit.reset()
    policy_cache_clear()
    yield
    committer_stop()
    policy_cache_clear()


@pytest.fixture
def typical_payload() -> dict:
    return json.loads((LOCAL_FIXTURES / "typical-chrome.json").read_text())


# --- personas (tests/personas.py), by role ------------------------------------------------


@pytest.fixture
def applicant(db):
    return persona_create("alice")


@pytest.fixture
def other_applicant(db):
    return persona_create("bob")


@pytest.fixture
def unverified(db):
    return persona_create("uma")


@pytest.fixture
def maintainer(db):
    return persona_create("maria")


@pytest.fixture
def auditor(db):
    return persona_create("audrey")


@pytest.fixture
def superuser(db):
    return persona_create("sam")


@pytest.fixture(autouse=True)
def _published_policy(request):
    """Tests that flush the database remove the migration-seeded policy; put it back."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(
        request.fixturenames
    )
    if not uses_db:
        return
    request.getfixturevalue("_django_db_helper")
    from ingest.models import PolicyElement, PolicyVersion

    if not PolicyVersion.objects.exists():
        seed = import_module("ingest.migrations.0002_seed_policy_v1")  # the frozen seed
        seed.seed_policy_v1(PolicyVersion, PolicyElement)


@pytest.fixture
def celery_eager():
    """Run Celery tasks in-process for this test, whatever REDIS_URL says."""
    from portal.celery import app

    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Personas log in by the hundred; a slow hash is the point in production only."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def export_media(settings, tmp_path):
    """Exports written to this test's own folder."""
    from django.core.files.storage import storages

    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "exports"},
        },
    }
    storages._storages = {}
    yield tmp_path
    storages._storages = {}


# --- the run's summary -------------------------------------------------------------------


def _missing_service(report) -> str | None:
    """The service a skipped test lacked, when require_service skipped it."""
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    if not reason.startswith(MISSING_SERVICE):
        return None
    return reason.removeprefix(MISSING_SERVICE).split(" (")[0]


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get("skipped", [])
    missing = Counter(filter(None, map(_missing_service, skipped)))
    if not terminalreporter.stats.get("passed") and not missing:
        return
    if not missing:
        terminalreporter.write_line("No test was skipped for a missing service.")
        return
    count = sum(missing.values())
    terminalreporter.write_sep(
        "!", f"{count} test{'s' * (count != 1)} skipped for a missing service", yellow=True
    )
    for service, number in missing.most_common():
        terminalreporter.write_line(f"  {number:4d}  {service}")
    terminalreporter.write_line(
        "They did not run, so what they prove is not shown by this run (see the README,"
        ' "What runs where"). REQUIRE_SERVICES=1 makes each of them fail instead.'
    )
