"""On PostgreSQL, where a new order is written in one statement: Idempotency-Key, reuse of returned grams."""

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from models import Allocation, Batch, IdempotencyKey, Order, Reservation, utcnow
from models.database import unit_of_work
from services.pool import reservations
from services.pool.pool_audit import run_audit
from services.pool.reservations import Selector
from services.sales import order_rows
from tests.support.accounts import bearer, login_user
from tests.support.pool import stock_pool

pytestmark = pytest.mark.postgres

ONE_UNIT = {"product": "one_yuan", "units": 1}
TONNE = 1_000_000


@pytest.fixture
def app_overrides():
    return {"DATABASE_POOL_SIZE": 10}


def _slices(out_trade_no: str) -> list[tuple[int, int]]:
    with unit_of_work() as session:
        rows = session.execute(
            select(Allocation.start_g, Allocation.end_g)
            .join(Order, Order.reservation_id == Allocation.reservation_id)
            .where(Order.out_trade_no == out_trade_no)
        ).all()
        return sorted((start, end) for start, end in rows)


def _counts() -> tuple[int, int]:
    """(reservations, orders): a one-statement write that could not serve its order leaves no row."""
    with unit_of_work() as session:
        return (
            session.scalar(select(func.count()).select_from(Reservation)),
            session.scalar(select(func.count()).select_from(Order)),
        )


def test_same_key_same_order_other_body_refused(pg_client):
    stock_pool(tonnes=1)
    token, _ = login_user(pg_client, "keyed-buyer")
    headers = {**bearer(token), "Idempotency-Key": "order-1"}
    first = pg_client.post("/api/v1/orders", json=ONE_UNIT, headers=headers)
    again = pg_client.post("/api/v1/orders", json=ONE_UNIT, headers=headers)
    other = pg_client.post("/api/v1/orders", json={"product": "one_yuan", "units": 2}, headers=headers)
    assert first.status_code == 201 and again.status_code == 201
    assert again.json["order"]["out_trade_no"] == first.json["order"]["out_trade_no"]
    assert other.status_code == 422
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
        stored = session.scalars(select(IdempotencyKey)).one()
        order_id = session.scalar(select(Order.id))
        assert stored.resource_id == str(order_id)


