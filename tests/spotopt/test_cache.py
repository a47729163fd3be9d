"""The Redis cache backend keeps Django's contract with fewer round trips."""

import os
import uuid

import pytest

from spotopt.cache import ReusedClientRedisCache

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_cache():
    backend = ReusedClientRedisCache(
        os.environ["REDIS_URL"], {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    )
    yield backend
    backend.delete_many(["counter", "missing", "kept"])


def test_incr_of_a_missing_key_raises_value_error_and_creates_nothing(redis_cache):
    with pytest.raises(ValueError):
        redis_cache.incr("missing")

    assert redis_cache.get("missing") is None


def test_incr_counts_up_from_an_added_key_and_keeps_its_timeout(redis_cache):
    redis_cache.add("counter", 0, timeout=60)

    values = [redis_cache.incr("counter"), redis_cache.incr("counter", 5)]

    assert values == [1, 6]
    client = redis_cache._cache.get_client(write=True)
    assert 0 < client.ttl(redis_cache.make_key("counter")) <= 60


def test_one_client_object_serves_every_call(redis_cache):
    redis_cache.set("kept", {"generation": 3}, timeout=60)

    first = redis_cache._cache.get_client()
    assert redis_cache.get_many(["kept"]) == {"kept": {"generation": 3}}

    assert redis_cache._cache.get_client() is first
