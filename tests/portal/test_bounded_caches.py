"""The caches stay bounded, and a full Redis costs a cache miss, never an error page.

Issue 12, finding 5: the /stats/ cache key held the raw query string, so `?range=365&
junk=N` rendered cold and stored a new ~80 KB page each time; on a small Redis shared
with the broker under noeviction, its out-of-memory error then made pages answer 500.
"""

import json
import logging
import os
import shutil
import subprocess
import sys
from datetime import timedelta

import pytest
import redis
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from redis.exceptions import OutOfMemoryError

from ingest import pages
from portal import views
from portal.cache import ResilientRedisCache
from tests.access_requests.factories import UserFactory
from tests.ingest.helpers import post_report
from tests.servers import RedisServer, free_port, wait_for_port
from tests.support import ROOT, require_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def renders(monkeypatch) -> list[dict]:
    """One entry per cold render of the figures (one adoption series each)."""
    calls: list[dict] = []
    original = pages.stats_shown_series

    def counted(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(pages, "stats_shown_series", counted)
    return calls


@pytest.fixture
def stored_pages(monkeypatch) -> list[str]:
    """The keys of the statistics pages written to the cache."""
    keys: list[str] = []

    class Recording:
        def __getattr__(self, name):
            return getattr(cache, name)

        def set(self, key, *args, **kwargs):
            if key.startswith("stats-html:"):
                keys.append(key)
            return cache.set(key, *args, **kwargs)

    monkeypatch.setattr(pages, "cache", Recording())
    return keys


def test_invented_parameters_reuse_the_one_cached_page(client, renders, stored_pages):
    today = timezone.now().date()
    same_range = [{"range": "365", "junk": str(n)} for n in range(5)]
    same_range += [{"range": "365"}, {"range": "365", "range ": "x", "utm_source": "y"}]
    same_range.append({"range": "custom", "from": today - timedelta(days=364), "to": today})
    for params in same_range:
        response = client.get("/stats/", params)
        assert response.status_code == 200
        page = response.content.decode()
        assert "junk" not in page and "utm_source" not in page  # the query is not echoed
    assert len(renders) == 1
    assert len(stored_pages) == 1
    csv_link = f"?range=custom&amp;from={today - timedelta(days=364)}&amp;to={today}"
    assert csv_link in page  # the links come from the parsed range


def test_custom_ranges_render_but_store_nothing(client, renders, stored_pages):
    for first in range(1, 6):
        params = {"range": "custom", "from": f"2025-01-0{first}", "to": "2025-02-01"}
        assert client.get("/stats/", params).status_code == 200
    assert len(renders) == 5
    assert stored_pages == []
    for preset in ("30", "90", "365", "30"):
        assert client.get("/stats/", {"range": preset}).status_code == 200
    assert len(stored_pages) == 3  # the presets only: three pages per release state


# --- a full Redis --------------------------------------------------------------------


@pytest.fixture
def full_redis(settings):
    """A private redis-server past its maxmemory under noeviction: it refuses every write
    ("OOM command not allowed when used memory > 'maxmemory'") and still answers reads."""
    require_service("redis-server", shutil.which("redis-server") is not None)
    server = RedisServer(options=("--maxmemory-policy", "noeviction"))
    server.start()
    try:
        raw = redis.Redis.from_url(server.url)
        raw.set("filler", b"x" * 512 * 1024)
        raw.config_set("maxmemory", 1)  # bytes: below any use, so it stays full
        with pytest.raises(OutOfMemoryError):
            raw.set("probe", "refused")
        settings.CACHES = {
            "default": {
                "BACKEND": "portal.cache.ResilientRedisCache",
                "LOCATION": server.url,
                "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
            }
        }
        settings.CACHE_URL = server.url
        ResilientRedisCache._full_warned_at = 0.0
        yield raw
    finally:
        ResilientRedisCache._full_warned_at = 0.0
        server.stop()


def test_a_full_redis_drops_writes_and_misses(full_redis, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.cache"):
        cache.set("page", "html", 60)
        assert cache.get("page") is None
        assert cache.add("page", "html") is False
        assert cache.set_many({"a": 1}) == ["a"]
        assert cache.get_or_set("page", "fresh") == "fresh"
        cache.touch("page")
    warnings = [r.getMessage() for r in caplog.records if r.name == "portal.cache"]
    assert warnings == ["Redis is full (maxmemory): set dropped, serving uncached."]
    assert full_redis.get("filler")  # nothing was evicted to make room


@pytest.mark.slow
def test_on_a_full_redis_pages_sign_in_and_the_receiver_answer(full_redis, client, typical_payload):
    for path in ("/", "/stats/", "/stats/?range=365", "/policy/", "/api/v1/stats/release"):
        assert client.get(path).status_code == 200, path
    assert client.get(reverse("account_login")).status_code == 200
    attempts = [
        client.post(reverse("account_login"), {"login": "a@example.org", "password": "x"}),
        client.post(
            reverse("account_signup"),
            {"email": "new@example.org", "password1": "pw-1-Long!x", "password2": "pw-1-Long!x"},
        ),
        client.post(reverse("account_reset_password"), {"email": "a@example.org"}),
    ]
    assert [response.status_code < 500 for response in attempts] == [True, True, True]
    member = UserFactory(username="carol")
    signed_in = client.post(
        reverse("account_login"), {"login": member.email, "password": "correct-horse-battery"}
    )
    assert signed_in.status_code == 302, signed_in.content.decode()[:2000]
    assert post_report(client, typical_payload).status_code == 202  # its ceiling fails open


# --- the cache's own Redis -------------------------------------------------------------


def _cache_and_broker(**env: str) -> tuple[str | None, str]:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.CACHES['default'].get('LOCATION'), s.CELERY_BROKER_URL]))"
    )
    unset = {"REDIS_URL", "CACHE_URL", "DEBUG"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    clean.update(DJANGO_SETTINGS_MODULE="portal.settings", DEBUG="1", **env)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    location, broker = json.loads(result.stdout.strip().splitlines()[-1])
    return location, broker


@pytest.mark.slow  # a Django start-up per case
def test_cache_url_points_the_cache_at_its_own_redis():
    broker, lru = "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6380/0"
    assert _cache_and_broker(REDIS_URL=broker) == (broker, broker)  # REDIS_URL alone: both
    assert _cache_and_broker(REDIS_URL=broker, CACHE_URL=lru) == (lru, broker)
    assert _cache_and_broker(REDIS_URL="", CACHE_URL="") == (None, "memory://")


def test_readyz_checks_a_separate_broker(client, settings):
    require_service("redis-server", shutil.which("redis-server") is not None)
    server = RedisServer()
    server.start()
    settings.REDIS_URL = server.url
    views._broker_client.cache_clear()
    try:
        assert client.get("/readyz").json()["checks"]["broker"] == "ok"
        server.stop()
        views._broker_client.cache_clear()
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["broker"] == "failing"
    finally:
        server.stop()
        views._broker_client.cache_clear()


@pytest.mark.parametrize(
    ("name", "policy", "appendonly"),
    [("broker", "noeviction", "yes"), ("cache", "allkeys-lru", "no")],
)
def test_the_deploy_files_run_a_broker_that_keeps_and_a_cache_that_evicts(
    tmp_path, name, policy, appendonly
):
    require_service("redis-server", shutil.which("redis-server") is not None)
    port = free_port()
    process = subprocess.Popen(
        [
            *("redis-server", str(ROOT / "deploy" / "redis" / f"{name}.conf")),
            *("--port", str(port), "--dir", str(tmp_path), "--bind", "127.0.0.1"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=10)
        client = redis.Redis(port=port)
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == policy
        assert client.config_get("appendonly")["appendonly"] == appendonly
    finally:
        process.terminate()
        process.wait(timeout=10)
