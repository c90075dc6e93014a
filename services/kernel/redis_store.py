"""The Redis connection: a real server when REDIS_URL is set (directly or through Sentinel), else an
in-process stand-in. Everything that talks to Redis gets its client here: the services, the rate
limiter (which shares the client's connection pool) and the RQ worker (`rq_connection_settings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.connection import parse_url
from redis.retry import Retry
from redis.sentinel import Sentinel

from config import sentinel_addresses

_client: redis.Redis | None = None
SOCKET_TIMEOUT_S = 1


def _options() -> dict[str, Any]:
    # One quick retry: when Redis is down, callers fall back (or answer 503) at once instead of
    # waiting through redis-py's default backoff on every call. After a Sentinel failover the retry
    # asks the Sentinels again and reaches the new master.
    return {
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": SOCKET_TIMEOUT_S,
        "health_check_interval": 30,
        "retry": Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
    }


def _credentials(url: str) -> dict[str, Any]:
    """What REDIS_URL says beyond where the server is: database number, username, password."""
    parsed = parse_url(url)
    return {key: parsed[key] for key in ("db", "username", "password") if parsed.get(key) is not None}


def connect(settings: Mapping[str, Any]) -> redis.Redis:
    """A client for the configured Redis: through the Sentinels when REDIS_SENTINELS is set."""
    url = settings["REDIS_URL"]
    if not url:
        import fakeredis

        return fakeredis.FakeRedis()
    if not settings.get("REDIS_SENTINELS"):
        return redis.Redis.from_url(url, **_options())
    sentinel = Sentinel(
        sentinel_addresses(settings["REDIS_SENTINELS"]),
        sentinel_kwargs={
            "socket_timeout": SOCKET_TIMEOUT_S,
            "socket_connect_timeout": SOCKET_TIMEOUT_S,
            "password": settings.get("REDIS_SENTINEL_PASSWORD") or None,
        },
        **_credentials(url),
    )
    return sentinel.master_for(settings["REDIS_SENTINEL_MASTER"], **_options())


def configure(settings: Mapping[str, Any]) -> redis.Redis:
    """Connect to the configured Redis (see `connect`); the client `get_redis` gives from now on."""
    global _client
    _client = connect(settings)
    return _client


def get_redis() -> redis.Redis:
    if _client is None:
        raise RuntimeError("redis not configured")
    return _client


def rq_connection_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The RQ command line's connection settings (its `REDIS_URL` or `SENTINEL`) for the same Redis."""
    if not settings.get("REDIS_SENTINELS"):
        return {"REDIS_URL": settings["REDIS_URL"], "SENTINEL": None}
    credentials = _credentials(settings["REDIS_URL"])
    return {
        "REDIS_URL": None,
        "SENTINEL": {
            "INSTANCES": sentinel_addresses(settings["REDIS_SENTINELS"]),
            "MASTER_NAME": settings["REDIS_SENTINEL_MASTER"],
            "DB": credentials.get("db", 0),
            "USERNAME": credentials.get("username"),
            "PASSWORD": credentials.get("password"),
            "SOCKET_TIMEOUT": SOCKET_TIMEOUT_S,
            "SENTINEL_KWARGS": {"password": settings.get("REDIS_SENTINEL_PASSWORD") or None},
        },
    }
