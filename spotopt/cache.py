"""The Redis cache backend, trimmed of round trips on the hot paths.

Django's backend builds a new redis.Redis for every cache call, which with
the redis 8 client costs more than the round trip itself, and its incr()
asks EXISTS before INCR. An idle command poll makes several cache calls (the
rate limiter's counter and the queue's idle marker), so both add up. Here
one client per connection pool is reused (the client is thread-safe, and
the backend is per thread anyway), and incr() is one atomic script.
"""

import logging

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# INCRBY only an existing key, so a missing key still raises ValueError as
# Django's contract says, and nobody can create a counter without a timeout.
_INCR_EXISTING = """
if redis.call('exists', KEYS[1]) == 1 then
  return redis.call('incrby', KEYS[1], ARGV[1])
end
return false
"""


class ReusedRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._clients = {}
        self._incr_scripts = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def incr(self, key, delta):
        client = self.get_client(key, write=True)
        script = self._incr_scripts.get(id(client))
        if script is None:
            script = self._incr_scripts[id(client)] = client.register_script(
                _INCR_EXISTING
            )
        value = script(keys=[key], args=[delta])
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value


class ReusedClientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient


def cache_safely(action, default=None, *, about: str):
    """Run a cache call; when the cache server is down, log one line naming
    what it was `about` and return `default`.

    The agent hot paths keep only derived state in the cache (idle markers,
    owners, heartbeat memos): without it they read the database, which is
    slower but right.
    """
    try:
        return action()
    except (RedisError, OSError) as error:
        logger.warning("Cache unavailable for %s: %r", about, error)
        return default
