"""A pool with a history for the public ledger's tests, the verifier pointed at a test client, and the
ways an operator could rewrite the log behind the API's back."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, text, update

from api import create_app
from clients.ledger_verifier import FetchError
from models import LedgerEntry, LedgerHead, LedgerNode, LedgerState, database
from models.database import unit_of_work
from services.kernel import beijing_time
from services.ledger import merkle, tree_heads
from services.pool import catalogue_admin
from tests.support.accounts import bearer, login_user
from tests.support.sales import buy

TONNE = 1_000_000
HEADER = (
    "project_code,vintage,serial_prefix,serial_start,serial_end,serial_digits,quantity_t,"
    "issued_on,registry_ref,registry_url"
)


def client_fetch(client: FlaskClient):
    """The verifier's `fetch` answered by the Flask test client (no socket)."""

    def fetch(path: str) -> Any:
        response = client.get(path)
        if response.status_code != 200:
            raise FetchError(f"GET {path}: HTTP {response.status_code}")
        return response.get_json()

    return fetch


def import_batches(client: FlaskClient, admin: dict[str, str], rows: list[str]) -> Any:
    data = "\n".join([HEADER, *rows]).encode()
    response = client.post(
        "/api/v1/admin/batches/import",
        data={"file": (io.BytesIO(data), "batches.csv")},
        headers=admin,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    return response.json


def build_history(client: FlaskClient, admin: dict[str, str]) -> dict[str, Any]:
    """Two batches imported; A buys 1.5 t, B 0.5 t, C 0.2 t of the first; C has 50 kg refunded; the
    first tonne (A's) is retired at the registry. Every kind of entry, in that order."""
    catalogue_admin.create_kind(None, {"code": "FFCER", "name": "FFCER", "price_fen_per_t": 10_000})
    catalogue_admin.create_project(
        None, {"code": "SC-01", "name": "顺昌竹林经营", "kind_code": "FFCER", "county": "顺昌县"}
    )
    import_batches(
        client,
        admin,
        [
            "SC-01,2021,FFCER-350721-01-,1,3,7,3,2022-06-28,FFCER-2022-027,https://registry.example.cn/b/27",
            "SC-01,2022,FFCER-350721-01-,4,5,7,2,2023-06-28,FFCER-2023-031,",
        ],
    )
    people = {name: bearer(login_user(client, f"ledger-{name}")[0]) for name in "abc"}
    orders = {
        "a": buy(client, people["a"], 150, holder_name="陈小明"),
        "b": buy(client, people["b"], 50, holder_name="李华"),
        "c": buy(client, people["c"], 20, holder_name="王芳"),
    }
    refund = client.post(f"/api/v1/orders/{orders['c']}/refunds", json={"grams": 50_000}, headers=people["c"])
    assert refund.status_code == 201 and refund.json["status"] == "succeeded", refund.json
    retirement = client.post(
        "/api/v1/admin/retirements", json={"kind": "FFCER", "max_tonnes": 1}, headers=admin
    ).json
    client.post(f"/api/v1/admin/retirements/{retirement['id']}/submit", json={}, headers=admin)
    confirmed = client.post(
        f"/api/v1/admin/retirements/{retirement['id']}/confirm",
        json={"registry_ref": "FJ-ZX-2026-0042", "retired_on": beijing_time.today().isoformat()},
        headers=admin,
    )
    assert confirmed.status_code == 200, confirmed.json
    return {"people": people, "orders": orders, "retirement": retirement["id"]}


def entries(client: FlaskClient) -> list[str]:
    return [item["entry"] for item in client.get("/api/v1/ledger/entries?start=0&end=999").json["entries"]]


def sign() -> tree_heads.SigningResult:
    return tree_heads.sign_if_grown()


# -- rewriting the log in the database (what the verifier must catch) --


def rewrite_entry(index: int, old: str, new: str, *, rehash: bool = False) -> None:
    """Change the text of one entry; `rehash` also stores the new text's leaf hash."""
    with unit_of_work() as session:
        entry = session.get(LedgerEntry, index)
        assert old in entry.entry, entry.entry
        entry.entry = entry.entry.replace(old, new)
        if rehash:
            entry.leaf_hash = merkle.leaf_hash(entry.entry.encode())


def delete_entry(index: int) -> None:
    with unit_of_work() as session:
        session.execute(delete(LedgerEntry).where(LedgerEntry.log_index == index))


def swap_entries(first: int, second: int) -> None:
    """Swap two entries, text and leaf hash."""
    with unit_of_work() as session:
        a, b = session.get(LedgerEntry, first), session.get(LedgerEntry, second)
        a.entry, b.entry = b.entry, a.entry
        a.leaf_hash, b.leaf_hash = b.leaf_hash, a.leaf_hash


def cut_log_at(index: int) -> None:
    """Drop entry `index` and all after it, the heads that cover them and the subtree hashes beyond
    the latest head left, so that the log can be written and signed again from there (a fork)."""
    with unit_of_work() as session:
        session.execute(delete(LedgerEntry).where(LedgerEntry.log_index >= index))
        session.execute(delete(LedgerHead).where(LedgerHead.tree_size > index))
        kept = session.scalar(select(func.max(LedgerHead.tree_size))) or 0
        for level in range(1, 63):
            session.execute(
                delete(LedgerNode).where(LedgerNode.level == level, LedgerNode.node_index >= kept >> level)
            )
        session.execute(update(LedgerState).values(size=index))


def forget_log() -> None:
    """Empty the ledger's tables, as on a database whose pool has a history from before the ledger
    (PostgreSQL's append-only triggers held off for it)."""
    with unit_of_work() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        for table in ("ledger_entries", "ledger_heads"):
            if postgres:
                session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
            session.execute(text(f"DELETE FROM {table}"))
            if postgres:
                session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"))
        session.execute(delete(LedgerNode))
        session.execute(update(LedgerState).values(size=0))


def restart(database_url: str, redis_url: str = "", **overrides: Any) -> Flask:
    """The service started again on the same database (a new release after an upgrade): a new
    engine, which has not seen the log yet."""
    database.db_session.remove()
    return create_app(
        "testing", overrides={"DATABASE_URL": database_url, "REDIS_URL": redis_url, **overrides}
    )


def log_size() -> int:
    with unit_of_work() as session:
        return int(session.scalar(select(LedgerState.size)) or 0)


def raw_sql(statement: str) -> None:
    with unit_of_work() as session:
        session.execute(text(statement))
