"""WeChat Pay timing out and answering 5xx, on the real stack (gunicorn + PostgreSQL + Redis).

The loopback WeChat Pay is told to answer 5xx or to answer too late (after the service's timeout,
though it still acts on the request, as a real server whose answer was lost does) while buyers
order, pay and ask for refunds over HTTP. Prepay, query and refund are retried with growing waits,
each under its own idempotency key (`out_trade_no`, `out_refund_no`), and the jobs finish what the
retries could not. The money side never doubles: one trade per order, each paid once and fulfilled
once; one refund per refunded order, refunded once.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections import Counter, defaultdict

import pytest
from sqlalchemy import func, select

from api.context import order_policy, payment_provider
from models import Certificate, Order, OrderStatus, PaymentEvent, Refund, RefundStatus
from models.database import unit_of_work
from services.pool.pool_audit import run_audit
from services.settlement.order_jobs import finish_refunds, query_silent_orders
from tests.support.live import Buyer, Tally, deliver, in_threads, live_service, report_figures
from tests.support.pool import stock_pool

pytestmark = pytest.mark.postgres

BUYERS = 6
TIMEOUT_S = 0.5
BACKOFF_S = 0.1
ATTEMPTS = 3
PREPAY = "/v3/pay/transactions/jsapi"
REFUND = "/v3/refund/domestic/refunds"
QUERY = "/v3/pay/transactions/out-trade-no/"


def _attempts(fake, path: str, key: str) -> dict[str, list]:
    """The requests the fake received on `path`, by the body field `key` (or by path for GETs)."""
    by_key: dict[str, list] = defaultdict(list)
    for request in fake.received:
        if request.path.split("?")[0] == path or (path == QUERY and request.path.startswith(QUERY)):
            by_key[request.field(key) if key else request.path.split("?")[0]].append(request)
    return by_key


def _retry_waits(attempts: dict[str, list]) -> list[tuple[int, str, float]]:
    """Every retry as (its number in the call, what the attempt before it got, seconds since that attempt).

    The requests of one key form calls: a call goes on after a fault (a 5xx, or an answer later than the
    timeout) until it has made `ATTEMPTS` attempts; any other answer ends it, and the next request of
    that key begins a new call (the app's own retry, a reopen, a job).
    """
    retries = []
    for requests in attempts.values():
        number = 1
        for before, request in itertools.pairwise(requests):
            if before.fault and number < ATTEMPTS:
                retries.append((number, before.fault[0], request.at - before.at))
                number += 1
            else:
                number = 1
    return retries


@pytest.fixture
def app_overrides(fake_wechatpay, tmp_path):
    """The service's WeChat Pay settings; the jobs run here with the same ones."""
    return fake_wechatpay.settings(
        tmp_path / "keys",
        WECHATPAY_TIMEOUT_S=TIMEOUT_S,
        WECHATPAY_RETRY_ATTEMPTS=ATTEMPTS,
        WECHATPAY_RETRY_BACKOFF_S=BACKOFF_S,
        DATABASE_POOL_SIZE=4,
    )


def test_retries_with_backoff_never_charge_or_refund_twice(
    pg_app, pg_url, redis_url, fake_wechatpay, app_overrides, tmp_path, record_property
):
    stock_pool(tonnes=1)
    fake = fake_wechatpay
    provider, policy = payment_provider(), order_policy()
    settings = app_overrides
    tally = Tally()
    with live_service(pg_url, redis_url, tmp_path, workers=3, **settings) as server:
        buyers = [Buyer.log_in(server.base, f"wechatpay-fault-{i}") for i in range(BUYERS)]

        # 1. Orders while WeChat Pay answers 5xx, then too late. The mini-program sends each order twice
        #    under one Idempotency-Key (its own retry); an order whose prepay failed every attempt is reopened.
        fake.fail_next(4, 500)
        fake.delay_next(2, TIMEOUT_S * 2)

        def order(buyer: Buyer) -> tuple[dict, str, int]:
            key = uuid.uuid4().hex
            first = buyer.place(tally, units=2, key=key).json()
            again = buyer.place(tally, units=2, key=key).json()
            reopened = 0
            while first["request_payment"] is None and reopened < 5:
                reopened += 1
                opened = buyer.call(tally, "POST", f"/api/v1/orders/{first['order']['out_trade_no']}/payment")
                if opened.status_code == 200:
                    first["request_payment"] = opened.json()["request_payment"]
                else:  # as the mini-program does: wait as told (here at most half a second), then again
                    time.sleep(min(float(opened.headers["Retry-After"]), 0.5))
            return first, again["order"]["out_trade_no"], reopened

        placed = in_threads(order, [(b,) for b in buyers])
        orders = [p[0]["order"] for p in placed]
        numbers = [o["out_trade_no"] for o in orders]
        assert [p[1] for p in placed] == numbers  # the mini-program's own retry got the same order
        packages = {p[0]["order"]["out_trade_no"]: p[0]["request_payment"]["package"] for p in placed}
        # An order placed while WeChat Pay fails every attempt is kept; reopening its payment answers
        # 503 with Retry-After while WeChat Pay still fails, then gives the payment.
        fake.fail_next(6, 500)
        kept = buyers[0].place(tally, units=1).json()
        number = kept["order"]["out_trade_no"]
        refused = buyers[0].call(tally, "POST", f"/api/v1/orders/{number}/payment")
        reopened = buyers[0].call(tally, "POST", f"/api/v1/orders/{number}/payment")
        assert kept["request_payment"] is None and kept["payment_error"]
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert reopened.status_code == 200
        numbers.append(number)
        packages[number] = reopened.json()["request_payment"]["package"]
        owners = [*buyers, buyers[0]]

        # 2. Payment. WeChat Pay delivers callbacks twice at once; one callback is lost and the sync job,
        #    querying through 5xx answers, finds the payment.
        for number in numbers:
            fake.pay(number)
        for number in numbers[:-1]:
            callback = fake.payment_callback(number)
            twice = in_threads(lambda c=callback: deliver(server.base, c, tally).status_code, [(), ()])
            assert twice == [200, 200]
        fake.fail_next(2, 502)
        synced = query_silent_orders(provider, policy, quiet_s=0)

        # 3. Refunds while WeChat Pay answers too late, then 5xx until some give up: those stay processing
        #    and the refund job applies them again under the same out_refund_no.
        fake.delay_next(2, TIMEOUT_S * 2)
        fake.fail_next(6, 503)
        asked = in_threads(
            lambda buyer, number: buyer.call(tally, "POST", f"/api/v1/orders/{number}/refunds", json={}),
            zip(owners, numbers, strict=True),
        )
        applied_at_once = len(fake.refunds)
        reapplied = finish_refunds(provider, policy)
        for out_refund_no in list(fake.refunds):
            fake.settle_refund(out_refund_no)
        for out_refund_no in list(fake.refunds)[:3]:  # some callbacks come (twice), the job queries the rest
            callback = fake.refund_callback(out_refund_no)
            for _ in range(2):
                answer = deliver(server.base, callback, tally, path="refund-notify")
                assert answer.status_code == 200
        finished = finish_refunds(provider, policy)
        nothing_left = finish_refunds(provider, policy)

    assert (synced.examined, synced.changed, synced.failed) == (1, 1, 0)
    assert reapplied.failed == 0 and finished.failed == 0
    assert nothing_left.examined == 0
    assert all(a.status_code == 201 for a in asked), [a.json() for a in asked]
    assert set(tally.statuses) <= {200, 201, 503}, tally.statuses  # 503 only for a reopen that failed
    assert tally.retry_after == tally.count(503)

    # Never a double charge: one trade per order, its prepay the one the buyer was given, paid once.
    assert sorted(fake.trades) == sorted(numbers)
    assert all(packages[n] == f"prepay_id={fake.trades[n].prepay_id}" for n in numbers)
    # Never a double refund: one refund per order at WeChat Pay, of the order's amount.
    refunds_at_wechat = Counter(r.out_trade_no for r in fake.refunds.values())
    assert refunds_at_wechat == Counter(numbers)
    assert all(r.refund == fake.trades[r.out_trade_no].total for r in fake.refunds.values())
    with unit_of_work() as session:
        statuses = Counter(session.scalars(select(Order.status)).all())
        events = Counter(session.scalars(select(PaymentEvent.order_id)).all())
        certificates = session.scalar(select(func.count()).select_from(Certificate))
        refunds = session.execute(select(Refund.out_refund_no, Refund.status, Refund.amount_fen)).all()
        refunded_fen = session.scalar(select(func.sum(Order.refunded_fen)))
        amount_fen = session.scalar(select(func.sum(Order.amount_fen)))
        prepay_ids = dict(session.execute(select(Order.out_trade_no, Order.prepay_id)).all())
    assert statuses == Counter({OrderStatus.REFUNDED: len(numbers)})
    assert len(events) == len(numbers) and set(events.values()) == {1}  # each paid order fulfilled once
    assert certificates == len(numbers)
    assert sorted(r.out_refund_no for r in refunds) == sorted(fake.refunds)
    assert {r.status for r in refunds} == {RefundStatus.SUCCEEDED}
    assert refunded_fen == amount_fen == sum(r.refund for r in fake.refunds.values())
    assert all(prepay_ids[n] == fake.trades[n].prepay_id for n in numbers)
    assert list(run_audit()) == []

    # Retries came with growing waits: after a 5xx, at least the backoff; twice that before a third attempt.
    prepays, refund_calls = _attempts(fake, PREPAY, "out_trade_no"), _attempts(fake, REFUND, "out_refund_no")
    queries = _attempts(fake, QUERY, "")
    retries = [r for attempts in (prepays, refund_calls, queries) for r in _retry_waits(attempts)]
    assert {kind for _n, kind, _wait in retries} == {"status", "delay"}
    for number, kind, wait in retries:  # the wait doubles; after a late answer the timeout comes first
        assert wait >= 0.9 * ((TIMEOUT_S if kind == "delay" else 0) + BACKOFF_S * 2 ** (number - 1)), retries
    waits = [wait for _n, kind, wait in retries if kind == "status"]
    faults = Counter(r.fault[0] for r in fake.received if r.fault)

    report_figures(
        record_property,
        "wechat pay timeouts and 5xx",
        requests=tally.sent,
        answered_503=tally.count(503),
        faults_injected={"5xx": faults["status"], "late": faults["delay"]},
        orders=len(numbers),
        prepay_calls=sum(len(a) for a in prepays.values()),
        orders_reopened=1 + sum(p[2] > 0 for p in placed),
        query_calls=sum(len(a) for a in queries.values()),
        refund_calls=sum(len(a) for a in refund_calls.values()),
        refunds_applied_by_the_job=len(numbers) - applied_at_once,
        retry_wait_s=[round(min(waits), 2), round(max(waits), 2)],
        trades=len(fake.trades),
        payments_fulfilled=len(events),
        refunds_at_wechat=len(fake.refunds),
        refunds_completed=len(refunds),
        extra_trades=len(fake.trades) - len(numbers),
        fulfilled_twice=sum(n > 1 for n in events.values()),
        refunded_twice=sum(n > 1 for n in refunds_at_wechat.values()),
    )
