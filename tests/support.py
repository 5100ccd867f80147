"""Helpers shared by the test suite (the root conftest.py holds the fixtures)."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
LOCAL_FIXTURES = ROOT / "tests" / "fixtures" / "velaux"
QUIRK_FIXTURES = ROOT / "tests" / "fixtures" / "velaux-quirks"


MISSING_SERVICE = "missing service: "  # how require_service's skips begin (see conftest.py)


def require_service(name: str, available: bool) -> None:
    """Skip without the service; under REQUIRE_SERVICES=1 (CI) fail instead."""
    if available:
        return
    message = f"{MISSING_SERVICE}{name}"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(message)


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def velaux_fixture_paths() -> list[Path]:
    """The VelaUX payloads kept with the tests, one file per client shape."""
    return sorted(LOCAL_FIXTURES.glob("*.json"))


def quirk_fixture(name: str) -> dict:
    """One of the payloads in tests/fixtures/velaux-quirks/, parsed."""
    return json.loads((QUIRK_FIXTURES / name).read_text())


def published_policy_id() -> int:
    from ingest.selectors import policy_get_published

    return policy_get_published().pk


def pg_dump() -> str:
    """The test database's data as pg_dump writes it (PostgreSQL only)."""
    db = settings.DATABASES["default"]
    command = [
        "pg_dump",
        "--data-only",
        "--no-owner",
        "-h",
        db["HOST"] or "127.0.0.1",
        "-p",
        str(db["PORT"] or 5432),
        "-U",
        db["USER"] or "postgres",
        db["NAME"],
    ]
    env = dict(os.environ, PGPASSWORD=db.get("PASSWORD") or "")
    return subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout


def database_dump() -> str:
    """Everything the test database holds, as text: pg_dump, or SQLite's own dump."""
    from django.db import connection

    if on_postgres():
        return pg_dump()
    return "\n".join(connection.connection.iterdump())
