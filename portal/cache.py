"""Redis as a cache the portal can live without.

Redis holds caches and counters (statistics pages, DRF throttles, allauth's limits, the
receiver's global ceiling), none of which is worth an error page. While Redis is
unreachable this backend treats every read as a miss and drops every write, and says so
in the log at most once a minute per process; `/readyz` reports Redis as failing
meanwhile. A full Redis (at `maxmemory` under `noeviction`, which refuses writes with
"OOM command not allowed") is the same for writes: dropped, logged once a minute, never
an error page. Counters that callers increment (`incr`, `decr`) still raise, so each
caller decides how to fail (the receiver's ceiling fails open).
"""

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
WRITE_REFUSED = (*UNREACHABLE, OutOfMemoryError)
WARN_EVERY_SECONDS = 60


class ResilientRedisCache(RedisCache):
    _warned_at = 0.0
    _full_warned_at = 0.0
    _warn_lock = threading.Lock()

    def _unreachable(self, operation: str, error: Exception | None = None) -> None:
        full = isinstance(error, OutOfMemoryError)
        now = time.monotonic()
        with self._warn_lock:
            last = ResilientRedisCache._full_warned_at if full else ResilientRedisCache._warned_at
            if now - last < WARN_EVERY_SECONDS:
                return
            if full:
                ResilientRedisCache._full_warned_at = now
            else:
                ResilientRedisCache._warned_at = now
        if full:
            logger.warning("Redis is full (maxmemory): %s dropped, serving uncached.", operation)
        else:
            logger.warning("Redis is unreachable (%s): serving without the cache.", operation)

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except UNREACHABLE:
            self._unreachable("get")
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except UNREACHABLE:
            self._unreachable("get_many")
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except UNREACHABLE:
            self._unreachable("has_key")
            return False

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            super().set(key, value, timeout, version)
        except WRITE_REFUSED as error:
            self._unreachable("set", error)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set_many(data, timeout, version)
        except WRITE_REFUSED as error:
            self._unreachable("set_many", error)
            return list(data)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().add(key, value, timeout, version)
        except WRITE_REFUSED as error:
            self._unreachable("add", error)
            return False

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().touch(key, timeout, version)
        except WRITE_REFUSED as error:
            self._unreachable("touch", error)
            return False

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except WRITE_REFUSED as error:
            self._unreachable("delete", error)
            return False

    def delete_many(self, keys, version=None):
        try:
            super().delete_many(keys, version)
        except WRITE_REFUSED as error:
            self._unreachable("delete_many", error)
