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

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from models import GRAMS_PER_TONNE, Order, utcnow
from models.database import serialize_in, single_read
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


def _lock_buyer(session: Session, user_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        serialize_in(session, f"order-caps:{user_id}")
        return
    # SQLite: a write takes the database's one write lock now, before the count is read, so the
    # count sees every order committed before it and no other order is written until this commits.
    session.execute(text("UPDATE users SET id = id WHERE id = :user_id"), {"user_id": user_id})


def _refuse_over_caps(
    session: Session | Connection, user_id: int, grams: int, policy: OrderPolicy, now: datetime
) -> None:
    count, held_g, first_expiry = session.execute(
        select(func.count(), func.coalesce(func.sum(Order.grams), 0), func.min(Order.expires_at)).where(
            Order.user_id == user_id,
            Order.organisation_id.is_(None),
            Order.status.in_(list(order_states.OPEN)),
            Order.expires_at > now,
        )
    ).one()
    held_g = int(held_g)
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
