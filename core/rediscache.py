"""Django's Redis cache backend, reusing one redis-py client per connection pool.

Django's RedisCacheClient makes a new `redis.Redis` for every cache call; building one fills its
table of response callbacks (several hundred entries), which cost more CPU than the round trip
itself: a member's lesson page makes three cache calls, and this was an eighth of its CPU. A
`redis.Redis` is safe to share between threads (each command takes a connection from the pool),
and the pool itself notices a fork, so one client per pool is kept for the life of the process.
"""

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own (not in its type stubs), as its get_client calls them.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))  # pools are kept in self._pools: ids stay theirs
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient
