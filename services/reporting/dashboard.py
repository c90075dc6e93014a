"""The admin dashboard: what happened in each day, week or month (Beijing time), and the pool now.

Each bucket counts what happened in it: grams sold (orders fulfilled) and refunded (refunds
succeeded), grams retired (retirements confirmed), new users, orders placed by their current
state, carbon points awarded, spent and reversed, money paid in and refunded. Money follows the
owner payouts (`services.registry.payouts`): paid by `paid_at`, refunded by the refund's completion; so the
net fen of a month here is the sum of that month's payouts. Buckets are computed in SQL, one query
per figure: a CASE maps each moment to the bucket whose UTC bounds hold it, on any database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from models import (
    GRAMS_PER_TONNE,
    Batch,
    Order,
    PointsEntry,
    PointsKind,
    Refund,
    RefundStatus,
    Retirement,
    RetirementStatus,
    Role,
    User,
)
from models.database import read_session
from services.kernel import beijing_time
from services.kernel.errors import ValidationFailed

PERIODS = ("day", "week", "month")
DEFAULT_BUCKETS = {"day": 30, "week": 12, "month": 12}
MAX_BUCKETS = 366

FIGURES = (
    "sold_g",
    "refunded_g",
    "net_sold_g",
    "retired_g",
    "new_users",
    "orders_created",
    "orders_paid",
    "points_awarded",
    "points_spent",
    "points_reversed",
    "sales_fen",
    "refunded_fen",
    "net_fen",
)


@dataclass(frozen=True)
class Bucket:
    first_day: date
    start: datetime
    end: datetime


def buckets(period: str, count: int | None = None, until: date | None = None) -> list[Bucket]:
    """`count` consecutive days, weeks (from Monday) or months, the last one holding `until` (today)."""
    if period not in PERIODS:
        raise ValidationFailed(
            "Period is day, week or month.", errors={"period": [f"one of {', '.join(PERIODS)}"]}
        )
    count = count or DEFAULT_BUCKETS[period]
    if not 1 <= count <= MAX_BUCKETS:
        raise ValidationFailed(
            f"Between 1 and {MAX_BUCKETS} buckets.", errors={"buckets": [f"must be 1 to {MAX_BUCKETS}"]}
        )
    last = until or beijing_time.today()
    if period == "day":
        firsts = [last - timedelta(days=count - 1 - i) for i in range(count + 1)]
    elif period == "week":
        monday = beijing_time.week_start(last)
        firsts = [monday - timedelta(weeks=count - 1 - i) for i in range(count + 1)]
    else:
        month = beijing_time.month_start(last)
        firsts = [beijing_time.add_months(month, i - (count - 1)) for i in range(count + 1)]
    starts = [beijing_time.day_start_utc(day) for day in firsts]
    return [Bucket(firsts[i], starts[i], starts[i + 1]) for i in range(count)]


def _bucketed(
    session: Session, moment: Any, value: Any, spans: list[Bucket], *where: Any, by: Any = None
) -> dict[tuple[int, Any], int]:
    """{(bucket index, `by` value or None): sum of `value`} for rows whose `moment` lies in a bucket."""
    index = case(*[(moment < span.end, literal(i)) for i, span in enumerate(spans)])
    value = literal(1) if value is None else value
    columns = [index.label("bucket"), value.label("value")]
    if by is not None:
        columns.append(by.label("by"))
    inner = select(*columns).where(moment >= spans[0].start, moment < spans[-1].end, *where).subquery()
    keys = [inner.c.bucket] + ([inner.c.by] if by is not None else [])
    rows = session.execute(select(*keys, func.sum(inner.c.value)).group_by(*keys)).all()
    if by is None:
        return {(int(row[0]), None): int(row[1] or 0) for row in rows}
    return {(int(row[0]), row[1]): int(row[2] or 0) for row in rows}


def _series(found: dict[tuple[int, Any], int], count: int) -> list[int]:
    return [found.get((i, None), 0) for i in range(count)]


def dashboard(period: str, count: int | None = None, until: date | None = None) -> dict[str, Any]:
    """Figures per bucket, their totals over the buckets, and the pool and users as they are now."""
    spans = buckets(period, count, until)
    n = len(spans)
    session = read_session()
    # A second payment's refund returns money that was never counted as a sale.
    succeeded = (Refund.status == RefundStatus.SUCCEEDED) & Refund.transaction_id.is_(None)
    series = {
        "sold_g": _series(_bucketed(session, Order.fulfilled_at, Order.grams, spans), n),
        "refunded_g": _series(_bucketed(session, Refund.completed_at, Refund.grams, spans, succeeded), n),
        "retired_g": [
            tonnes * GRAMS_PER_TONNE
            for tonnes in _series(
                _bucketed(
                    session,
                    Retirement.confirmed_at,
                    Retirement.tonnes,
                    spans,
                    Retirement.status == RetirementStatus.CONFIRMED,
                ),
                n,
            )
        ],
        "new_users": _series(_bucketed(session, User.created_at, None, spans, User.role == Role.USER), n),
        "orders_created": _series(_bucketed(session, Order.created_at, None, spans), n),
        "orders_paid": _series(_bucketed(session, Order.paid_at, None, spans), n),
        "points_awarded": _series(
            _bucketed(
                session,
                PointsEntry.created_at,
                PointsEntry.points,
                spans,
                PointsEntry.kind == PointsKind.EARN,
            ),
            n,
        ),
        "points_spent": [
            -points
            for points in _series(
                _bucketed(
                    session,
                    PointsEntry.created_at,
                    PointsEntry.points,
                    spans,
                    PointsEntry.kind == PointsKind.SPEND,
                ),
                n,
            )
        ],
        "points_reversed": [
            -points
            for points in _series(
                _bucketed(
                    session,
                    PointsEntry.created_at,
                    PointsEntry.points,
                    spans,
                    PointsEntry.kind == PointsKind.REVERSE,
                ),
                n,
            )
        ],
        "sales_fen": _series(_bucketed(session, Order.paid_at, Order.amount_fen, spans), n),
        "refunded_fen": _series(
            _bucketed(session, Refund.completed_at, Refund.amount_fen, spans, succeeded), n
        ),
    }
    series["net_sold_g"] = [s - r for s, r in zip(series["sold_g"], series["refunded_g"], strict=True)]
    series["net_fen"] = [s - r for s, r in zip(series["sales_fen"], series["refunded_fen"], strict=True)]
    by_state = _bucketed(session, Order.created_at, None, spans, by=Order.status)
    pool = session.execute(
        select(
            func.coalesce(func.sum(Batch.issued_g), 0),
            func.coalesce(func.sum(Batch.available_g), 0),
            func.coalesce(func.sum(Batch.reserved_g), 0),
            func.coalesce(func.sum(Batch.sold_g), 0),
            func.coalesce(func.sum(Batch.retired_g), 0),
        )
    ).one()
    users = session.scalar(select(func.count()).select_from(User).where(User.role == Role.USER)) or 0
    session.rollback()

    rows = []
    for i, span in enumerate(spans):
        row: dict[str, Any] = {"start": span.first_day, "starts_at": span.start, "ends_at": span.end}
        row.update({figure: series[figure][i] for figure in FIGURES})
        row["orders_by_state"] = {
            _state(status): value
            for (bucket, status), value in sorted(by_state.items(), key=str)
            if bucket == i
        }
        rows.append(row)
    totals: dict[str, Any] = {figure: sum(series[figure]) for figure in FIGURES}
    totals["orders_by_state"] = {}
    for (_bucket, status), value in by_state.items():
        totals["orders_by_state"][_state(status)] = totals["orders_by_state"].get(_state(status), 0) + value
    return {
        "period": period,
        "timezone": "Asia/Shanghai",
        "starts_at": spans[0].start,
        "ends_at": spans[-1].end,
        "buckets": rows,
        "totals": totals,
        "now": {
            "users": int(users),
            "issued_g": int(pool[0]),
            "available_g": int(pool[1]),
            "reserved_g": int(pool[2]),
            "sold_g": int(pool[3]),
            "retired_g": int(pool[4]),
        },
    }


def _state(status: Any) -> str:
    return getattr(status, "value", str(status))
