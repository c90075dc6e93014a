"""The lean reference of `python -m bench.purchase --driver wrk`: the least a purchase could cost.

A bare Flask app, none of the project's code: each gunicorn worker holds one psycopg connection,
and `POST /order` does one conditional UPDATE of a batch-like row and one INSERT of an order-like
row, in one transaction, in small tables of its own (`lean_batches`, `lean_orders`, made by
`create_tables`). It is served under the same gunicorn settings and on the same database server as
the service, so the service's figures can be read as a ratio to it.

    LEAN_DATABASE_URL=postgresql://... gunicorn bench.lean_app:app -c gunicorn.conf.py
"""

from __future__ import annotations

import os

import psycopg
from flask import Flask

app = Flask(__name__)
GRAMS = 10_000

_connection: psycopg.Connection | None = None


def _conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def connection() -> psycopg.Connection:
    """This worker's one connection, opened at its first request (after gunicorn has forked)."""
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(_conninfo(os.environ["LEAN_DATABASE_URL"]))
    return _connection


def create_tables(url: str, grams: int = 10**15) -> None:
    """The lean app's two tables, and one batch holding `grams`."""
    with psycopg.connect(_conninfo(url), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS lean_batches (id integer PRIMARY KEY,"
            " available_g bigint NOT NULL CHECK (available_g >= 0),"
            " reserved_g bigint NOT NULL DEFAULT 0)"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS lean_orders (id bigserial PRIMARY KEY,"
            " batch_id integer NOT NULL REFERENCES lean_batches (id), grams bigint NOT NULL,"
            " status varchar(32) NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            "INSERT INTO lean_batches (id, available_g) VALUES (1, %s) ON CONFLICT (id) DO NOTHING", (grams,)
        )


@app.get("/health/ready")
def ready() -> dict[str, bool]:
    return {"ready": True}


@app.post("/order")
def order() -> tuple[dict[str, int], int]:
    conn = connection()
    with conn.transaction():
        reserved = conn.execute(
            "UPDATE lean_batches SET available_g = available_g - %s, reserved_g = reserved_g + %s"
            " WHERE id = 1 AND available_g >= %s RETURNING id",
            (GRAMS, GRAMS, GRAMS),
        ).fetchone()
        if reserved is None:
            return {"error": 409}, 409
        order_id = conn.execute(
            "INSERT INTO lean_orders (batch_id, grams, status) VALUES (1, %s, 'awaiting_payment') RETURNING id",
            (GRAMS,),
        ).fetchone()[0]
    return {"id": order_id}, 201
