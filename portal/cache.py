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
