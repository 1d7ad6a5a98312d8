"""core.rediscache: Django's Redis backend with one redis-py client per connection pool, on the
Redis every web host would share (127.0.0.1:6379 here)."""

import os
import threading

import pytest

from core.rediscache import RedisCache

# A database no other test empties (test_origin_cache flushes 15), and a prefix per xdist worker.
LOCATION = "redis://127.0.0.1:6379/11"


@pytest.fixture
def redis_cache():
    import redis

    try:
        redis.Redis.from_url(LOCATION, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip("No Redis server on 127.0.0.1:6379 (CI machines run one)")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    backend = RedisCache(LOCATION, {"KEY_PREFIX": f"test-rediscache-{worker}"})
    yield backend
    backend.delete_many(["a", "b", "shared"])


def test_one_client_serves_every_call_and_the_cache_works(redis_cache):
    client = redis_cache._cache.get_client()
    assert redis_cache._cache.get_client(write=True) is client  # not a new one per call
    redis_cache.set("a", {"x": 1}, 60)
    assert redis_cache.get("a") == {"x": 1}
    assert redis_cache.get_many(["a", "b"]) == {"a": {"x": 1}}
    assert redis_cache._cache.get_client() is client


def test_threads_share_the_client(redis_cache):
    redis_cache.set("shared", 0, 60)
    clients, errors = [], []

    def work() -> None:
        try:
            for _ in range(50):
                redis_cache.incr("shared")
            clients.append(redis_cache._cache.get_client())
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert redis_cache.get("shared") == 200
    assert len({id(client) for client in clients}) == 1
