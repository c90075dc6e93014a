"""A new order's rows, written in one short transaction: reservation, order, events, lines, slices.

This is the hot path of every purchase. It writes with prebuilt Core statements (one round trip
each, compiled once) instead of the ORM's unit of work, takes the batch rows last so their locks
are held only until the commit, and answers with plain objects built from what it wrote, so
nothing is read back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Insert, Select, Table, bindparam, cast, exists, insert, null, select, true, union_all
from sqlalchemy.orm import Session

from models import (
    AllocationState,
    Channel,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Reservation,
    ReservationStatus,
    utcnow,
)
from services import idempotency, order_states, reservations
from services.reservations import Selector


@dataclass(frozen=True, slots=True)
class WrittenLine:
    order_id: int
    project_id: int
    batch_id: int
    grams: int
    refunded_g: int
    price_fen_per_t: int
    amount_fen: int


@dataclass(frozen=True, slots=True)
class WrittenEvent:
    order_id: int
    from_status: str | None
    to_status: str
    note: str
    at: datetime


@dataclass(frozen=True, slots=True)
class WrittenOrder:
    """A new order as written: the columns of `Order` with its lines and events, read from nothing."""

    id: int
    out_trade_no: str
    user_id: int
    channel: Channel
    status: OrderStatus
    grams: int
    amount_fen: int
    refunded_fen: int
    refunded_g: int
    units: int | None
    project_id: int | None
    owner_id: int | None
    holder_name: str
    reservation_id: int
    provider: str
    prepay_id: str | None
    transaction_id: str | None
    expires_at: datetime
    paid_at: datetime | None
    fulfilled_at: datetime | None
    source_type: str | None
    source_id: str | None
    created_at: datetime
    lines: list[WrittenLine]
    events: list[WrittenEvent]


_RESERVATIONS = Reservation.__table__
_ORDERS = Order.__table__
_EVENTS = OrderEvent.__table__
_LINES = OrderLine.__table__
_KEYS = IdempotencyKey.__table__
_INSERT_ORDER = insert(_ORDERS).returning(_ORDERS.c.id)
_INSERT_EVENTS = insert(_EVENTS)
_INSERT_LINES = insert(_LINES)


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
    selector: Selector,
    price_fen_per_t: int,
    prepaid: bool,
    idempotency_key: tuple[str, str, str] | None = None,
) -> WrittenOrder:
    """Reserve the order's grams from the pool and insert it; gives it as written, with lines and events.

    `values` are the order's own columns (out_trade_no, grams, amount_fen, expires_at, ...);
    `idempotency_key` is (scope, key, request hash). Raises InsufficientCredits when the selection
    has too few grams, reservations.PlanStale when a batch was emptied since it was read (the
    caller rolls back and starts again).
    """
    connection = session.connection()
    now = utcnow()
    status, transitions = order_states.opening(prepaid)
    row = {
        **values,
        "user_id": user_id,
        "status": status,
        "created_at": now,
        "refunded_fen": 0,
        "refunded_g": 0,
        "transaction_id": None,
        "paid_at": None,
        "fulfilled_at": None,
    }
    events = [
        {"from_status": source, "to_status": target, "note": note, "at": now}
        for source, target, note in transitions
    ]
    reservation = {
        "grams": values["grams"],
        "returned_g": 0,
        "status": ReservationStatus.RESERVED,
        "expires_at": values["expires_at"],
        "confirmed_at": None,
        "released_at": None,
        "created_at": now,
    }
    if connection.dialect.name != "postgresql":
        return _write_step_by_step(session, row, events, selector, price_fen_per_t, idempotency_key)
    parameters = _prefixed("r", reservation) | _prefixed("o", row)
    for index, event in enumerate(events):
        parameters |= _prefixed(f"e{index}", event)
    if idempotency_key is not None:
        scope, key, request_hash = idempotency_key
        parameters |= {"k_user_id": user_id, "k_scope": scope, "k_key": key, "k_request_hash": request_hash}
        parameters["k_created_at"] = now
    grams = values["grams"]
    parameters |= {"grams": grams, "state": AllocationState.RESERVED}
    # The usual case, in one round trip: the first batch of the plan serves the whole order from its tail.
    query, plan_parameters = reservations.plan_query(selector, True)
    line = {
        "grams": grams,
        "refunded_g": 0,
        "price_fen_per_t": price_fen_per_t,
        "amount_fen": values["amount_fen"],
    }
    statement = _insert_all(tuple(row), len(events), 1, "first", idempotency_key is not None, query)
    written = connection.execute(
        statement, parameters | plan_parameters | _prefixed("l0", line)
    ).one_or_none()
    if written is not None:
        order_id, reservation_id, taken_to, batch_id, project_id = written
        if taken_to is None:
            raise reservations.PlanStale  # the batch changed between reading and locking it
        lines = [{"project_id": project_id, "batch_id": batch_id, **line}]
        return _written(order_id, reservation_id, row, lines, events)
    # Otherwise plan over several batches, or reuse returned grams first.
    planned = reservations.plan(session, grams, selector)
    lines = line_values(
        values["amount_fen"],
        {take.batch_id: take.grams for take in planned},
        {take.batch_id: take.project_id for take in planned},
        price_fen_per_t,
    )
    for index, planned_line in enumerate(lines):
        parameters |= _prefixed(f"l{index}", planned_line)
    one_batch = len(planned) == 1
    if one_batch:
        parameters["batch_id"] = planned[0].batch_id
    statement = _insert_all(
        tuple(row), len(events), len(lines), "planned" if one_batch else "", idempotency_key is not None, None
    )
    order_id, reservation_id, taken_to = connection.execute(statement, parameters).one()
    if taken_to is None:  # returned grams to reuse first, or several batches
        reservations.take(session, reservation_id, planned)
    return _written(order_id, reservation_id, row, lines, events)


def _write_step_by_step(
    session: Session,
    row: dict,
    events: list[dict],
    selector: Selector,
    price_fen_per_t: int,
    idempotency_key: tuple[str, str, str] | None,
) -> WrittenOrder:
    """The same rows one statement each (SQLite, the embedded default)."""
    connection = session.connection()
    planned = reservations.plan(session, row["grams"], selector)
    lines = line_values(
        row["amount_fen"],
        {take.batch_id: take.grams for take in planned},
        {take.batch_id: take.project_id for take in planned},
        price_fen_per_t,
    )
    reservation_id = reservations.insert_reservation(session, row["grams"], row["expires_at"])
    order_id = connection.execute(_INSERT_ORDER, {**row, "reservation_id": reservation_id}).scalar_one()
    connection.execute(_INSERT_EVENTS, [{"order_id": order_id, **event} for event in events])
    connection.execute(_INSERT_LINES, [{"order_id": order_id, **line} for line in lines])
    if idempotency_key is not None:
        scope, key, request_hash = idempotency_key
        idempotency.remember(session, row["user_id"], scope, key, request_hash, order_id)
    # Last: the batch rows are the hot spot, so their locks are held only from here to the commit.
    reservations.take(session, reservation_id, planned)
    return _written(order_id, reservation_id, row, lines, events)


def _written(
    order_id: int, reservation_id: int, row: dict, lines: list[dict], events: list[dict]
) -> WrittenOrder:
    return WrittenOrder(
        id=order_id,
        reservation_id=reservation_id,
        **row,
        lines=[WrittenLine(order_id=order_id, **line) for line in lines],
        events=[WrittenEvent(order_id=order_id, **event) for event in events],
    )


def _prefixed(prefix: str, values: dict) -> dict:
    return {f"{prefix}_{name}": value for name, value in values.items()}


def _row_select(table: Table, prefix: str, columns: tuple[str, ...], *leading) -> Select:
    return select(*leading, *(bindparam(f"{prefix}_{name}", type_=table.c[name].type) for name in columns))


def _from_select(table: Table, columns: tuple[str, ...], rows: Select) -> Insert:
    return insert(table).from_select(list(columns), rows, include_defaults=False)


@cache
def _insert_all(
    order_columns: tuple[str, ...],
    event_count: int,
    line_count: int,
    take: str,
    keyed: bool,
    plan: Select | None,
) -> Select:
    """PostgreSQL: a new order's rows in one statement of data-modifying CTEs, built once per shape.

    Inserts the reservation, the order, its events and lines (and with `keyed` the Idempotency-Key
    row), and gives (order id, reservation id, end of the slice taken or NULL, ...). `take`:
    - "first": the batch is the first row of the planning query `plan`; nothing at all is written
      (no row comes back) unless that batch alone can serve the order from its tail; the one line
      is that batch's, and (batch id, project id) come back too;
    - "planned": the one planned batch (parameter `batch_id`) is taken from too;
    - "": nothing is taken (the caller takes in the same transaction).
    The take (`reservations.take_from_tail`) locks the batch row in this statement, the last one
    before the commit; its slice end is NULL when the batch could not give its grams.
    """
    first = reservations.first_batch(plan).cte("first_batch") if take == "first" else None
    reservation_columns = (
        "grams", "returned_g", "status", "expires_at", "confirmed_at", "released_at", "created_at",
    )  # fmt: skip
    reservation_rows = _row_select(_RESERVATIONS, "r", reservation_columns)
    if first is not None:
        reservation_rows = reservation_rows.select_from(first).where(
            first.c.available_g >= bindparam("grams"),
            first.c.available_g == first.c.issued_g - first.c.cursor_g,
        )
    reservation = (
        _from_select(_RESERVATIONS, reservation_columns, reservation_rows)
        .returning(_RESERVATIONS.c.id)
        .cte("new_reservation")
    )
    order = (
        _from_select(
            _ORDERS,
            ("reservation_id", *order_columns),
            _row_select(_ORDERS, "o", order_columns, reservation.c.id),
        )
        .returning(_ORDERS.c.id, _ORDERS.c.reservation_id)
        .cte("new_order")
    )
    event_columns = ("from_status", "to_status", "note", "at")
    events = _from_select(
        _EVENTS,
        ("order_id", *event_columns),
        union_all(*(_row_select(_EVENTS, f"e{i}", event_columns, order.c.id) for i in range(event_count))),
    ).returning(_EVENTS.c.id)
    line_columns = ("project_id", "batch_id", "grams", "refunded_g", "price_fen_per_t", "amount_fen")
    if first is not None:
        amounts = ("grams", "refunded_g", "price_fen_per_t", "amount_fen")
        line_rows = _row_select(_LINES, "l0", amounts, order.c.id, first.c.project_id, first.c.id)
        line_rows = line_rows.select_from(order.join(first, true()))
    else:
        line_rows = union_all(
            *(_row_select(_LINES, f"l{i}", line_columns, order.c.id) for i in range(line_count))
        )
    lines = _from_select(_LINES, ("order_id", *line_columns), line_rows).returning(_LINES.c.id)
    ctes = [events.cte("new_events"), lines.cte("new_lines")]
    if keyed:
        key_columns = ("user_id", "scope", "key", "request_hash", "created_at")
        ctes.append(
            _from_select(
                _KEYS,
                ("resource_id", *key_columns),
                _row_select(_KEYS, "k", key_columns, cast(order.c.id, _KEYS.c.resource_id.type)),
            )
            .returning(_KEYS.c.id)
            .cte("new_key")
        )
    taken_to = null()
    if take:
        batch_id = select(first.c.id).scalar_subquery() if first is not None else None
        # Only for an order written here: when the first batch could not serve, nothing is taken.
        taken = reservations.take_from_tail(
            select(reservation.c.id).scalar_subquery(), batch_id, exists(select(reservation.c.id))
        )
        taken_to = select(taken.cte("new_slice").c.end_g).scalar_subquery()
    if first is None:
        return select(order.c.id, order.c.reservation_id, taken_to).add_cte(*ctes)
    return (
        select(order.c.id, order.c.reservation_id, taken_to, first.c.id, first.c.project_id)
        .select_from(order.join(first, true()))
        .add_cte(*ctes)
    )
