"""Offline refunds: the refunds of bank-transfer orders, paid back by bank and recorded by an admin.

An admin refunds a bank-transfer order like any other (`refunds.request_refund`: in full or in
part, never grams in tonnes being retired); the refund is recorded `offline` and stays processing,
which also keeps the order's tonnes out of new registry retirements. When the bank has paid the
money back, an admin records it with the bank's reference (`mark_paid_out`): in that one
transaction the refund completes exactly as a WeChat Pay refund does — the grams return to the
pool, the certificate is voided or reissued, points are reversed — and the record is audited.
A refund recorded by mistake is cancelled before any payout (`cancel`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import Order, Refund, RefundStatus, utcnow
from models.database import read_session, unit_of_work
from services.accounts.tokens import Principal
from services.kernel import audit
from services.kernel.errors import Conflict, InvalidState, NotFound
from services.registry import retired_tonnes
from services.sales.order_policy import OrderPolicy
from services.settlement import refunds


def _offline_refund(session: Session, out_trade_no: str, out_refund_no: str) -> tuple[Refund, Order]:
    refund = refunds.lock_refund(session, out_refund_no)
    order = session.get(Order, refund.order_id)
    if order is None or order.out_trade_no != out_trade_no:
        raise NotFound(f"Order {out_trade_no} has no refund {out_refund_no}.")
    if not refund.offline:
        raise InvalidState(
            f"Refund {out_refund_no} goes through WeChat Pay; it completes when WeChat Pay says so.",
            errors={"out_refund_no": ["not an offline refund"]},
        )
    return refund, order


def _snapshot(refund: Refund) -> dict[str, object]:
    return {
        "out_refund_no": refund.out_refund_no,
        "status": refund.status.value,
        "grams": refund.grams,
        "amount_fen": refund.amount_fen,
        "bank_reference": refund.bank_reference,
    }


def mark_paid_out(
    principal: Principal, out_trade_no: str, out_refund_no: str, bank_reference: str, policy: OrderPolicy
) -> Refund:
    """Record that the bank paid an offline refund back under `bank_reference`; complete it once.

    Recording the same reference again answers the refund as it is; another reference is a 409.
    """
    principal.require_admin()
    reference = bank_reference.strip()
    with unit_of_work() as session:
        refund, order = _offline_refund(session, out_trade_no, out_refund_no)
        if refund.status == RefundStatus.SUCCEEDED:
            if refund.bank_reference == reference:
                return refund
            raise Conflict(
                f"Refund {out_refund_no} was already paid out under reference {refund.bank_reference}.",
                errors={"bank_reference": [f"already recorded as {refund.bank_reference}"]},
            )
        if refund.status != RefundStatus.PROCESSING:
            raise InvalidState(f"Refund {out_refund_no} was cancelled; it cannot be paid out.")
        # New retirements leave an order with a processing refund alone; this guards the rule.
        if retired_tonnes.locked_grams_of_refund(session, order.reservation_id, refund.grams) > 0:
            raise InvalidState(
                "These credits went into a registry retirement; the grams cannot return to the pool.",
                errors={"out_refund_no": ["lies in tonnes retired (or being retired) at the registry"]},
            )
        before = _snapshot(refund)
        refund.bank_reference = reference
        after = refunds.complete_refund_in(session, refund, f"BANK-{reference}"[:64], policy)
        audit.record(
            session, principal.user_id, "refund.paid_out", "order", out_trade_no, before, _snapshot(refund)
        )
    after.run()
    return _reload(refund.id)


def cancel(principal: Principal, out_trade_no: str, out_refund_no: str, reason: str) -> Refund:
    """Cancel an offline refund that was not paid out; the order is left as it was."""
    principal.require_admin()
    with unit_of_work() as session:
        refund, _order = _offline_refund(session, out_trade_no, out_refund_no)
        if refund.status != RefundStatus.PROCESSING:
            raise InvalidState(
                f"Refund {out_refund_no} is {refund.status.value}; only one waiting for its payout is cancelled."
            )
        before = _snapshot(refund)
        refund.status = RefundStatus.FAILED
        refund.completed_at = utcnow()
        refund.reason = f"{refund.reason} (cancelled: {reason})"[:255]
        audit.record(
            session,
            principal.user_id,
            "refund.cancel",
            "order",
            out_trade_no,
            before,
            {**_snapshot(refund), "reason": reason},
        )
    return _reload(refund.id)


def _reload(refund_id: int) -> Refund:
    session = read_session()
    refund = session.get(Refund, refund_id, populate_existing=True)
    session.rollback()
    return refund
