"""Background jobs of orders: expire unpaid orders, ask WeChat Pay about silent ones, finish refunds.

Each job is safe to run at any time, on any number of workers: every step re-checks the order's
state under a row lock, and calls to WeChat Pay are idempotent on the order or refund number.

No paid order is left ended: expiry closes the trade at WeChat Pay first, and a trade found paid
is fulfilled (its grams still held); an order that ended without its trade confirmed closed (the
close failed, the order expired when read, its buyer cancelled it) is asked about by the sync job,
and a payment found is fulfilled with grams reserved again, or refunded when none are left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from models import Order, OrderStatus, Refund, utcnow
from models.database import read_session
from payments.errors import AlreadyPaid, GatewayError, NotFoundAtProvider, PaymentError
from services.kernel.errors import DomainError
from services.sales import ended_trades, orders
from services.sales.order_policy import OrderPolicy
from services.settlement import payment_flow, refunds

log = logging.getLogger(__name__)


@dataclass
class JobReport:
    examined: int = 0
    changed: int = 0
    failed: int = 0


def expire_due_orders(provider, policy: OrderPolicy, limit: int = 500) -> JobReport:
    """Close the trades of open orders past their time, then expire them and release their grams.

    A trade that WeChat Pay says is paid is queried and its order fulfilled instead. When the close
    (or that) fails, the order expires all the same, its trade not confirmed closed: the sync job
    asks about it later.
    """
    report = JobReport()
    for order_id, out_trade_no, provider_name in orders.due_for_expiry(limit=limit):
        report.examined += 1
        closed = False
        if provider_name == provider.name:
            try:
                provider.close(out_trade_no)
                closed = True
            except AlreadyPaid:
                log.info("%s was paid before it expired; taking the payment", out_trade_no)
                if _count(report, lambda n=out_trade_no: settle_paid(n, provider, policy)):
                    continue
                # Not settled now: the order expires, and the sync job takes the payment later.
            except NotFoundAtProvider:
                closed = True  # no trade was ever opened there
            except (GatewayError, PaymentError) as exc:
                log.warning("closing %s at the provider failed: %s", out_trade_no, exc)
                report.failed += 1
        report.changed += orders.expire_order(order_id, trade_closed=closed)
    return report


def settle_paid(out_trade_no: str, provider, policy: OrderPolicy) -> payment_flow.PaymentOutcome | None:
    """Query the trade and act on a payment found: fulfil, or refund (applied at once)."""
    outcome = payment_flow.sync_with_provider(out_trade_no, provider, policy)
    if outcome is not None and outcome.refund_id is not None:
        refunds.apply_refund(outcome.refund_id, provider, policy)
    return outcome


def _count(report: JobReport, step: Callable[[], object | None]) -> bool:
    """Run one step of a job into the report; True when it changed something."""
    try:
        outcome = step()
    except (DomainError, GatewayError, PaymentError) as exc:
        log.warning("settling a payment failed: %s", exc)
        report.failed += 1
        return False
    report.changed += outcome is not None
    return outcome is not None


def query_silent_orders(provider, policy: OrderPolicy, quiet_s: int = 120, limit: int = 200) -> JobReport:
    """Ask the provider about orders awaiting payment with no callback for `quiet_s` seconds, and
    about ended orders whose trade is not confirmed closed (see `services.sales.ended_trades`)."""
    report = JobReport()
    session = read_session()
    numbers = session.scalars(
        select(Order.out_trade_no)
        .where(
            Order.status == OrderStatus.AWAITING_PAYMENT,
            Order.provider == provider.name,
            Order.created_at <= utcnow() - timedelta(seconds=quiet_s),
        )
        .order_by(Order.id)
        .limit(limit)
    ).all()
    session.rollback()
    for out_trade_no in numbers:
        report.examined += 1
        _count(report, lambda n=out_trade_no: settle_paid(n, provider, policy))
    since = utcnow() - timedelta(days=policy.ended_sync_days)
    for order_id, out_trade_no in ended_trades.with_open_trade(provider.name, since, limit):
        report.examined += 1
        _count(report, lambda i=order_id, n=out_trade_no: _settle_ended(i, n, provider, policy))
    return report


def _settle_ended(order_id: int, out_trade_no: str, provider, policy: OrderPolicy) -> object | None:
    """An ended order's trade: take a payment found, else close the trade and stop asking about it."""
    try:
        outcome = settle_paid(out_trade_no, provider, policy)
    except NotFoundAtProvider:
        return ended_trades.mark_trade_closed(order_id) or None
    if outcome is not None:
        return outcome
    try:
        provider.close(out_trade_no)
    except AlreadyPaid:  # paid between the query and the close
        return settle_paid(out_trade_no, provider, policy)
    except NotFoundAtProvider:
        pass
    return ended_trades.mark_trade_closed(order_id) or None


def finish_refunds(provider, policy: OrderPolicy, limit: int = 200) -> JobReport:
    """Re-apply or query refunds still processing (the provider was down, or no callback came)."""
    report = JobReport()
    for refund_id in refunds.processing_refunds(limit):
        report.examined += 1
        session = read_session()
        refund = session.get(Refund, refund_id)
        session.rollback()
        try:
            if refund.refund_id:
                result = provider.query_refund(refund.out_refund_no)
                changed = refunds.apply_result(refund.out_refund_no, result, policy)
            else:
                changed = refunds.apply_refund(refund_id, provider, policy).status.value != "processing"
        except (GatewayError, PaymentError, DomainError) as exc:
            log.warning("refund %s not finished: %s", refund.out_refund_no, exc)
            report.failed += 1
            continue
        report.changed += int(bool(changed))
    return report
