"""On PostgreSQL: 200 concurrent buyers against a pool that sells out, with duplicated callbacks."""

import random
import threading

import pytest
from sqlalchemy import func, select

from models import Batch, Certificate, Order, OrderStatus
from models.database import db_session, unit_of_work
from services.pool.pool_audit import run_audit
from tests.support.pool import stock_pool

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BUYERS = 200
TONNE = 1_000_000


@pytest.fixture
def app_overrides():
    return {"DATABASE_POOL_SIZE": 20}


def test_two_hundred_buyers_never_oversell(pg_app):
    stock_pool(tonnes=2)
    issued = 2 * TONNE
    client = pg_app.test_client()
    rng = random.Random(11)
    units = [rng.randint(1, 4) for _ in range(BUYERS)]
    assert sum(units) * 10_000 > issued
    barrier = threading.Barrier(BUYERS)
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def buyer(index: int) -> None:
        outcome: tuple[int, str | None] = (0, None)
        try:
            token = client.post("/api/v1/auth/login", json={"code": f"buyer-{index}"}).json["token"]
            headers = {"Authorization": f"Bearer {token}"}
            barrier.wait(timeout=60)
            placed = client.post(
                "/api/v1/orders", json={"product": "one_yuan", "units": units[index]}, headers=headers
            )
            if placed.status_code == 201:
                number = placed.json["order"]["out_trade_no"]
                # Every other buyer's payment is delivered twice at once, as WeChat Pay may do.
                payers = 2 if index % 2 else 1
                threads = [
                    threading.Thread(
                        target=client.post,
                        args=(f"/api/v1/sandbox/orders/{number}/pay",),
                        kwargs={"headers": headers},
                    )
                    for _ in range(payers)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                outcome = (placed.status_code, number)
            else:
                outcome = (placed.status_code, None)
        finally:
            db_session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(results) == BUYERS
    statuses = {status for status, _ in results}
    assert statuses <= {201, 409}, statuses
    assert 409 in statuses  # the pool sold out

    with unit_of_work() as session:
        sold, reserved, available = session.execute(
            select(func.sum(Batch.sold_g), func.sum(Batch.reserved_g), func.sum(Batch.available_g))
        ).one()
        orders = session.scalars(select(Order)).all()
        fulfilled = [o for o in orders if o.status == OrderStatus.FULFILLED]
        certificates = session.scalar(select(func.count()).select_from(Certificate))
    assert sold <= issued and reserved == 0 and sold + available == issued
    assert len(orders) == sum(1 for status, _ in results if status == 201)
    assert all(o.status in (OrderStatus.FULFILLED, OrderStatus.REFUNDED) for o in orders)
    assert sum(o.grams for o in fulfilled) == sold
    assert certificates == len(fulfilled)
    assert list(run_audit()) == []
