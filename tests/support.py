"""Helpers shared by the test suite (the root conftest.py holds the fixtures)."""

import os
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures" / "velaux"
LOCAL_FIXTURES = ROOT / "tests" / "fixtures" / "velaux"


def require_service(name: str, available: bool) -> None:
    """Skip without the service; under REQUIRE_SERVICES=1 (CI) fail instead."""
    if available:
        return
    message = f"missing service: {name}"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(message)


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def velaux_fixture_paths() -> list[Path]:
    """The shared VelaUX payloads when present beside the project, else the local copy."""
    folder = SHARED_FIXTURES if SHARED_FIXTURES.is_dir() else LOCAL_FIXTURES
    return sorted(folder.glob("*.json"))


def published_policy_id() -> int:
    from ingest.selectors import policy_get_published

    return policy_get_published().pk
