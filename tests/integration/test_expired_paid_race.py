"""On PostgreSQL: orders paid at the last second, callbacks lost, racing expiry, reads and the sync job.

Each buyer pays at the loopback WeChat Pay just as the order's time runs out, and the callback never
arrives. Then, staggered, the expiry job, buyers reading their orders (which expires them here,
without WeChat Pay) and the sync job run at once on several threads. However they interleave, no
paid order stays ended: each is fulfilled once (its grams still held, or reserved again), or, when
the pool sold out meanwhile, refunded in full once at WeChat Pay.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from api.context import order_policy, payment_provider
from models import Certificate, Order, OrderStatus, PaymentEvent, utcnow
from models.database import unit_of_work
from services.pool.pool_audit import run_audit
from services.sales import orders
from services.settlement.order_jobs import expire_due_orders, finish_refunds, query_silent_orders
from tests.support.accounts import bearer, login_user
from tests.support.concurrency import run_together
from tests.support.pool import stock_pool

pytestmark = pytest.mark.postgres

ORDERS = 10
THREADS = 9
STAGGER_S = 0.02


@pytest.fixture
def app_overrides(fake_wechatpay, tmp_path):
    return fake_wechatpay.settings(tmp_path, "wechatpay_v3", DATABASE_POOL_SIZE=THREADS + 2)


def _place(client, name: str, units: int) -> str:
    token, _ = login_user(client, name)
    answer = client.post(
        "/api/v1/orders", json={"product": "one_yuan", "units": units}, headers=bearer(token)
    )
    assert answer.status_code == 201, answer.json
    return answer.json["order"]["out_trade_no"]


def _paid_at_the_last_second(client, fake, units: int) -> list[str]:
    numbers = [_place(client, f"last-second-{i}", units) for i in range(ORDERS)]
    for number in numbers:
        fake.pay(number)  # no callback reaches the service
    with unit_of_work() as session:
        session.execute(
            update(Order)
            .where(Order.out_trade_no.in_(numbers))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    return numbers


def _race(pg_app, numbers: list[str]) -> list[object]:
    """Expiry, reads and sync on staggered threads; the job reports (or exceptions) of each."""
    with unit_of_work() as session:
        ids = dict(
            session.execute(select(Order.out_trade_no, Order.id).where(Order.out_trade_no.in_(numbers))).all()
        )

    def step(index: int) -> object:
        time.sleep(index * STAGGER_S)
        with pg_app.app_context():
            provider, policy = payment_provider(), order_policy()
            if index % 3 == 0:
                return expire_due_orders(provider, policy)
            if index % 3 == 1:  # buyers look at their orders: each read expires an order past its time
                return [orders.expire_order(ids[n], "expired when read") for n in numbers[index % 2 :: 2]]
            return query_silent_orders(provider, policy, quiet_s=0)

    outcomes = run_together(step, THREADS)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    with pg_app.app_context():  # the next scheduled run of the sync job
        outcomes.append(query_silent_orders(payment_provider(), order_policy(), quiet_s=0))
    return outcomes


def _states(numbers: list[str]) -> tuple[Counter, Counter, int]:
    with unit_of_work() as session:
        statuses = Counter(session.scalars(select(Order.status).where(Order.out_trade_no.in_(numbers))).all())
        events = Counter(
            session.scalars(
                select(PaymentEvent.order_id).join(Order).where(Order.out_trade_no.in_(numbers))
            ).all()
        )
        certificates = session.scalar(
            select(func.count()).select_from(Certificate).join(Order).where(Order.out_trade_no.in_(numbers))
        )
    return statuses, events, certificates


def test_paid_orders_racing_expiry_are_all_fulfilled_once(pg_app, pg_client, fake_wechatpay):
    stock_pool(tonnes=1)
    numbers = _paid_at_the_last_second(pg_client, fake_wechatpay, units=2)

    _race(pg_app, numbers)

    statuses, events, certificates = _states(numbers)
    assert statuses == Counter({OrderStatus.FULFILLED: ORDERS}), statuses  # none stranded
    assert len(events) == ORDERS and set(events.values()) == {1}  # each payment taken once
    assert certificates == ORDERS
    assert not fake_wechatpay.refunds
    assert all(fake_wechatpay.trades[n].state == "SUCCESS" for n in numbers)
    assert list(run_audit()) == []


def test_paid_orders_whose_grams_were_sold_meanwhile_are_refunded_once(pg_app, pg_client, fake_wechatpay):
    stock_pool(tonnes=1)
    numbers = _paid_at_the_last_second(pg_client, fake_wechatpay, units=10)  # 100 kg each: the whole tonne
    with pg_app.app_context():
        with unit_of_work() as session:
            ids = session.scalars(select(Order.id).where(Order.out_trade_no.in_(numbers))).all()
        for order_id in ids:
            orders.expire_order(order_id, "expired when read")  # their grams go back to the pool
    rival = _place(pg_client, "rival", units=50)  # half the tonne is sold to someone else
    fake_wechatpay.pay(rival)
    callback = fake_wechatpay.payment_callback(rival)
    delivered = pg_client.post(
        "/api/v1/payments/wechatpay_v3/notify",
        data=callback.body,
        headers={"Content-Type": "application/json", **callback.headers},
    )
    assert delivered.status_code == 200

    _race(pg_app, numbers)

    refunded = Counter(r.out_trade_no for r in fake_wechatpay.refunds.values())
    assert set(refunded.values()) == {1} and len(refunded) == ORDERS // 2  # once each, never twice
    assert all(r.refund == r.total == 1_000 for r in fake_wechatpay.refunds.values())
    statuses, events, certificates = _states(numbers)
    assert statuses == Counter({OrderStatus.FULFILLED: ORDERS // 2, OrderStatus.PAID: ORDERS // 2})
    assert len(events) == ORDERS and set(events.values()) == {1}
    assert certificates == ORDERS // 2

    for out_refund_no in list(fake_wechatpay.refunds):
        fake_wechatpay.settle_refund(out_refund_no)
    with pg_app.app_context():
        finish_refunds(payment_provider(), order_policy())
    statuses, _events, _certificates = _states(numbers)
    assert statuses == Counter({OrderStatus.FULFILLED: ORDERS // 2, OrderStatus.REFUNDED: ORDERS // 2})
    assert list(run_audit()) == []
