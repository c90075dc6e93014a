"""The Redis connection: a real server when REDIS_URL is set, else an in-process stand-in."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

_client: redis.Redis | None = None


def configure(url: str) -> redis.Redis:
    """Connect to `url`, or create an in-process fakeredis server when `url` is empty."""
    global _client
    if url:
        # One quick retry: when Redis is down, callers fall back (or answer 503) at once instead of
        # waiting through redis-py's default backoff on every call.
        _client = redis.Redis.from_url(
            url,
            socket_timeout=1,
            socket_connect_timeout=1,
            health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
        )
    else:
        import fakeredis

        _client = fakeredis.FakeRedis()
    return _client


def get_redis() -> redis.Redis:
    if _client is None:
        raise RuntimeError("redis not configured")
    return _client
