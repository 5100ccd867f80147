"""A global ceiling on accepted reports per minute, keyed by nothing but the clock.

Rate limits never use the sender's address. The per-installation limit lives in
the report row itself (see services.report_ingest); this module bounds the
total, so a flood of invented platform IDs cannot overwhelm the database.

Each process counts locally and adds its count to the shared Redis counter every
INGEST_CEILING_BATCH reports or 200 ms, so the hot path rarely waits on Redis;
the ceiling may overshoot by at most processes x batch. Without Redis the local
cache is the counter. If Redis is unreachable the ceiling fails open: accepting
reports matters more.
"""

import functools
import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60
SYNC_SECONDS = 0.2


class _Window:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.window = -1
        self.pending = 0
        self.shared_total = 0
        self.synced_at = 0.0


_state = _Window()


@functools.cache
def _redis_client():
    return cache._cache.get_client(None, write=True)  # type: ignore[attr-defined]


def global_ceiling_hit() -> int | None:
    """Count one report; return seconds to wait when over the ceiling, else None."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    with _state.lock:
        if window != _state.window:
            _state.window, _state.pending, _state.shared_total = window, 0, 0
        _state.pending += 1
        due = (
            _state.pending >= settings.INGEST_CEILING_BATCH
            or time.monotonic() - _state.synced_at >= SYNC_SECONDS
        )
        pending = _state.pending if due else 0
        if due:
            _state.pending, _state.synced_at = 0, time.monotonic()
    if pending:
        total = _add(window, pending)
        with _state.lock:
            if total is not None and _state.window == window:
                _state.shared_total = max(_state.shared_total, total)
    with _state.lock:
        seen = _state.shared_total + _state.pending
    if seen > settings.INGEST_GLOBAL_MAX_REPORTS_PER_MINUTE:
        return max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)
    return None


def _add(window: int, count: int) -> int | None:
    key = f"ingest:global:{window}"
    try:
        if settings.CACHE_URL:
            full_key = cache.make_and_validate_key(key)
            pipe = _redis_client().pipeline(transaction=False)
            pipe.incrby(full_key, count)
            pipe.expire(full_key, WINDOW_SECONDS * 2)
            return pipe.execute()[0]
        cache.add(key, 0, WINDOW_SECONDS * 2)
        return cache.incr(key, count)
    except Exception:  # the cache is an optimisation here, never a reason to refuse
        logger.warning("Global rate-limit counter unavailable; accepting without it.")
        return None


def reset() -> None:
    """Forget the local window (tests, and after a settings change)."""
    with _state.lock:
        _state.window, _state.pending, _state.shared_total, _state.synced_at = -1, 0, 0, 0.0
