"""Redis behind Sentinel: the service, its rate limiter and the RQ worker find the master through the
Sentinels (REDIS_SENTINELS); when the master dies, the service writes to the replica the Sentinel promotes."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import redis
from rq import Queue

from bench.harness import ROOT, service_env
from services.kernel.redis_store import get_redis
from tests.support.live import report_figures, wait_until
from tests.support.servers import PrivateRedis, PrivateSentinel
from worker import tasks
from worker.schedule import QUEUE

pytestmark = pytest.mark.postgres

NAME = "carbon"
DB = 3


@pytest.fixture
def redis_pair():
    if not PrivateRedis.available():
        pytest.skip("redis-server is not installed")
    master = PrivateRedis("--repl-diskless-sync-delay", "0")  # replicas sync at once, not after 5 s
    master.start()
    replica = PrivateRedis("--replicaof", "127.0.0.1", str(master.port))
    replica.start()
    sentinel = PrivateSentinel(NAME, master)
    sentinel.start()
    yield master, replica, sentinel
    sentinel.stop()
    for server in (replica, master):
        server.remove()


@pytest.fixture
def app_overrides(redis_pair):
    _master, _replica, sentinel = redis_pair
    return {
        # The host in REDIS_URL is not used: the Sentinels name the master. The database number is.
        "REDIS_URL": f"redis://{NAME}/{DB}",
        "REDIS_SENTINELS": sentinel.address,
        "REDIS_SENTINEL_MASTER": NAME,
        "RATELIMIT_ENABLED": True,
        "LOGIN_RATE_LIMIT": "3 per minute",
    }


def _direct(server: PrivateRedis) -> redis.Redis:
    return redis.Redis(port=server.port, db=DB)


def _lands_on(server: PrivateRedis) -> bool:
    """Write through the service's client; did the write reach `server`?"""
    value = str(time.monotonic())
    try:
        get_redis().set("after-failover", value)
    except redis.RedisError:
        return False
    return _direct(server).get("after-failover") == value.encode()


def test_service_and_worker_reach_redis_through_sentinel_and_follow_a_failover(
    pg_app, pg_url, redis_pair, app_overrides, record_property
):
    master, replica, sentinel = redis_pair
    client = pg_app.test_client()

    get_redis().set("through-sentinel", "yes")
    assert _direct(master).get("through-sentinel") == b"yes"  # the master, database REDIS_URL names
    logins = [client.post("/api/v1/auth/login", json={"code": "sentinel"}).status_code for _ in range(4)]
    assert logins == [200, 200, 200, 429]  # the limiter counts on the same master
    assert any(key.startswith(b"LIMITS") for key in _direct(master).scan_iter())

    # The RQ worker, configured like `bin/worker`, takes a job queued through Sentinel and runs it.
    job = Queue(QUEUE, connection=get_redis()).enqueue(tasks.release_points)
    env = service_env(pg_url, "", **{k: str(v) for k, v in app_overrides.items()})
    worked = subprocess.run(
        [sys.executable, "-m", "rq.cli", "worker", "--burst", "--config", "worker.rq_config", QUEUE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worked.returncode == 0, worked.stdout + worked.stderr
    assert job.get_status(refresh=True) == "finished", job.exc_info

    # The master dies: the Sentinel sees it down, promotes the replica, and the service writes there.
    watcher = redis.Redis(port=sentinel.port)
    wait_until(lambda: redis.Redis(port=replica.port).info("replication")["master_link_status"] == "up")
    wait_until(lambda: any("s_down" not in r["flags"] for r in watcher.sentinel_slaves(NAME)), timeout_s=20)
    master.stop()
    began = time.monotonic()
    wait_until(lambda: watcher.sentinel_get_master_addr_by_name(NAME)[1] == replica.port, timeout_s=30)
    promoted_s = time.monotonic() - began
    wait_until(lambda: _lands_on(replica), timeout_s=30)
    writable_s = time.monotonic() - began
    assert _direct(replica).get("through-sentinel") == b"yes"  # replicated before the failover
    assert client.get("/health/ready").status_code == 200

    report_figures(
        record_property,
        "redis sentinel failover",
        down_after_ms=sentinel.down_after_ms,
        sentinel_named_new_master_s=round(promoted_s, 2),
        service_writes_again_s=round(writable_s, 2),
    )
