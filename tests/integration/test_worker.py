"""The background worker: scheduled tasks run for real through RQ against Redis."""

import subprocess
import sys
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import update

from models import Order, utcnow
from models.database import unit_of_work
from worker import tasks
from worker.schedule import QUEUE, SCHEDULE, resolve

pytestmark = pytest.mark.postgres


def test_every_scheduled_task_resolves():
    assert all(callable(resolve(job.task)) for job in SCHEDULE)


def test_the_worker_runs_without_flask():
    """The worker starts its runtime through bootstrap: loading its tasks loads no web framework."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, worker.tasks; print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'api')))",
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]", loaded.stdout


def test_expiry_runs_through_an_rq_worker(pg_app, pg_client, redis_url, monkeypatch):
    from datetime import timedelta

    from tests.support.pool import stock_pool

    monkeypatch.setattr(tasks, "_runtime", pg_app.extensions["carbon.runtime"])
    stock_pool()
    token = pg_client.post("/api/v1/auth/login", json={"code": "worker-buyer"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    number = pg_client.post("/api/v1/orders", json={"product": "one_yuan", "units": 1}, headers=headers).json[
        "order"
    ]["out_trade_no"]
    with unit_of_work() as session:
        session.execute(update(Order).values(expires_at=utcnow() - timedelta(minutes=1)))

    connection = Redis.from_url(redis_url)
    queue = Queue(QUEUE, connection=connection)
    job = queue.enqueue(tasks.expire_orders)
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert job.get_status() == "finished", job.exc_info
    assert job.return_value()["changed"] == 1
    assert pg_client.get(f"/api/v1/orders/{number}", headers=headers).json["status"] == "expired"
