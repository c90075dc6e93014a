"""Rollups: the sums the admin and public reads add up, kept per Beijing day so their cost stays flat.

- `SalesRollupDelta`: what one fulfilment, late payment or refund adds, appended (never updated) in
  the transaction that records it, so concurrent buyers never wait on one another's row;
- `SalesRollup`: the deltas compacted by the worker into one row per day, project, channel and
  product (`project_id` 0: the order as a whole). A read sums both;
- `SplitOrder`: the orders whose lines come from more than one project, so that a report grouped by
  kind or owner counts such an order once;
- `OrderStateRollup`, `PointsRollup`: orders by the day they were created and their state, and
  points by day and kind, folded in by the worker from the order events and the points entries up
  to `RollupMark.last_id`; a read adds the events and entries after it.

`services.reporting.sales_rollups` says what each figure counts.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.accounts import User
from models.base import Base, utcnow

# Every figure of a sales rollup row, in this order (see services.reporting.sales_rollups).
SALES_FIGURES = (
    "orders",
    "grams",
    "gross_fen",
    "report_refunded_g",
    "report_refunded_fen",
    "sold_g",
    "refund_g",
    "refund_fen",
    "refund_lines",
    "refunds",
    "paid_orders",
    "paid_fen",
    "fulfilled_g",
)
WHOLE_ORDER = 0  # the project_id of a row about orders as a whole


class _SalesFigures:
    orders: Mapped[int] = mapped_column(default=0)
    grams: Mapped[int] = mapped_column(default=0)
    gross_fen: Mapped[int] = mapped_column(default=0)
    report_refunded_g: Mapped[int] = mapped_column(default=0)
    report_refunded_fen: Mapped[int] = mapped_column(default=0)
    sold_g: Mapped[int] = mapped_column(default=0)
    refund_g: Mapped[int] = mapped_column(default=0)
    refund_fen: Mapped[int] = mapped_column(default=0)
    refund_lines: Mapped[int] = mapped_column(default=0)
    refunds: Mapped[int] = mapped_column(default=0)
    paid_orders: Mapped[int] = mapped_column(default=0)
    paid_fen: Mapped[int] = mapped_column(default=0)
    fulfilled_g: Mapped[int] = mapped_column(default=0)


class SalesRollup(_SalesFigures, Base):
    """The compacted sums of one Beijing day, project (0: whole orders), channel and product."""

    __tablename__ = "sales_rollups"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    project_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    product: Mapped[str] = mapped_column(String(16), primary_key=True)


class SalesRollupDelta(_SalesFigures, Base):
    """What one fulfilment, late payment or refund adds to a rollup row; deleted once compacted."""

    __tablename__ = "sales_rollup_deltas"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    project_id: Mapped[int]
    channel: Mapped[str] = mapped_column(String(32))
    product: Mapped[str] = mapped_column(String(16))


class SplitOrder(Base):
    """A paid order whose lines come from two or more projects: one row per order and project."""

    __tablename__ = "split_orders"

    order_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    project_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, index=True)  # the Beijing day it was paid
    channel: Mapped[str] = mapped_column(String(32))
    product: Mapped[str] = mapped_column(String(16))


class OrderStateRollup(Base):
    """Orders created on a Beijing day that are in `status`, as of the order events folded in."""

    __tablename__ = "order_state_rollups"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    orders: Mapped[int] = mapped_column(default=0)


class PointsRollup(Base):
    """The points of the entries of one kind made on a Beijing day, as of the entries folded in."""

    __tablename__ = "points_rollups"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    points: Mapped[int] = mapped_column(default=0)


class RollupMark(Base):
    """How far a log (`order_events`, `points_entries`) is folded into its rollup: ids up to `last_id`."""

    __tablename__ = "rollup_marks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_id: Mapped[int] = mapped_column(default=0)
    folded_at: Mapped[datetime] = mapped_column(default=utcnow)


# The dashboard counts new users per day over a window of days: a range of this index, not the table.
Index("ix_users_created_at", User.__table__.c.created_at)
