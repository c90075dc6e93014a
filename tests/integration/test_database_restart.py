"""PostgreSQL restarted under load: requests in flight fail with 503 and a retry hint, nothing is half done,
and the service recovers without a restart of its own. Runs on a PostgreSQL server of the test's own."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import Batch, Order, OrderStatus
from models.database import db_session, unit_of_work
from services.pool_audit import run_audit
from tests.conftest import _make_app, alembic_upgrade
from tests.support.pool import stock_pool

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1] if glob.glob("/usr/lib/postgresql/*/bin") else ""


def _as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@pytest.fixture
def private_pg():
    if not BIN or (os.geteuid() == 0 and not shutil.which("runuser")):
        pytest.skip("PostgreSQL server binaries are not installed")
    # Not under pytest's tmp dir: the server runs as `postgres`, which may not enter root's directories.
    data = Path(tempfile.mkdtemp(prefix="carbon-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    subprocess.run(
        _as_postgres(f"{BIN}/initdb", "-D", str(data), "-U", "root", "--auth=trust"),
        check=True,
        capture_output=True,
    )
    ctl = [
        f"{BIN}/pg_ctl",
        "-D",
        str(data),
        "-w",
        "-l",
        str(data / "log"),
        "-o",
        f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off",
    ]
    subprocess.run(_as_postgres(*ctl, "start"), check=True, capture_output=True)
    subprocess.run(
        _as_postgres(f"{BIN}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "root", "carbon"),
        check=True,
        capture_output=True,
    )
    yield (
        f"postgresql+psycopg://root@127.0.0.1:{port}/carbon",
        lambda: subprocess.run(_as_postgres(*ctl, "-m", "fast", "restart"), check=True, capture_output=True),
    )
    subprocess.run(_as_postgres(*ctl, "-m", "immediate", "stop"), capture_output=True)
    shutil.rmtree(data, ignore_errors=True)


def test_service_survives_a_database_restart(private_pg, redis_url):
    url, restart = private_pg
    alembic_upgrade(url)
    app = _make_app(url, redis_url, DATABASE_POOL_SIZE=8)
    with app.app_context():
        stock_pool(tonnes=20)
    client = app.test_client()
    tokens = [client.post("/api/v1/auth/login", json={"code": f"pg-{i}"}).json["token"] for i in range(6)]
    statuses: list[int] = []
    retry_hints: list[str | None] = []
    lock = threading.Lock()
    stop = threading.Event()

    def buyer(token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            while not stop.is_set():
                placed = client.post(
                    "/api/v1/orders", json={"product": "one_yuan", "units": 1}, headers=headers
                )
                answer = placed
                if placed.status_code == 201:
                    number = placed.json["order"]["out_trade_no"]
                    answer = client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=headers)
                with lock:
                    statuses.append(answer.status_code)
                    if answer.status_code == 503:
                        retry_hints.append(answer.headers.get("Retry-After"))
        finally:
            db_session.remove()

    threads = [threading.Thread(target=buyer, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    restart()
    time.sleep(2.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    assert all(hint for hint in retry_hints)
    assert statuses[-len(tokens) :].count(200) > 0  # recovered without restarting the app
    with app.app_context():
        with unit_of_work() as session:
            orders = session.scalars(select(Order)).all()
            sold = session.scalar(select(func.sum(Batch.sold_g)))
        assert all(
            o.status in (OrderStatus.FULFILLED, OrderStatus.AWAITING_PAYMENT, OrderStatus.CREATED)
            for o in orders
        )
        assert sold == sum(o.grams for o in orders if o.status == OrderStatus.FULFILLED)
        assert list(run_audit()) == []
