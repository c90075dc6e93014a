"""Background jobs of orders: expire unpaid orders, ask WeChat Pay about silent ones, finish refunds.

Each job is safe to run at any time, on any number of workers: every step re-checks the order's
state under a row lock, and calls to WeChat Pay are idempotent on the order or refund number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from models import Order, OrderStatus, Refund, utcnow
from models.database import read_session
from payments.errors import GatewayError, PaymentError
from services import orders, payment_flow, refunds
from services.errors import DomainError
from services.order_policy import OrderPolicy

log = logging.getLogger(__name__)


@dataclass
class JobReport:
    examined: int = 0
    changed: int = 0
    failed: int = 0


def expire_due_orders(provider, limit: int = 500) -> JobReport:
    """Expire open orders past their time, release their grams, close them at WeChat Pay."""
    report = JobReport()
    for order_id, out_trade_no, provider_name in orders.due_for_expiry(limit=limit):
        report.examined += 1
        if not orders.expire_order(order_id):
            continue
        report.changed += 1
        if provider_name == provider.name:
            try:
                provider.close(out_trade_no)
            except (GatewayError, PaymentError) as exc:
                # A payment that still arrives is handled as a late payment.
                log.warning("closing %s at the provider failed: %s", out_trade_no, exc)
                report.failed += 1
    return report


def query_silent_orders(provider, policy: OrderPolicy, quiet_s: int = 120, limit: int = 200) -> JobReport:
    """Ask the provider about orders awaiting payment with no callback for `quiet_s` seconds."""
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
        try:
            outcome = payment_flow.sync_with_provider(out_trade_no, provider, policy)
        except DomainError as exc:
            log.warning("querying %s failed: %s", out_trade_no, exc)
            report.failed += 1
            continue
        if outcome is not None:
            report.changed += 1
    return report


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
