"""Live events for a client's dashboard, published after the commit.

Consumers join the group named by client_group(); publishing only after the
transaction commits means a page never hears of a row it cannot read yet.

From a plain thread (a WSGI worker, Celery, a command) async_to_sync would
start a thread and an event loop per event, and channels-redis a connection
per loop: several milliseconds of CPU on every agent request that changes
something. There, events go to one publisher loop per process instead,
which sends them in order over connections it keeps. The in-memory layer
and code already running under an event loop keep async_to_sync.
"""

import asyncio
import atexit
import logging
import os
import threading

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

# Events waiting for the publisher; beyond this (the channel layer is down
# or slow) new ones are dropped: a dashboard reloads its data anyway.
PUBLISH_QUEUE_MAX = 10_000


def client_group(client_id: int) -> str:
    return f"client-{client_id}"


def event_publish(*, client_id: int, event_type: str, payload: dict) -> None:
    """Send the event to the client's group once the transaction commits."""
    message = {
        "type": "client.event",
        "event": event_type,
        "payload": payload,
        "at": timezone.now().isoformat(),
    }
    transaction.on_commit(lambda: _send(client_id, message))


def _send(client_id: int, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    if not isinstance(layer, InMemoryChannelLayer) and not _in_event_loop():
        _publisher().submit(layer, client_group(client_id), message)
        return
    try:
        async_to_sync(layer.group_send)(client_group(client_id), message)
    except Exception:
        # A dead channel layer must never fail the agent's request.
        logger.warning(
            "Could not publish %s to client %s", message["event"], client_id,
            exc_info=True,
        )


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _Publisher:
    """An event loop in a daemon thread that sends queued events in order.

    A process that exits (a management command, say) first waits up to
    FLUSH_SECONDS for what it queued to be sent.
    """

    FLUSH_SECONDS = 5.0

    def __init__(self):
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.queue: asyncio.Queue | None = None
        self.dropped = 0
        threading.Thread(
            target=self._run, name="event-publisher", daemon=True
        ).start()
        self.ready.wait()
        atexit.register(self.flush)

    def submit(self, layer, group: str, message: dict) -> None:
        self.loop.call_soon_threadsafe(self._enqueue, (layer, group, message))

    def flush(self, timeout: float = FLUSH_SECONDS) -> bool:
        """Wait until every event submitted so far is sent; False on timeout."""
        if self.pid != os.getpid() or not self.loop.is_running():
            return False
        done = asyncio.run_coroutine_threadsafe(self.queue.join(), self.loop)
        try:
            done.result(timeout)
        except TimeoutError:
            logger.warning("Live events not sent before exit: %s waiting",
                           self.queue.qsize())
            return False
        return True

    def _enqueue(self, item) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                logger.warning(
                    "Live events dropped: %s so far, %s waiting; is the "
                    "channel layer reachable?", self.dropped, self.queue.qsize(),
                )

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.queue = asyncio.Queue(maxsize=PUBLISH_QUEUE_MAX)
        self.loop.create_task(self._drain())
        self.ready.set()
        self.loop.run_forever()

    async def _drain(self) -> None:
        while True:
            layer, group, message = await self.queue.get()
            try:
                await layer.group_send(group, message)
            except Exception:
                logger.warning(
                    "Could not publish %s to %s", message["event"], group,
                    exc_info=True,
                )
            finally:
                self.queue.task_done()


_publisher_instance: _Publisher | None = None
_publisher_lock = threading.Lock()


def _publisher() -> _Publisher:
    """This process's publisher; a forked child starts its own."""
    global _publisher_instance
    with _publisher_lock:
        if _publisher_instance is None or _publisher_instance.pid != os.getpid():
            _publisher_instance = _Publisher()
        return _publisher_instance