def test_one_key_raced_by_many_requests_makes_one_order(pg_app):
    stock_pool(tonnes=1)
    client = pg_app.test_client()
    token, _ = login_user(client, "racing-buyer")
    headers = {**bearer(token), "Idempotency-Key": "raced"}
    barrier = threading.Barrier(8)
    numbers: list[str] = []

    def place() -> None:
        barrier.wait(timeout=30)
        placed = client.post("/api/v1/orders", json=ONE_UNIT, headers=headers)
        assert placed.status_code == 201, placed.json
        numbers.append(placed.json["order"]["out_trade_no"])

    threads = [threading.Thread(target=place) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(numbers) == 8 and len(set(numbers)) == 1
    assert list(run_audit(pool_only=True)) == []


def test_returned_grams_are_sold_again_first(pg_client):
    stock_pool(tonnes=1)
    token, _ = login_user(pg_client, "returning-buyer")
    first = pg_client.post("/api/v1/orders", json=ONE_UNIT, headers=bearer(token)).json["order"]
    second = pg_client.post("/api/v1/orders", json=ONE_UNIT, headers=bearer(token)).json["order"]
    cancelled = pg_client.post(f"/api/v1/orders/{first['out_trade_no']}/cancel", headers=bearer(token))
    assert cancelled.status_code == 200
    third = pg_client.post("/api/v1/orders", json=ONE_UNIT, headers=bearer(token)).json["order"]
    fourth = pg_client.post("/api/v1/orders", json=ONE_UNIT, headers=bearer(token)).json["order"]
    assert _slices(second["out_trade_no"]) == [(10_000, 20_000)]
    assert _slices(third["out_trade_no"]) == [(0, 10_000)]  # the cancelled order's grams
    assert _slices(fourth["out_trade_no"]) == [(20_000, 30_000)]  # then the tail again
    assert _counts() == (4, 4)
    assert list(run_audit(pool_only=True)) == []


def test_an_order_spanning_two_batches_takes_the_older_first(pg_client):
    project_id, (older, newer) = stock_pool(tonnes=2)
    token, _ = login_user(pg_client, "large-buyer")
    body = {"product": "credits", "project_id": project_id, "kg": 600}
    first = pg_client.post("/api/v1/orders", json=body, headers=bearer(token))
    second = pg_client.post("/api/v1/orders", json=body, headers=bearer(token))
    assert first.status_code == 201 and second.status_code == 201, second.json
    assert [(line["batch_id"], line["grams"]) for line in first.json["order"]["lines"]] == [(older, 600_000)]
    spanning = second.json["order"]["lines"]
    assert [(line["batch_id"], line["grams"]) for line in spanning] == [(older, 400_000), (newer, 200_000)]
    assert sum(line["amount_fen"] for line in spanning) == second.json["order"]["amount_fen"]
    assert _slices(second.json["order"]["out_trade_no"]) == [(0, 200_000), (600_000, 1_000_000)]
    assert _counts() == (2, 2)
    assert list(run_audit(pool_only=True)) == []


def test_a_batch_emptied_while_the_order_waits_for_it_sends_the_order_elsewhere(pg_app):
    """The first batch looks right when the order's statement starts, but a reservation holding its
    lock takes all of it: the statement takes nothing, the order starts again and goes to the next."""
    _, (older, newer) = stock_pool(tonnes=2)
    client = pg_app.test_client()
    token, _ = login_user(client, "patient-buyer")
    locked = threading.Event()

    def take_the_older_batch() -> None:
        with unit_of_work() as session:
            reservations.reserve_in(session, TONNE, Selector(), utcnow() + timedelta(minutes=15))
            locked.set()
            time.sleep(1.0)  # the order's statement is waiting for this batch row meanwhile

    holder = threading.Thread(target=take_the_older_batch)
    holder.start()
    assert locked.wait(timeout=10)
    placed = client.post("/api/v1/orders", json=ONE_UNIT, headers=bearer(token))
    holder.join()
    assert placed.status_code == 201, placed.json
    assert [line["batch_id"] for line in placed.json["order"]["lines"]] == [newer]
    with unit_of_work() as session:
        assert session.get(Batch, older, populate_existing=True).reserved_g == TONNE
    assert _counts() == (2, 1)  # the holder's reservation and the order's
    assert list(run_audit(pool_only=True)) == []


def _broken_connection() -> OperationalError:
    return OperationalError(
        "WITH ...", {}, Exception("server closed the connection unexpectedly"), connection_invalidated=True
    )


def test_an_order_whose_connection_broke_after_it_landed_is_answered_once(pg_client, monkeypatch):
    """The one-statement write lands, then its connection breaks before the answer comes back: the
    careful path finds the order by its own number and answers it; nothing is written twice."""
    stock_pool(tonnes=1)
    token, _ = login_user(pg_client, "unlucky-buyer")
    write = order_rows.write_whole_order

    def lands_then_breaks(order, capped_by=None):
        write(order, capped_by)
        raise _broken_connection()

    monkeypatch.setattr(order_rows, "write_whole_order", lands_then_breaks)
    placed = pg_client.post("/api/v1/orders", json=ONE_UNIT, headers=bearer(token))
    assert placed.status_code == 201, placed.json
    assert placed.json["order"]["status"] == "awaiting_payment"
    assert _counts() == (1, 1)
    # With an Idempotency-Key the key row landed too: the order is still this request's own, open to pay.
    keyed = pg_client.post(
        "/api/v1/orders", json=ONE_UNIT, headers={**bearer(token), "Idempotency-Key": "k-1"}
    )
    assert keyed.status_code == 201, keyed.json
    assert keyed.json["request_payment"] is not None and keyed.json["payment_error"] is None
    assert keyed.json["order"]["status"] == "awaiting_payment"
    assert _counts() == (2, 2)
    assert _slices(placed.json["order"]["out_trade_no"]) == [(0, 10_000)]
    assert list(run_audit(pool_only=True)) == []


def test_an_order_whose_connection_broke_before_it_landed_is_written_the_careful_way(pg_client, monkeypatch):
    stock_pool(tonnes=1)
    token, _ = login_user(pg_client, "unluckier-buyer")

    def breaks(_order, _capped_by=None):
        raise _broken_connection()

    monkeypatch.setattr(order_rows, "write_whole_order", breaks)
    placed = pg_client.post("/api/v1/orders", json=ONE_UNIT, headers=bearer(token))
    assert placed.status_code == 201, placed.json
    assert _counts() == (1, 1)
    assert _slices(placed.json["order"]["out_trade_no"]) == [(0, 10_000)]
    assert list(run_audit(pool_only=True)) == []


@pytest.mark.parametrize("app_overrides", [{"DATABASE_POOL_SIZE": 10, "MAX_OPEN_ORDERS_PER_USER": 1}])
def test_the_usual_order_is_written_by_the_whole_statement_and_caps_are_checked_in_it(pg_client, monkeypatch):
    """A person's usual order never reaches the portable writer; an order over a cap is held back by
    the statement itself and explained by the careful path, which writes nothing."""
    from services.sales import order_caps

    stock_pool(tonnes=1)
    token, _ = login_user(pg_client, "steady-buyer")
    careful: list[object] = []
    write_new = order_rows.write_new_order
    monkeypatch.setattr(order_rows, "write_new_order", lambda *args: careful.append(args) or write_new(*args))
    placed = pg_client.post("/api/v1/orders", json=ONE_UNIT, headers=bearer(token))
    assert placed.status_code == 201, placed.json
    assert careful == []
    # Past the early check (as when two orders race): the statement picks no batch, the careful
    # path refuses with 429 before it writes.
    monkeypatch.setattr(order_caps, "payer_checked", lambda user_id, grams, policy: "o-steady-buyer")
    refused = pg_client.post("/api/v1/orders", json=ONE_UNIT, headers=bearer(token))
    assert refused.status_code == 429, refused.json
    assert careful == []
    assert _counts() == (1, 1)
