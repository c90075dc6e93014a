"""What one person's unpaid orders may hold at once: how many orders, and how many grams.

An unpaid order reserves its grams until it is paid, cancelled or expires, so without a cap one
buyer could lock much of the pool with orders never paid. The caps count the person's own open
orders (created or awaiting payment, still within their payment window). Orders bought for an
organisation (event offsets, institutional claims, bank transfers) are the organisation's: they are
neither counted nor capped here.

`check_in` runs in the transaction that writes the order, after taking a lock of that buyer's own
held until the transaction ends, so two orders of one buyer placed at once are counted one after
the other and cannot both slip under a cap. `check` is the same reading without a lock, made
before WeChat Pay is asked for a payment that would only be refused.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    TextClause,
    bindparam,
    func,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session

from models import GRAMS_PER_TONNE, Order, User, utcnow
from models.database import SERIALIZE, serial_key, serialize_in, single_read
from services.kernel.errors import ReservationLimitReached, TooManyOpenOrders
from services.sales import order_states
from services.sales.order_policy import OrderPolicy


def check_in(session: Session, user_id: int, grams: int, policy: OrderPolicy) -> None:
    """Lock the buyer, then refuse an order of `grams` that would pass a cap (429 or 409).

    The lock lasts until the caller's transaction ends; the caller writes the order before that.
    """
    _lock_buyer(session, user_id)
    _refuse_over_caps(session, user_id, grams, policy, utcnow())


def check(user_id: int, grams: int, policy: OrderPolicy) -> None:
    """The same refusal without a lock, for an early answer; `check_in` is the one that counts."""
    with single_read() as connection:  # one statement, no BEGIN/ROLLBACK round trips
        _refuse_over_caps(connection, user_id, grams, policy, utcnow())


def payer_checked(user_id: int, grams: int, policy: OrderPolicy) -> str | None:
    """The buyer's WeChat openid, read in the one statement that also makes `check`'s early refusal."""
    now = utcnow()
    with single_read() as connection:
        row = connection.execute(_payer_and_open_orders(), {"user_id": user_id, "now": now}).one_or_none()
    if row is None:
        return None
    _refuse(row.count, int(row.held_g), row.first_expiry, user_id, grams, policy, now)
    return row.openid


@cache
def _payer_and_open_orders() -> Select:
    held = _open_orders(
        bindparam("user_id", type_=Order.user_id.type), bindparam("now", type_=Order.expires_at.type)
    )
    held = held.subquery()
    return (
        select(User.openid, held.c.count, held.c.held_g, held.c.first_expiry)
        .select_from(User)
        .join(held, true())
        .where(User.id == bindparam("user_id"))
    )


def buyer_lock(user_id: int) -> tuple[TextClause, dict[str, int]]:
    """PostgreSQL: the statement that takes `check_in`'s lock of this buyer, and its parameters."""
    return SERIALIZE, {"key": serial_key(_lock_name(user_id))}


def within_caps(
    user_id: ColumnElement[int], grams: ColumnElement[int], now: ColumnElement
) -> ColumnElement[bool]:
    """SQL that is true while the buyer's open orders leave room for `grams` more: fewer than bind
    parameter `cap_orders` orders and at most `cap_g` grams held with these. For a statement that
    runs after `buyer_lock` in the same transaction (then it sees every order committed before)."""
    held = _open_orders(user_id, now).subquery()
    return select(
        (held.c.count < bindparam("cap_orders")) & (held.c.held_g + grams <= bindparam("cap_g"))
    ).scalar_subquery()


def cap_parameters(policy: OrderPolicy) -> dict[str, int]:
    return {"cap_orders": policy.max_open_orders_per_user, "cap_g": policy.max_reserved_g_per_user}


def _lock_name(user_id: int) -> str:
    return f"order-caps:{user_id}"


def _lock_buyer(session: Session, user_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        serialize_in(session, _lock_name(user_id))
        return
    # SQLite: a write takes the database's one write lock now, before the count is read, so the
    # count sees every order committed before it and no other order is written until this commits.
    session.execute(text("UPDATE users SET id = id WHERE id = :user_id"), {"user_id": user_id})


def _open_orders(user_id: int | ColumnElement[int], now: datetime | ColumnElement) -> Select:
    """The buyer's open orders: how many, the grams they hold, the first to expire.

    The statuses are written into the SQL, not sent as parameters, so that the planner can match the
    partial index of open orders (`ix_orders_open_by_user`) even in a prepared statement's generic
    plan; with parameters it cannot prove the index's condition and reads every order instead.
    """
    return select(
        func.count().label("count"),
        func.coalesce(func.sum(Order.grams), 0).label("held_g"),
        func.min(Order.expires_at).label("first_expiry"),
    ).where(
        Order.user_id == user_id,
        Order.organisation_id.is_(None),
        Order.status.in_(_OPEN_STATUSES),
        Order.expires_at > now,
    )


_OPEN_STATUSES = [literal_column(f"'{status.value}'") for status in sorted(order_states.OPEN)]


def _refuse_over_caps(
    session: Session | Connection, user_id: int, grams: int, policy: OrderPolicy, now: datetime
) -> None:
    count, held_g, first_expiry = session.execute(_open_orders(user_id, now)).one()
    _refuse(count, int(held_g), first_expiry, user_id, grams, policy, now)


def _refuse(
    count: int,
    held_g: int,
    first_expiry: datetime | None,
    user_id: int,
    grams: int,
    policy: OrderPolicy,
    now: datetime,
) -> None:
    limit = policy.max_open_orders_per_user
    if count >= limit:
        wait_s = max(1, int((first_expiry - now).total_seconds()) + 1)  # when the first one expires
        raise TooManyOpenOrders(
            f"You have {count} unpaid orders; pay or cancel one first.",
            retry_after=wait_s,
            open_orders=count,
            max_open_orders=limit,
        )
    cap_g = policy.max_reserved_g_per_user
    if held_g + grams > cap_g:
        if held_g:
            message = (
                f"One buyer's unpaid orders may hold at most {mass(cap_g)}; yours hold {mass(held_g)}"
                f" already, and this order of {mass(grams)} would go over. Pay or cancel an order first."
            )
        else:
            message = (
                f"One buyer's unpaid orders may hold at most {mass(cap_g)}; this order of"
                f" {mass(grams)} is more than that."
            )
        raise ReservationLimitReached(
            message,
            max_reserved_g=cap_g,
            held_g=held_g,
            requested_g=grams,
        )


def mass(grams: int) -> str:
    """Grams as people read them: whole tonnes or kilograms when they are whole, else grams."""
    if grams and grams % GRAMS_PER_TONNE == 0:
        return f"{grams // GRAMS_PER_TONNE:,} t"
    if grams and grams % 1_000 == 0:
        return f"{grams // 1_000:,} kg"
    return f"{grams:,} g"
