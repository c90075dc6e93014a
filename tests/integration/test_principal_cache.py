"""The in-process cache of resolved tokens: it serves only while its Redis subscription is live, and
logout, revocation and membership changes reach every process at once."""

from __future__ import annotations

import os
import time

import pytest
import redis
import requests

from services.accounts.principal_cache import SILENCE_S, PrincipalCache
from tests.support.live import live_service, wait_until

pytestmark = pytest.mark.postgres


@pytest.fixture
def client_factory(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield lambda: client
    client.close()


def _ready(cache: PrincipalCache) -> None:
    cache.epoch()  # starts the listener
    wait_until(lambda: cache._live(), timeout_s=10)


def test_a_drop_published_by_one_process_reaches_the_other(client_factory):
    here, there = (PrincipalCache(client_factory, 30, channel="auth:invalidate:test-a") for _ in range(2))
    for cache in (here, there):
        _ready(cache)
        cache.put("token-1", "alice", 7, cache.epoch(), 30)
        cache.put("token-2", "alice", 7, cache.epoch(), 30)
        cache.put("token-3", "bob", 8, cache.epoch(), 30)
    here.publish(tokens=["token-1"])
    assert here.get("token-1") is None  # the publisher drops first
    wait_until(lambda: there.get("token-1") is None, timeout_s=10)
    assert there.get("token-2") == "alice"
    here.publish(user_id=7)
    wait_until(lambda: there.get("token-2") is None, timeout_s=10)
    assert there.get("token-3") == "bob"


def test_a_principal_resolved_before_an_invalidation_is_not_kept(client_factory):
    cache = PrincipalCache(client_factory, 30, channel="auth:invalidate:test-b")
    _ready(cache)
    epoch = cache.epoch()  # a request starts resolving the token...
    cache.drop({"tokens": ["token-1"]})  # ...the token is revoked meanwhile...
    cache.put("token-1", "alice", 7, epoch, 30)  # ...and the request's answer must not be kept
    assert cache.get("token-1") is None


def test_nothing_is_served_without_the_subscription_or_past_the_entrys_time(client_factory):
    now = [1000.0]
    cache = PrincipalCache(client_factory, 30, clock=lambda: now[0], channel="auth:invalidate:test-c")
    cache._pid = os.getpid()  # no listener: the test plays its part
    cache.put("token-1", "alice", 7, cache._epoch, 30)
    assert cache.get("token-1") is None  # not subscribed: not even kept
    cache._subscribed, cache._heard_at = True, now[0]
    cache.put("token-1", "alice", 7, cache._epoch, 5)
    assert cache.get("token-1") == "alice"
    now[0] += SILENCE_S + 0.1  # Redis has been silent too long: nothing served
    assert cache.get("token-1") is None
    cache._heard_at = now[0]  # heard again, and the token still has time left
    assert cache.get("token-1") == "alice"
    now[0] += 3.0  # past the token's 5 s
    cache._heard_at = now[0]
    assert cache.get("token-1") is None
    cache._clear()  # a lost subscription
    cache._heard_at = now[0]
    cache.put("token-2", "bob", 8, cache._epoch, 30)
    assert cache.get("token-2") is None


def test_logout_is_refused_at_once_by_every_worker(pg_app, pg_url, redis_url, tmp_path):
    """gunicorn with several workers, each caching the token; after logout no worker accepts it."""
    with live_service(pg_url, redis_url, tmp_path, workers=3) as server:
        session = requests.Session()
        login = session.post(f"{server.base}/api/v1/auth/login", json={"code": "cache-user"}, timeout=10)
        token = login.json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(30):  # enough requests for every worker to cache the token
            assert session.get(f"{server.base}/api/v1/me", headers=headers, timeout=10).status_code == 200
        time.sleep(0.2)
        out = session.post(f"{server.base}/api/v1/auth/logout", headers=headers, timeout=10)
        assert out.status_code in (200, 204), out.text
        after = [
            session.get(f"{server.base}/api/v1/me", headers=headers, timeout=10).status_code
            for _ in range(30)
        ]
        assert after == [401] * 30


def test_a_closed_cache_stops_listening_and_serves_nothing(client_factory):
    cache = PrincipalCache(client_factory, 30, channel="auth:invalidate:test-d")
    _ready(cache)
    cache.put("token-1", "alice", 7, cache.epoch(), 30)
    assert cache.get("token-1") == "alice"
    cache.close()
    assert cache.get("token-1") is None
    wait_until(lambda: not cache.listener.is_alive(), timeout_s=10)
