"""With Redis unreachable, pages and the data API serve without the cache (no 500)."""

import logging
import time
from datetime import date

import pytest
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError

from access_requests import services
from ingest.models import Report
from tests.access_requests.factories import file_request
from tests.ingest.factories import report_row

pytestmark = pytest.mark.django_db
# Nothing listens on port 1: every connection is refused at once.
UNREACHABLE = {
    "default": {
        "BACKEND": "portal.cache.ResilientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
    }
}


@pytest.fixture
def redis_down(settings):
    settings.CACHES = UNREACHABLE
    from portal.cache import ResilientRedisCache

    ResilientRedisCache._warned_at = 0.0
    yield
    ResilientRedisCache._warned_at = 0.0


def test_reads_miss_and_writes_are_dropped(redis_down, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.cache"):
        assert cache.get("k", "fallback") == "fallback"
        cache.set("k", 1, 30)
        assert cache.add("k", 1) is False
        assert cache.get_many(["a", "b"]) == {}
        assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
        assert cache.has_key("k") is False
        assert cache.get_or_set("k", 5) == 5
        cache.delete("k")
        with pytest.raises(RedisConnectionError):  # counters: the caller decides
            cache.incr("k")
    warnings = [r for r in caplog.records if r.name == "portal.cache"]
    assert len(warnings) == 1  # said once, not at every call
    assert "Redis is unreachable" in warnings[0].getMessage()


def test_with_redis_up_it_is_a_plain_cache(redis_cache):
    from django.core.cache import caches

    from portal.cache import ResilientRedisCache

    assert isinstance(caches["default"], ResilientRedisCache)
    cache.set("resilient-probe", "value", 30)
    assert cache.get("resilient-probe") == "value"
    assert cache.add("resilient-probe", "other") is False


def test_pages_and_the_data_api_answer_with_redis_down(redis_down, client, applicant, maintainer):
    Report.objects.bulk_create(
        report_row(f"install{n}", date(2026, 2, 3), release="v1.9.4") for n in range(3)
    )
    started = time.monotonic()
    for path in ("/", "/stats/", "/policy/", "/accounts/login/", "/access/register/"):
        assert client.get(path).status_code == 200, path

    filed = file_request(applicant, period_start=date(2026, 1, 1), period_end=date(2026, 6, 30))
    grant = services.access_request_approve(
        request=filed,
        reviewer=maintainer,
        period_start=date(2026, 2, 1),
        period_end=date(2026, 2, 28),
    )
    _, secret = services.token_mint(grant=grant, user=applicant, name="notebook")
    response = client.get("/api/v1/data/reports", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3
    assert time.monotonic() - started < 20  # refused connections fail fast
    readyz = client.get("/readyz")
    assert readyz.status_code == (503 if readyz.json()["checks"].get("redis") else 200)
