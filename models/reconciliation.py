"""Reconciliation of the orders and refunds against WeChat Pay's daily trade bill.

A run reads one day's bill (downloaded through the payment provider, or a file an admin gives)
and stores what it found: progress counts while it runs, totals of both sides when it is done,
and one discrepancy row per difference, which an admin later resolves.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.accounts import _enum
from models.base import Base, TimestampMixin


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RunSource(enum.StrEnum):
    PROVIDER = "provider"  # downloaded through the configured payment provider
    UPLOAD = "upload"  # a bill file uploaded by an admin
    FILE = "file"  # a bill file read from the command line


class DiscrepancyKind(enum.StrEnum):
    MISSING_HERE = "missing_here"  # paid at WeChat, not paid here (or no such order)
    MISSING_AT_WECHAT = "missing_at_wechat"  # paid here that day, absent from the bill
    AMOUNT_DIFFERS = "amount_differs"
    STATUS_DIFFERS = "status_differs"  # e.g. another transaction, or revoked at WeChat
    PAID_TWICE = "paid_twice"  # a second payment of an order paid here; refunded automatically
    REFUND_MISSING_HERE = "refund_missing_here"
    REFUND_MISSING_AT_WECHAT = "refund_missing_at_wechat"
    REFUND_AMOUNT_DIFFERS = "refund_amount_differs"
    TOTALS_MISMATCH = "totals_mismatch"  # the bill's summary row against the sum of its rows
    FEE_MISMATCH = "fee_mismatch"  # the summary's fee total against the sum of the row fees


class Resolution(enum.StrEnum):
    FULFILLED = "fulfilled"
    REFUNDED = "refunded"
    EXPLAINED = "explained"


class ReconciliationRun(TimestampMixin, Base):
    __tablename__ = "reconciliation_runs"
    __table_args__ = (Index("ix_reconciliation_runs_bill_date", "bill_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unknown until the first row when an uploaded file is read without a date.
    bill_date: Mapped[date | None]
    source: Mapped[RunSource] = mapped_column(_enum(RunSource, "reconciliation_source"))
    provider: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[RunStatus] = mapped_column(
        _enum(RunStatus, "reconciliation_status"), default=RunStatus.RUNNING
    )
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    finished_at: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(Text, default="")
    bytes_total: Mapped[int | None]
    bytes_read: Mapped[int] = mapped_column(default=0)
    lines_read: Mapped[int] = mapped_column(default=0)
    trade_rows: Mapped[int] = mapped_column(default=0)
    refund_rows: Mapped[int] = mapped_column(default=0)
    matched: Mapped[int] = mapped_column(default=0)
    discrepancies: Mapped[int] = mapped_column(default=0)
    # {"bill": the summary row, "rows": sums of the bill's rows, "here": the day's orders and refunds}
    totals: Mapped[Any | None] = mapped_column(JSON)


class ReconciliationDiscrepancy(Base):
    __tablename__ = "reconciliation_discrepancies"
    __table_args__ = (
        Index("ix_reconciliation_discrepancies_run_id_kind", "run_id", "kind"),
        CheckConstraint(
            "(resolution IS NULL AND resolved_at IS NULL) OR (resolution IS NOT NULL AND resolved_at IS NOT NULL)",
            name="resolved_together",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_runs.id", ondelete="CASCADE"))
    kind: Mapped[DiscrepancyKind] = mapped_column(_enum(DiscrepancyKind, "discrepancy_kind"))
    line_no: Mapped[int | None]  # the bill line it comes from, when it comes from one
    out_trade_no: Mapped[str | None] = mapped_column(String(32), index=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    out_refund_no: Mapped[str | None] = mapped_column(String(64))
    refund_id: Mapped[str | None] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    refund_pk: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    amount_here_fen: Mapped[int | None]
    amount_there_fen: Mapped[int | None]
    status_here: Mapped[str | None] = mapped_column(String(32))
    status_there: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(255), default="")
    # The bill row's fields needed to act on it (time, payer, appid, mchid).
    bill_row: Mapped[Any | None] = mapped_column(JSON)
    resolution: Mapped[Resolution | None] = mapped_column(_enum(Resolution, "discrepancy_resolution"))
    resolution_note: Mapped[str] = mapped_column(String(500), default="")
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
