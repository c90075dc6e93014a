"""The Redis connection: a real server when REDIS_URL is set, else an in-process stand-in."""

from __future__ import annotations

import redis

_client: redis.Redis | None = None


def configure(url: str) -> redis.Redis:
    """Connect to `url`, or create an in-process fakeredis server when `url` is empty."""
    global _client
    if url:
        _client = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
        )
    else:
        import fakeredis

        _client = fakeredis.FakeRedis()
    return _client


def get_redis() -> redis.Redis:
    if _client is None:
        raise RuntimeError("redis not configured")
    return _client
