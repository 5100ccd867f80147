"""A global ceiling on accepted reports per minute, keyed by nothing but the clock.

Rate limits never use the sender's address. The per-installation limit lives in
the report row itself (see services.report_ingest); this module bounds the
total, so a flood of invented platform IDs cannot overwhelm the database.
With Redis, one pipelined INCR+EXPIRE per report; without it, the local cache.
If Redis is unreachable the ceiling fails open: accepting reports matters more.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60


def global_ceiling_hit() -> int | None:
    """Count one report; return seconds to wait when over the ceiling, else None."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"ingest:global:{window}"
    try:
        count = _increment(key)
    except Exception:  # the cache is an optimisation here, never a reason to refuse
        logger.warning("Global rate-limit counter unavailable; accepting without it.")
        return None
    if count > settings.INGEST_GLOBAL_MAX_REPORTS_PER_MINUTE:
        return max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)
    return None


def _increment(key: str) -> int:
    if settings.REDIS_URL:
        client = cache._cache.get_client(key, write=True)  # type: ignore[attr-defined]
        full_key = cache.make_and_validate_key(key)
        pipe = client.pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, WINDOW_SECONDS * 2)
        return pipe.execute()[0]
    cache.add(key, 0, WINDOW_SECONDS * 2)
    return cache.incr(key)
