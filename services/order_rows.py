"""A new order's rows, written in one short transaction: reservation, order, events, lines, slices.

This is the hot path of every purchase. It writes with prebuilt Core statements (one round trip
each, compiled once) instead of the ORM's unit of work, takes the batch rows last so their locks
are held only until the commit, and answers with transient objects built from what it wrote, so
nothing is read back.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from models import Order, OrderEvent, OrderLine, utcnow
from services import idempotency, order_states, reservations
from services.reservations import PlannedTake

_ORDERS = Order.__table__
_INSERT_ORDER = insert(_ORDERS).returning(_ORDERS.c.id)
_INSERT_EVENTS = insert(OrderEvent.__table__)
_INSERT_LINES = insert(OrderLine.__table__)


def split_amount(total_fen: int, weights: list[int]) -> list[int]:
    """Split `total_fen` in proportion to `weights` by largest remainder; the parts add up exactly."""
    whole = sum(weights)
    shares = [total_fen * w // whole for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (total_fen * weights[i]) % whole, reverse=True)
    for i in remainders[: total_fen - sum(shares)]:
        shares[i] += 1
    return shares


def line_values(
    amount_fen: int, grams_by_batch: dict[int, int], projects: dict[int, int], price_fen_per_t: int
) -> list[dict[str, int]]:
    """One line per batch, in batch order; the order's amount split by grams, to the fen."""
    ordered = sorted(grams_by_batch.items())
    amounts = split_amount(amount_fen, [grams for _, grams in ordered])
    return [
        {
            "project_id": projects[batch_id],
            "batch_id": batch_id,
            "grams": grams,
            "refunded_g": 0,
            "price_fen_per_t": price_fen_per_t,
            "amount_fen": amount,
        }
        for (batch_id, grams), amount in zip(ordered, amounts, strict=True)
    ]


def write_new_order(
    session: Session,
    *,
    user_id: int,
    values: dict,
    planned: list[PlannedTake],
    price_fen_per_t: int,
    prepaid: bool,
    idempotency_key: tuple[str, str, str] | None = None,
) -> Order:
    """Insert a new order drawing `planned` grams; gives it as a transient object with lines and events.

    `values` are the order's own columns (out_trade_no, grams, amount_fen, expires_at, ...);
    `idempotency_key` is (scope, key, request hash). Raises reservations.PlanStale when a batch was
    emptied since planning (the caller rolls back and plans again).
    """
    connection = session.connection()
    now = utcnow()
    reservation_id = reservations.insert_reservation(session, values["grams"], values["expires_at"])
    status, transitions = order_states.opening(prepaid)
    row = {
        **values,
        "user_id": user_id,
        "status": status,
        "reservation_id": reservation_id,
        "created_at": now,
        "refunded_fen": 0,
        "refunded_g": 0,
        "transaction_id": None,
        "paid_at": None,
        "fulfilled_at": None,
    }
    order_id = connection.execute(_INSERT_ORDER, row).scalar_one()
    events = [
        {"order_id": order_id, "from_status": source, "to_status": target, "note": note, "at": now}
        for source, target, note in transitions
    ]
    connection.execute(_INSERT_EVENTS, events)
    lines = line_values(
        values["amount_fen"],
        {take.batch_id: take.grams for take in planned},
        {take.batch_id: take.project_id for take in planned},
        price_fen_per_t,
    )
    connection.execute(_INSERT_LINES, [{"order_id": order_id, **line} for line in lines])
    if idempotency_key is not None:
        scope, key, request_hash = idempotency_key
        idempotency.remember(session, user_id, scope, key, request_hash, order_id)
    # Last: the batch rows are the hot spot, so their locks are held only from here to the commit.
    reservations.take(session, reservation_id, planned)
    return Order(
        id=order_id,
        **row,
        lines=[OrderLine(order_id=order_id, **line) for line in lines],
        events=[OrderEvent(**event) for event in events],
    )
