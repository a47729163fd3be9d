"""This process's view of which agents' command queues are idle.

The queue's idle marker lives in the shared cache (instances.services.
commands), and an idle poll that reads it there pays a round trip: at
10,000 agents, 2,000 a second, and under load that round trip was most of
the CPU an idle poll cost. So each worker process remembers the idle
markers it has read, for as long as the shared ones live, and forgets one
the moment its queue changes: every change is published on a Redis channel
that one thread of each process listens to.

Only while that thread is subscribed is anything remembered; a process
that lost its subscription forgets everything, and its polls ask the
shared cache again until it is back. A change published while a poll was
reading cannot be missed either: a marker read before a change arrived is
not kept (`mark()` and `remember()`). Without Redis (the embedded
deployment) nothing is remembered here at all.
"""

import logging
import os
import threading
import time

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis import ConnectionPool, Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

CHANNEL_KEY = "cmdq:changed"
# Bounds the memory of a process polled by very many agents.
MAX_REMEMBERED = 200_000
RECONNECT_SECONDS = 1.0
# The subscription is pinged this often, so a dead one is found and left.
HEALTH_CHECK_SECONDS = 5


def queue_channel(backend: RedisCache) -> str:
    """The channel of queue changes. Redis channels ignore the database
    number, so it is part of the name: two deployments sharing a server
    on different databases do not hear each other."""
    pool = backend._cache._get_connection_pool(True)
    return f"{backend.make_key(CHANNEL_KEY)}:{pool.connection_kwargs.get('db', 0)}"


class QueueWatch:
    """Idle markers seen by this process, kept while a listener hears every
    queue change."""

    def __init__(self):
        self._lock = threading.Lock()
        self._idle: dict[int, tuple[float, int]] = {}
        self._changes = 0
        self._listening = False
        self._owner_pid = 0
        self._stopping = threading.Event()

    @property
    def client_name(self) -> str:
        """The name its subscription shows in Redis's CLIENT LIST."""
        return f"spotopt-queue-watch-{os.getpid()}-{id(self):x}"

    def waiting(self, agent_id: int) -> int | None:
        """How many commands wait for their time in the agent's idle queue,
        when this process knows it is idle; None when it does not."""
        self._listener_ensure()
        entry = self._idle.get(agent_id)
        if entry is None:
            return None
        expires_at, waiting = entry
        if expires_at < time.monotonic():
            self._idle.pop(agent_id, None)
            return None
        return waiting

    def mark(self) -> int:
        """A token to take before reading a marker elsewhere: remember()
        keeps the marker only if no change arrived since."""
        return self._changes

    def remember(self, agent_id: int, waiting: int, seconds: float, token: int):
        with self._lock:
            if not self._listening or token != self._changes:
                return
            if len(self._idle) >= MAX_REMEMBERED:
                self._idle.clear()
            self._idle[agent_id] = (time.monotonic() + seconds, waiting)

    def changed(self, agent_id: int) -> None:
        """The agent's queue changed: forget its marker."""
        with self._lock:
            self._changes += 1
            self._idle.pop(agent_id, None)

    def stop(self) -> None:
        self._stopping.set()

    def _listening_set(self, listening: bool) -> None:
        with self._lock:
            self._changes += 1
            self._idle.clear()
            self._listening = listening

    def _listener_ensure(self) -> None:
        if self._owner_pid == os.getpid():
            return
        # First use in this process (a forked worker inherits no thread).
        with self._lock:
            if self._owner_pid == os.getpid():
                return
            self._owner_pid = os.getpid()
            self._idle.clear()
            self._listening = False
        backend = caches["default"]
        if isinstance(backend, RedisCache):
            threading.Thread(
                target=self._listen, args=(backend,), daemon=True,
                name="queue-watch",
            ).start()

    def _listen(self, backend: RedisCache) -> None:
        channel = queue_channel(backend)
        pool = backend._cache._get_connection_pool(True)
        outage_logged = False
        while not self._stopping.is_set():
            try:
                self._subscription_follow(pool, channel)
            except (RedisError, OSError, ValueError) as error:
                if not outage_logged:
                    logger.warning(
                        "Queue changes unheard (%r): polls ask the cache", error
                    )
                    outage_logged = True
            else:
                outage_logged = False
            self._listening_set(False)
            self._stopping.wait(RECONNECT_SECONDS)

    def _subscription_follow(self, pool, channel: str) -> None:
        client = Redis(connection_pool=ConnectionPool(
            connection_class=pool.connection_class,
            **{**pool.connection_kwargs,
               "health_check_interval": HEALTH_CHECK_SECONDS,
               "client_name": self.client_name},
        ))
        subscription = client.pubsub()
        try:
            subscription.subscribe(channel)
            while not self._stopping.is_set():
                message = subscription.get_message(timeout=1.0)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    self._listening_set(True)
                    logger.info("Listening to queue changes on %s", channel)
                elif message["type"] == "message":
                    self.changed(int(message["data"]))
        finally:
            subscription.close()
            client.close()


_watch = QueueWatch()


def queue_watch() -> QueueWatch:
    return _watch


def queue_watch_reset() -> None:
    """Stop listening and forget everything: a new watch starts on next use
    (tests, which change the cache between them)."""
    global _watch
    _watch.stop()
    _watch = QueueWatch()
