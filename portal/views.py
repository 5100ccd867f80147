"""Health probes: liveness (/healthz) and readiness (/readyz) for the load balancer and
the process supervisor, and the Prometheus endpoint (/metrics) for operators. The error
pages (404, 503) are in portal.api and portal.middleware.
"""

import functools
from typing import cast

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from portal import metrics as portal_metrics


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches neither the database nor Redis."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers, and Redis when it is configured (the cache's, and
    the broker's when it is another instance). 503 otherwise."""
    checks = {"database": _database_ready()}
    if settings.CACHE_URL:
        checks["redis"] = _redis_ready()
    if settings.REDIS_URL and settings.REDIS_URL != settings.CACHE_URL:
        checks["broker"] = _broker_ready()
    ready = all(checks.values())
    response = JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "checks": {k: "ok" if v else "failing" for k, v in checks.items()},
        },
        status=200 if ready else 503,
    )
    if not ready:
        response["Retry-After"] = "10"
    return response


def _database_ready() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


def _redis_ready() -> bool:
    try:
        # Called only with CACHE_URL set, when settings configure a Redis cache.
        redis_cache = cast(RedisCache, cache)
        return bool(redis_cache._cache.get_client(None, write=False).ping())
    except Exception:  # any failure to reach Redis means not ready
        return False


@functools.cache
def _broker_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=1.0)


def _broker_ready() -> bool:
    try:
        return bool(_broker_client().ping())
    except Exception:  # any failure to reach the broker means not ready
        return False


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus' scrape, for whoever holds METRICS_TOKEN; without one configured the
    endpoint does not exist (404)."""
    if not settings.METRICS_TOKEN:
        raise Http404
    if not portal_metrics.metrics_token_matches(request.META.get("HTTP_AUTHORIZATION", "")):
        response = HttpResponse("A bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = portal_metrics.METRICS_CHALLENGE
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD"
        return response
    return HttpResponse(portal_metrics.exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
