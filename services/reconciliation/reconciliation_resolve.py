"""Resolving a discrepancy: fulfil a missed payment, refund, or explain; each one in the audit log.

- `fulfil`: a payment that WeChat Pay lists and whose notification never arrived here. The bill
  row becomes the `PaymentNotification` the callback would have brought and goes through the same
  `handle_payment_notification`, which fulfils the order once (or refunds a payment that came after
  the grams were gone). Its amount is checked against the order there, as for any callback.
- `refund`: refund the order (all that is left, or `grams`) through `refunds.request_refund`. Not for
  a second payment of an order (`paid_twice`): that one is refunded automatically, by its own refund.
- `explain`: nothing to do at WeChat Pay or here; the note says why.

The action runs first, in its own units of work; the resolution and its audit entry are written
after it, under a lock on the discrepancy. Should two admins act at once, the payment flow and the
refund's checks keep the money right, and the second resolution is refused.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from models import DiscrepancyKind, ReconciliationDiscrepancy, Resolution, utcnow
from models.database import read_session, unit_of_work
from payments.interface import PaymentNotification, PaymentProvider, TradeState
from services.accounts.tokens import Principal
from services.kernel import audit
from services.kernel.beijing_time import BEIJING
from services.kernel.errors import Conflict, InvalidState, NotFound, ValidationFailed
from services.sales.order_policy import OrderPolicy
from services.settlement import payment_flow, refunds

ACTIONS = ("fulfil", "refund", "explain")
RESOLUTION_BY_ACTION = {
    "fulfil": Resolution.FULFILLED,
    "refund": Resolution.REFUNDED,
    "explain": Resolution.EXPLAINED,
}


def get_discrepancy(discrepancy_id: int) -> ReconciliationDiscrepancy:
    session = read_session()
    found = session.get(ReconciliationDiscrepancy, discrepancy_id, populate_existing=True)
    if found is None:
        raise NotFound(f"Discrepancy {discrepancy_id} does not exist.")
    return found


def _notification(found: ReconciliationDiscrepancy) -> PaymentNotification:
    row = found.bill_row or {}
    return PaymentNotification(
        out_trade_no=found.out_trade_no or "",
        transaction_id=found.transaction_id or "",
        trade_state=TradeState.SUCCESS,
        amount_fen=found.amount_there_fen or 0,
        appid=row.get("appid", ""),
        mchid=row.get("mchid", ""),
        payer_openid=row.get("openid", ""),
        success_time=datetime.strptime(row["trade_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
        if row.get("trade_time")
        else None,
        raw={"source": "reconciliation", "run_id": found.run_id, "line_no": found.line_no},
    )


def resolve_discrepancy(
    principal: Principal,
    discrepancy_id: int,
    action: str,
    note: str,
    policy: OrderPolicy,
    provider: PaymentProvider,
    grams: int | None = None,
) -> ReconciliationDiscrepancy:
    """Act on a discrepancy as `action` says and record its resolution (admins only)."""
    principal.require_admin()
    if action not in ACTIONS:
        raise ValidationFailed("Unknown action.", errors={"action": [f"one of {', '.join(ACTIONS)}"]})
    note = note.strip()
    found = get_discrepancy(discrepancy_id)
    session = read_session()
    session.expunge(found)  # keep what was read; no transaction stays open during the action
    session.rollback()
    if found.resolution is not None:
        raise Conflict(f"Discrepancy {discrepancy_id} is already resolved ({found.resolution.value}).")
    if action == "explain":
        if not note:
            raise ValidationFailed("Say why no action is needed.", errors={"note": ["required to explain"]})
        outcome = note
    elif action == "fulfil":
        if found.kind != DiscrepancyKind.MISSING_HERE or found.order_id is None or not found.transaction_id:
            raise InvalidState(
                "Only a payment that WeChat Pay lists for an order known here, unpaid here, can be fulfilled."
            )
        result = payment_flow.handle_payment_notification(_notification(found), provider.name, policy)
        outcome = f"payment taken from the bill: {result.outcome}" + (f"; {note}" if note else "")
    else:
        if found.kind == DiscrepancyKind.PAID_TWICE:
            # A refund here would return the order's own payment, not the second one.
            raise InvalidState(
                "A second payment is refunded automatically, by its own refund; explain this once it succeeded."
            )
        if found.order_id is None or not found.out_trade_no:
            raise InvalidState("There is no order here to refund.")
        reason = note or f"reconciliation run {found.run_id}"
        refund = refunds.request_refund(principal, found.out_trade_no, grams, reason, policy, provider)
        outcome = f"refund {refund.out_refund_no} of {refund.amount_fen} fen: {refund.status.value}" + (
            f"; {note}" if note else ""
        )
    with unit_of_work() as session:
        locked = session.scalar(
            select(ReconciliationDiscrepancy)
            .where(ReconciliationDiscrepancy.id == discrepancy_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if locked.resolution is not None:
            raise Conflict(
                f"Discrepancy {discrepancy_id} was resolved meanwhile ({locked.resolution.value})."
            )
        before = audit.snapshot(locked)
        locked.resolution = RESOLUTION_BY_ACTION[action]
        locked.resolution_note = outcome[:500]
        locked.resolved_by = principal.user_id
        locked.resolved_at = utcnow()
        session.flush()
        audit.record(
            session,
            principal.user_id,
            f"reconciliation.{action}",
            "reconciliation_discrepancy",
            locked.id,
            before,
            audit.snapshot(locked),
        )
    return locked
