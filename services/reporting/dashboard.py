"""The admin dashboard: what happened in each day, week or month (Beijing time), and the pool now.

Each bucket counts what happened in it: grams sold (orders fulfilled) and refunded (refunds
succeeded), grams retired (retirements confirmed), new users, orders placed by their current
state, carbon points awarded, spent and reversed, money paid in and refunded. Money follows the
owner payouts (`services.registry.payouts`): paid by `paid_at`, refunded by the refund's completion; so the
net fen of a month here is the sum of that month's payouts.

Sales, refunds, money, orders by state and points are summed from the day rows of the rollups
(`rollup_reads`): a bucket is whole Beijing days, so what a read costs depends on the days asked
for, not on how many orders there ever were. Retirements and new users are counted in SQL over the
buckets' UTC bounds (a CASE maps each moment to its bucket; an index holds users by creation time).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from models import (
    GRAMS_PER_TONNE,
    Batch,
    PointsKind,
    Retirement,
    RetirementStatus,
    Role,
    User,
)
from models.database import read_session
from services.kernel import beijing_time
from services.kernel.errors import ValidationFailed
from services.reporting import rollup_reads

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


# dashboard figure → whole-order figure of the sales rollups
_FROM_SALES = {
    "sold_g": "fulfilled_g",
    "refunded_g": "refund_g",
    "refunded_fen": "refund_fen",
    "orders_paid": "paid_orders",
    "sales_fen": "paid_fen",
}
_POINTS = {
    PointsKind.EARN.value: "points_awarded",
    PointsKind.SPEND.value: "points_spent",
    PointsKind.REVERSE.value: "points_reversed",
}


def _series(found: dict[tuple[int, Any], int], count: int) -> list[int]:
    return [found.get((i, None), 0) for i in range(count)]


def _by_day(spans: list[Bucket]) -> tuple[date, date, Any]:
    """The days [first, end) the buckets cover, and a function giving a day's bucket index."""
    firsts = [span.first_day for span in spans]
    end = beijing_time.beijing_date(spans[-1].end)
    return firsts[0], end, lambda day: bisect_right(firsts, day) - 1


def dashboard(period: str, count: int | None = None, until: date | None = None) -> dict[str, Any]:
    """Figures per bucket, their totals over the buckets, and the pool and users as they are now."""
    spans = buckets(period, count, until)
    n = len(spans)
    first, end, bucket_of = _by_day(spans)
    series: dict[str, list[int]] = {figure: [0] * n for figure in FIGURES}
    # Sales, refunds and money: the whole-order rows of the sales rollups (a second payment's
    # refund returns money that was never counted as a sale, so it is not in them).
    for day, sums in rollup_reads.whole_order_days(first, end, tuple(_FROM_SALES.values())).items():
        i = bucket_of(day)
        for figure, name in _FROM_SALES.items():
            series[figure][i] += sums[name]
    for day, kind, points in rollup_reads.points_by_day(first, end):
        if kind in _POINTS:
            series[_POINTS[kind]][bucket_of(day)] += -points if kind != PointsKind.EARN.value else points
    by_state: dict[tuple[int, str], int] = {}
    for day, status, orders in rollup_reads.order_states(first, end):
        key = (bucket_of(day), status)
        by_state[key] = by_state.get(key, 0) + orders
        series["orders_created"][key[0]] += orders
    session = read_session()
    series["retired_g"] = [
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
    ]
    series["new_users"] = _series(_bucketed(session, User.created_at, None, spans, User.role == Role.USER), n)
    series["net_sold_g"] = [s - r for s, r in zip(series["sold_g"], series["refunded_g"], strict=True)]
    series["net_fen"] = [s - r for s, r in zip(series["sales_fen"], series["refunded_fen"], strict=True)]
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
            status: value for (bucket, status), value in sorted(by_state.items(), key=str) if bucket == i
        }
        rows.append(row)
    totals: dict[str, Any] = {figure: sum(series[figure]) for figure in FIGURES}
    totals["orders_by_state"] = {}
    for (_bucket, status), value in by_state.items():
        totals["orders_by_state"][status] = totals["orders_by_state"].get(status, 0) + value
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
