"""The periodic sweep through a real broker and worker (Redis in CI)."""

import os
import time
import uuid
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from agents.models import Agent
from agents.tasks import sweep_agents_task
from spotopt.celery import app


@pytest.fixture
def redis_worker():
    previous = dict(app.conf)
    # A queue of its own, so parallel test workers never take its tasks.
    app.conf.update(
        broker_url=os.environ["REDIS_URL"],
        task_always_eager=False,
        task_default_queue=f"test-{uuid.uuid4().hex}",
    )
    try:
        with start_worker(app, pool="solo", perform_ping_check=False):
            yield
    finally:
        app.conf.update(
            broker_url=previous["broker_url"],
            task_always_eager=previous["task_always_eager"],
            task_default_queue=previous["task_default_queue"],
        )


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_sweep_runs_in_a_worker_through_the_broker(registered, redis_worker):
    Agent.objects.filter(pk=registered.pk).update(
        last_heartbeat_at=timezone.now() - timedelta(seconds=125),
        offline_after=timezone.now() - timedelta(seconds=5),
    )

    sweep_agents_task.delay()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        registered.refresh_from_db()
        if registered.status == Agent.Status.OFFLINE:
            break
        time.sleep(0.2)
    assert registered.status == Agent.Status.OFFLINE
