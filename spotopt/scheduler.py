"""Runs the periodic schedule inside the web process in the embedded mode.

With no broker there is no beat or worker; a daemon thread calls each task
when it is due. Scale-out deployments run Celery beat instead.
"""

import logging
import threading
import time

from celery import current_app
from django.db import close_old_connections

from spotopt.schedule import DEFAULT_SCHEDULE

logger = logging.getLogger(__name__)

TICK_SECONDS = 5
_started = threading.Event()


def scheduler_start() -> None:
    if _started.is_set():
        return
    _started.set()
    thread = threading.Thread(target=_loop, name="embedded-scheduler", daemon=True)
    thread.start()
    logger.info("Embedded scheduler started with %s entries", len(DEFAULT_SCHEDULE))


def _loop() -> None:
    # Celery registers the apps' tasks only when their modules are imported,
    # which a worker does at start; this thread has to ask for it.
    current_app.loader.import_default_modules()
    next_run = {entry.name: time.monotonic() + 5 for entry in DEFAULT_SCHEDULE}
    while True:
        now = time.monotonic()
        for entry in DEFAULT_SCHEDULE:
            if now >= next_run[entry.name]:
                next_run[entry.name] = now + entry.every_seconds
                _run(entry)
        time.sleep(TICK_SECONDS)


def _run(entry) -> None:
    started = time.monotonic()
    try:
        close_old_connections()
        current_app.tasks[entry.task].apply()
        logger.debug(
            "Ran %s in %.2f s", entry.name, time.monotonic() - started
        )
    except Exception:
        logger.exception("Periodic task %s failed", entry.name)
    finally:
        close_old_connections()
