"""How many SQL statements a payment's fulfilment costs on PostgreSQL.

Fulfilment is the slowest step of a purchase (certificate, points, ledger, batch counters in one
transaction), so its statement count is a budget: a change that adds round trips to it fails here
and has to say why.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from models.database import get_engine
from tests.support.accounts import bearer, login_user
from tests.support.pool import stock_pool

pytestmark = pytest.mark.postgres

# The sandbox payment with the ledger on: reopening the payment (4), the callback's fulfilment (22:
# order lock, duplicate check, slices sold, certificate, points, rankings, the sales rollup's delta,
# batch counters, ledger) and the answer's reads (3). It was 37 (without the rollup) before awards
# became two statements and the reservation, slices and claims fewer reads.
FULFILMENT_BUDGET = 29


@contextmanager
def _counted() -> Iterator[list[str]]:
    statements: list[str] = []

    def _count(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split())[:160])

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", _count)


def test_a_purchase_stays_within_its_statement_budget(pg_client):
    stock_pool(tonnes=5)
    token, _ = login_user(pg_client, "budget-buyer")
    headers = bearer(token)
    # A first purchase warms what each process does once (the ledger looks whether it is open).
    first = pg_client.post("/api/v1/orders", json={"product": "one_yuan", "units": 1}, headers=headers)
    pg_client.post(f"/api/v1/sandbox/orders/{first.json['order']['out_trade_no']}/pay", headers=headers)
    placed = pg_client.post("/api/v1/orders", json={"product": "one_yuan", "units": 1}, headers=headers)
    assert placed.status_code == 201, placed.json
    number = placed.json["order"]["out_trade_no"]
    with _counted() as paying:
        paid = pg_client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=headers)
    assert paid.status_code == 200 and paid.json["status"] == "fulfilled", paid.json
    assert len(paying) <= FULFILMENT_BUDGET, "\n".join(paying)
