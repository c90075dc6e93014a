"""The public ledger on PostgreSQL: concurrent fulfilments numbered without gaps, entries and heads
that the database itself refuses to change, the signing job through RQ, and the stand-alone verifier
run as a program against gunicorn on a loopback port."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from clients.ledger_verifier import verify
from models import Certificate, LedgerEntry
from models.database import db_session, unit_of_work
from services.ledger import merkle, recording, tree_heads, tree_store
from services.pool.pool_audit import run_audit
from tests.support.ledger import build_history, client_fetch, entries, forget_log, restart
from tests.support.live import live_service
from tests.support.pool import stock_pool
from worker import tasks
from worker.schedule import QUEUE

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
BUYERS = 24


@pytest.fixture
def app_overrides():
    return {"DATABASE_POOL_SIZE": 12}


def test_concurrent_fulfilments_and_refunds_are_numbered_without_gaps(pg_app, pg_client):
    stock_pool(tonnes=2)
    tokens = [
        pg_client.post("/api/v1/auth/login", json={"code": f"ledger-pg-{i}"}).json["token"]
        for i in range(BUYERS)
    ]
    barrier = threading.Barrier(BUYERS)
    failures: list[str] = []

    def buyer(index: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[index]}"}
        try:
            placed = pg_client.post(
                "/api/v1/orders", json={"product": "one_yuan", "units": 2}, headers=headers
            )
            number = placed.json["order"]["out_trade_no"]
            barrier.wait(timeout=60)  # every payment at once: fulfilments race for the ledger's counter
            paid = pg_client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=headers)
            if paid.status_code != 200:
                failures.append(f"pay {paid.status_code}")
            if index % 3 == 0:  # and some refunds among them
                refund = pg_client.post(
                    f"/api/v1/orders/{number}/refunds", json={"grams": 10_000}, headers=headers
                )
                if refund.status_code != 201:
                    failures.append(f"refund {refund.status_code}")
        except Exception as exc:
            failures.append(repr(exc))
        finally:
            db_session.remove()

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert failures == []
    refunds = len(range(0, BUYERS, 3))
    expected = 2 + BUYERS + 3 * refunds  # 2 batches; a certificate each; returned, ended, reissued
    with unit_of_work() as session:
        indexes = list(session.scalars(select(LedgerEntry.log_index).order_by(LedgerEntry.log_index)))
        certificates = session.scalar(select(func.count()).select_from(Certificate))
    assert indexes == list(range(expected)) and certificates == BUYERS + refunds
    assert list(run_audit()) == []
    assert tree_heads.sign_if_grown().tree_size == expected
    assert list(run_audit()) == []  # with a head: its root from the entries and from the stored subtrees
    report = verify(client_fetch(pg_client))
    assert report.ok, report.lines()


def test_two_first_changes_after_an_upgrade_open_the_log_once(
    pg_app, pg_client, pg_admin_headers, pg_url, redis_url, monkeypatch
):
    """The pool has a history but the log is empty (a database from before the ledger). While one
    unit of work opens the log with the pool, holding the counter's lock, a second one waits for it,
    then finds the log open and appends only its own entry."""
    build_history(pg_client, pg_admin_headers)
    forget_log()
    restart(pg_url, redis_url)
    inside, release = threading.Event(), threading.Event()
    real = recording.pool_entries_in

    def held_open(session):
        found = real(session)
        if not inside.is_set():
            inside.set()
            release.wait(timeout=60)
        return found

    monkeypatch.setattr(recording, "pool_entries_in", held_open)

    def append(label: str) -> None:
        try:
            with unit_of_work() as session:
                tree_store.append_in(session, {"type": "probe", "by": label})
        finally:
            db_session.remove()

    first = threading.Thread(target=append, args=("first",))
    first.start()
    assert inside.wait(timeout=60)
    second = threading.Thread(target=append, args=("second",))
    second.start()
    second.join(timeout=2)
    waited = second.is_alive()  # on the counter row's lock, which the opening holds
    release.set()
    first.join(timeout=60)
    second.join(timeout=60)
    assert waited
    bodies = [json.loads(t) for t in entries(pg_client)]
    with unit_of_work() as session:
        valid = session.scalar(
            select(func.count()).select_from(Certificate).where(Certificate.status == "valid")
        )
    assert [b["type"] for b in bodies] == [
        "batch_issued",
        "batch_issued",
        *["certificate_issued"] * valid,
        "tonnes_retired",
        "probe",
        "probe",
    ]
    assert [b["by"] for b in bodies[-2:]] == ["first", "second"]


def test_the_database_refuses_to_change_or_delete_an_entry_or_a_head(pg_app, pg_client, pg_admin_headers):
    build_history(pg_client, pg_admin_headers)
    tree_heads.sign_if_grown()
    for statement in (
        "UPDATE ledger_entries SET entry = '{}' WHERE log_index = 0",
        "DELETE FROM ledger_entries WHERE log_index = 3",
        "UPDATE ledger_heads SET timestamp = 0",
        "DELETE FROM ledger_heads",
    ):
        with pytest.raises(DBAPIError, match="append-only"), unit_of_work() as session:
            session.execute(text(statement))
    assert len(entries(pg_client)) == 9


def test_the_signing_job_runs_through_an_rq_worker(
    pg_app, pg_client, pg_admin_headers, redis_url, monkeypatch
):
    monkeypatch.setattr(tasks, "_runtime", pg_app.extensions["carbon.runtime"])
    build_history(pg_client, pg_admin_headers)
    connection = Redis.from_url(redis_url)
    queue = Queue(QUEUE, connection=connection)
    signed, again = queue.enqueue(tasks.sign_ledger_head), queue.enqueue(tasks.sign_ledger_head)
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert signed.get_status() == "finished", signed.exc_info
    assert signed.return_value()["signed"] is True and again.return_value()["signed"] is False
    head = pg_client.get("/api/v1/ledger/head").json
    leaves = [merkle.leaf_hash(t.encode()) for t in entries(pg_client)]
    assert head["root_hash"] == merkle.root_of(leaves).hex()


def test_the_stand_alone_verifier_checks_a_live_service(
    pg_app, pg_client, pg_admin_headers, pg_url, redis_url, tmp_path
):
    history = build_history(pg_client, pg_admin_headers)
    tree_heads.sign_if_grown()
    saved, copy = tmp_path / "head.json", tmp_path / "log.jsonl"
    with live_service(pg_url, redis_url, tmp_path, workers=1, TRANSPARENCY_CACHE_S=0) as server:
        script = [sys.executable, "-I", str(ROOT / "clients" / "ledger_verifier.py"), "--url", server.base]
        first = subprocess.run(
            [*script, "--save-head", str(saved), "--copy", str(copy)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert first.returncode == 0, first.stdout + first.stderr
        assert "ledger verified" in first.stdout and json.loads(saved.read_text())["tree_size"] == 9
        assert len(copy.read_text().splitlines()) == 9

        refund = pg_client.post(
            f"/api/v1/orders/{history['orders']['b']}/refunds", json={}, headers=history["people"]["b"]
        )
        assert refund.status_code == 201, refund.json
        tree_heads.sign_if_grown()
        second = subprocess.run(
            [*script, "--head", str(saved), "--save-head", str(saved), "--copy", str(copy)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 0, second.stdout + second.stderr
        assert "consistent with the saved head of 9 entries" in second.stdout
        assert json.loads(saved.read_text())["tree_size"] == 11

        with unit_of_work() as session:  # the operator rewrites one entry behind the API's back
            session.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only"))
            session.execute(
                text("UPDATE ledger_entries SET entry = replace(entry, :old, :new) WHERE log_index = 3"),
                {"old": '"grams":500000', "new": '"grams":400000'},
            )
            session.execute(text("ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_append_only"))
        command = pg_app.test_cli_runner().invoke(
            args=["ledger", "verify", "--url", server.base, "--head", str(saved), "--copy", str(copy)]
        )
        assert command.exit_code == 1, command.output
        assert "FAIL entry 3: not the entry the head of 11 entries signed" in command.output
        assert "FAIL entry 3: differs from the copy kept last time" in command.output
