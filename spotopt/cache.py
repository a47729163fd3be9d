"""The Redis cache backend, trimmed of round trips on the hot paths.

Django's backend builds a new redis.Redis for every cache call, which with
the redis 8 client costs more than the round trip itself, and its incr()
asks EXISTS before INCR. An idle command poll makes several cache calls (the
rate limiter's counter and the queue's idle marker), so both add up. Here
one client per connection pool is reused (the client is thread-safe, and
the backend is per thread anyway), and incr() is one atomic script.
"""

import hashlib
import logging
import os
import threading

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import NoScriptError, RedisError

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


class ThreadScript:
    """A Lua script run on a Redis connection of the calling thread's own.

    The agent hot paths make one cache round trip per call, thousands a
    second. Through redis-py's pool that round trip cost 35 us of CPU before
    the command was sent (the pool's lock, an is-readable poll of the socket,
    its metrics), twice what sending and reading it costs; one connection a
    thread, made from the pool's settings, skips all of that. A connection
    that fails is dropped, and the next call makes a new one.
    """

    def __init__(self, source: str):
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def __call__(self, backend: RedisCache, keys: list[str], args: list):
        return _on_thread_connection(
            backend, lambda connection: self._run(connection, keys, args)
        )

    def _run(self, connection, keys, args):
        connection.send_command("EVALSHA", self.sha, len(keys), *keys, *args)
        try:
            return connection.read_response()
        except NoScriptError:
            pass  # A restarted Redis has forgotten it; EVAL loads it again.
        connection.send_command("EVAL", self.source, len(keys), *keys, *args)
        return connection.read_response()


def cache_set_quickly(key: str, value, timeout: int) -> None:
    """cache.set(), on Redis as one command on this thread's own connection
    (see ThreadScript): the idle marker of a queue is renewed dozens of
    times a second across a fleet."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        backend.set(key, value, timeout=timeout)
        return

    def exchange(connection):
        connection.send_command(
            "SET", backend.make_key(key), backend._cache._serializer.dumps(value),
            "EX", int(timeout),
        )
        return connection.read_response()

    _on_thread_connection(backend, exchange)


_threads = threading.local()


def _on_thread_connection(backend: RedisCache, exchange):
    """Run `exchange(connection)` on this thread's own connection to the
    backend's Redis; a connection that fails is dropped, the next call
    makes a new one."""
    pool = backend._cache._get_connection_pool(True)
    connection = _thread_connection(pool)
    try:
        return exchange(connection)
    except BaseException:
        _thread_connection_drop(pool)
        raise


def _thread_connection(pool):
    connections = _threads.__dict__.setdefault("connections", {})
    owned = connections.get(id(pool))
    if owned is None or owned[0] != os.getpid():
        # A forked worker must not share its parent's socket.
        owned = connections[id(pool)] = (
            os.getpid(), pool.connection_class(**pool.connection_kwargs)
        )
    return owned[1]


def _thread_connection_drop(pool) -> None:
    owned = _threads.__dict__.get("connections", {}).pop(id(pool), None)
    if owned is not None:
        owned[1].disconnect()


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
