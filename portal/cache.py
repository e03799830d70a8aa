"""A Redis cache that fails soft: while Redis is down or slow, reads miss and writes are dropped.

Django's own RedisCache raises on a connection error, which would turn every page that touches
the cache into a 500. Here an error is logged (once a minute at most per process) and treated
as a miss; `incr` of a key it cannot reach raises ValueError, as for a missing key.
"""

import logging
import time
from functools import wraps

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
LOG_EVERY_SECONDS = 60


def _fail_soft(default=None, *, missing: bool = False):
    def decorate(method):
        @wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except (RedisError, OSError) as error:
                self._log_outage(method.__name__, error)
                if missing:
                    raise ValueError("The cache is unavailable.") from error
                return default() if callable(default) else default

        return wrapper

    return decorate


class FailSoftRedisCache(RedisCache):
    _last_logged = 0.0

    def _log_outage(self, operation: str, error: Exception) -> None:
        now = time.monotonic()
        if now - FailSoftRedisCache._last_logged >= LOG_EVERY_SECONDS:
            FailSoftRedisCache._last_logged = now
            logger.warning("Cache unavailable (%s), treated as empty: %s", operation, error)

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except (RedisError, OSError) as error:
            self._log_outage("get", error)
            return default

    add = _fail_soft(False)(RedisCache.add)
    set = _fail_soft(None)(RedisCache.set)
    touch = _fail_soft(False)(RedisCache.touch)
    delete = _fail_soft(False)(RedisCache.delete)
    get_many = _fail_soft(dict)(RedisCache.get_many)
    has_key = _fail_soft(False)(RedisCache.has_key)
    incr = _fail_soft(missing=True)(RedisCache.incr)
    set_many = _fail_soft(list)(RedisCache.set_many)
    delete_many = _fail_soft(None)(RedisCache.delete_many)
    clear = _fail_soft(False)(RedisCache.clear)


# ------------------------------------------------------------------------------
# Version counters: what was cached under an older version is never served again
# ------------------------------------------------------------------------------
# A cached entry is tagged with the versions read *before* the database was read; a change
# bumps them at once and again when its transaction commits, so an entry made from rows read
# before the commit carries an old version and is ignored. A counter that is missing (never
# set, evicted, Redis emptied) starts again at the clock in nanoseconds: always above any
# value it had before, so it never comes back to a version that entries were tagged with.
VERSION_PREFIX = "version:"


def _version_key(name: str) -> str:
    return VERSION_PREFIX + name


def versions_get_many(names, *, also=()) -> tuple[dict[str, int], dict]:
    """({name: version}, {key: value} of the `also` keys found), in one round trip."""
    from django.core.cache import cache

    keys = [_version_key(name) for name in names]
    found = cache.get_many([*keys, *also])
    versions = {}
    for name, key in zip(names, keys, strict=True):
        value = found.pop(key, None)
        if value is None:
            cache.add(key, time.time_ns(), None)
            value = cache.get(key)
        versions[name] = value
    return versions, found


def _version_incr(key: str) -> None:
    from django.core.cache import cache

    try:
        cache.incr(key)
    except ValueError:  # missing (or the cache is down: then nothing is served from it)
        cache.set(key, time.time_ns(), None)


def version_bump(*names: str) -> None:
    """Make what was cached under these versions stale: now, and when the transaction commits."""
    from django.db import transaction

    for name in names:
        key = _version_key(name)
        _version_incr(key)
        transaction.on_commit(lambda key=key: _version_incr(key))
