"""Project-wide test set-up: personas, fixtures and the real-services rule.

Tests that need PostgreSQL or Redis call ``require_service``: on a developer
machine without the service they are skipped; under REQUIRE_SERVICES=1 (CI) a
missing service fails the test instead.
"""

import json
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

ROOT = Path(__file__).resolve().parent
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures" / "velaux"
LOCAL_FIXTURES = ROOT / "tests" / "fixtures" / "velaux"


def require_service(name: str, available: bool) -> None:
    if available:
        return
    message = f"missing service: {name}"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(message)


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


@pytest.fixture
def postgres():
    require_service("PostgreSQL (set DATABASE_URL)", on_postgres())


@pytest.fixture
def redis_cache():
    require_service("Redis (set REDIS_URL)", bool(settings.REDIS_URL))


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit windows and the policy cache must not leak from test to test."""
    from ingest.selectors import policy_cache_clear

    cache.clear()
    policy_cache_clear()
    yield
    policy_cache_clear()


def velaux_fixture_paths() -> list[Path]:
    """The shared VelaUX payloads when present beside the project, else the local copy."""
    folder = SHARED_FIXTURES if SHARED_FIXTURES.is_dir() else LOCAL_FIXTURES
    return sorted(folder.glob("*.json"))


@pytest.fixture
def typical_payload() -> dict:
    return json.loads((LOCAL_FIXTURES / "typical-chrome.json").read_text())


# --- personas -------------------------------------------------------------------------


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_user(
        "root", "root@example.org", "root-password", is_staff=True, is_superuser=True
    )


@pytest.fixture
def outsider(django_user_model):
    return django_user_model.objects.create_user("outsider", "outsider@example.org", "pw-outsider")


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
    from ingest.review_policy import seed_policy_v1

    if not PolicyVersion.objects.exists():
        seed_policy_v1(PolicyVersion, PolicyElement)
