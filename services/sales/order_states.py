"""The order state machine: every allowed transition, in one place, each one recorded with its time."""

from __future__ import annotations

from sqlalchemy import inspect, text, update
from sqlalchemy.orm import Session

from models import Order, OrderEvent, OrderStatus, utcnow
from services.kernel.errors import InvalidState

S = OrderStatus

ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.CREATED: frozenset({S.AWAITING_PAYMENT, S.PAID, S.CANCELLED, S.EXPIRED}),
    S.AWAITING_PAYMENT: frozenset({S.PAID, S.CANCELLED, S.EXPIRED}),
    # A payment may still arrive after expiry or cancellation (the user paid at the last second).
    S.EXPIRED: frozenset({S.PAID}),
    S.CANCELLED: frozenset({S.PAID}),
    S.PAID: frozenset({S.FULFILLED, S.REFUNDED}),
    S.FULFILLED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.REFUNDED: frozenset(),
}

OPEN = frozenset({S.CREATED, S.AWAITING_PAYMENT})
REFUNDABLE = frozenset({S.FULFILLED, S.PARTIALLY_REFUNDED})


def can_transition(current: OrderStatus, to: OrderStatus) -> bool:
    return to in ALLOWED[current]


def transition(session: Session, order: Order, to: OrderStatus, note: str = "") -> None:
    """Move `order` to `to` and record the transition, or raise InvalidState."""
    if not can_transition(order.status, to):
        raise InvalidState(
            f"Order {order.out_trade_no} cannot go from {order.status.value} to {to.value}.",
            status=order.status.value,
        )
    _record(
        session,
        order,
        OrderEvent(
            order_id=order.id,
            from_status=order.status.value,
            to_status=to.value,
            note=note[:255],
            at=utcnow(),
        ),
    )
    order.status = to


def opening(prepaid: bool) -> tuple[OrderStatus, list[tuple[str | None, str, str]]]:
    """A new order's status and its first transitions (from, to, note): placed, and perhaps payment opened."""
    transitions: list[tuple[str | None, str, str]] = [(None, S.CREATED.value, "order placed")]
    if not prepaid:
        return S.CREATED, transitions
    assert can_transition(S.CREATED, S.AWAITING_PAYMENT)
    transitions.append((S.CREATED.value, S.AWAITING_PAYMENT.value, "payment opened"))
    return S.AWAITING_PAYMENT, transitions


def _record(session: Session, order: Order, event: OrderEvent) -> None:
    # Keep a loaded collection in step (the answer shows it) without loading one just to append.
    if "events" in inspect(order).unloaded:
        session.add(event)
    else:
        order.events.append(event)


# PostgreSQL: the move, the event and (for an order already awaiting) the new prepay id, in one
# statement. Its two UPDATEs never touch the row twice: the second runs only when the first did not.
_MARK_AWAITING_PG = text(
    "WITH moved AS ("
    f" UPDATE orders SET status = '{S.AWAITING_PAYMENT.value}', prepay_id = :prepay_id"
    f" WHERE id = :order_id AND status = '{S.CREATED.value}' RETURNING id),"
    " kept AS (UPDATE orders SET prepay_id = :prepay_id"
    " WHERE id = :order_id AND NOT EXISTS (SELECT 1 FROM moved))"
    " INSERT INTO order_events (order_id, from_status, to_status, note, at)"
    f" SELECT id, '{S.CREATED.value}', '{S.AWAITING_PAYMENT.value}', 'payment opened', :at FROM moved"
)


def mark_awaiting_payment(session: Session, order_id: int, prepay_id: str) -> None:
    """Store the prepay id; a created order moves to awaiting payment (recorded), others keep their state."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_MARK_AWAITING_PG, {"order_id": order_id, "prepay_id": prepay_id, "at": utcnow()})
        return
    moved = session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == S.CREATED)
        .values(status=S.AWAITING_PAYMENT, prepay_id=prepay_id)
    ).rowcount
    if moved:
        session.add(
            OrderEvent(
                order_id=order_id,
                from_status=S.CREATED.value,
                to_status=S.AWAITING_PAYMENT.value,
                note="payment opened",
                at=utcnow(),
            )
        )
    else:
        session.execute(update(Order).where(Order.id == order_id).values(prepay_id=prepay_id))
