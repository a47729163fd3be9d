"""A process's memory of idle queues: kept only while it hears every change
on Redis, dropped the moment a change arrives. Runs against the real Redis
(CI provides it)."""

import os
import time
import uuid

import pytest
import redis
from django.core.cache import caches

from instances.queue_watch import QueueWatch, queue_channel
from instances.services.commands import command_queue_touch

pytestmark = pytest.mark.redis


def _eventually(predicate, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {"default": {
        "BACKEND": "spotopt.cache.ReusedClientRedisCache",
        "LOCATION": os.environ["REDIS_URL"],
        "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }}
    return caches["default"]


@pytest.fixture
def watch(redis_cache):
    watch = QueueWatch()
    assert watch.waiting(1) is None  # starts the listener
    assert _eventually(lambda: watch._listening), "never subscribed"
    yield watch
    watch.stop()


def test_a_remembered_idle_queue_is_known_until_its_time_is_up(watch):
    watch.remember(7, 0, seconds=0.3, token=watch.mark())

    assert watch.waiting(7) == 0
    assert _eventually(lambda: watch.waiting(7) is None, seconds=2)


@pytest.mark.django_db(transaction=True)
def test_a_change_to_the_queue_reaches_the_process_and_is_forgotten(watch):
    watch.remember(7, 0, seconds=60, token=watch.mark())

    command_queue_touch(agent_id=7)  # outside a transaction: now and again

    assert _eventually(lambda: watch.waiting(7) is None)


def test_a_marker_read_while_a_change_arrived_is_not_kept(watch, redis_cache):
    token = watch.mark()
    publisher = redis.Redis.from_url(os.environ["REDIS_URL"])
    publisher.publish(queue_channel(redis_cache), 8)
    assert _eventually(lambda: watch.mark() != token)

    watch.remember(7, 0, seconds=60, token=token)

    assert watch.waiting(7) is None


def test_a_lost_subscription_forgets_everything_until_it_is_back(watch):
    watch.remember(7, 0, seconds=60, token=watch.mark())
    admin = redis.Redis.from_url(os.environ["REDIS_URL"])

    mine = [client["id"] for client in admin.client_list()
            if client["name"] == watch.client_name]

    admin.client_kill_filter(_id=mine[0])

    assert _eventually(lambda: watch.waiting(7) is None)
    assert _eventually(lambda: watch._listening), "never subscribed again"
    watch.remember(9, 0, seconds=60, token=watch.mark())
    assert watch.waiting(9) == 0


def test_nothing_is_remembered_without_redis(settings):
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache"
    }}
    watch = QueueWatch()
    assert watch.waiting(7) is None

    watch.remember(7, 0, seconds=60, token=watch.mark())

    assert watch.waiting(7) is None


def test_deployments_on_two_redis_databases_have_their_own_channel(settings):
    names = []
    for database in (2, 3):
        settings.CACHES = {"default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:6379/{database}",
        }}
        names.append(queue_channel(caches["default"]))

    assert names[0] != names[1]
