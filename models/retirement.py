"""Registry retirements: batches of whole sold tonnes retired (注销) at the registry.

A retirement goes draft → submitted → confirmed, or is cancelled before it is confirmed. Its
tonnes are `RetiredTonne` rows; while the retirement is not cancelled they are *active* and a
partial unique index keeps every (batch, tonne) in at most one active row, so no tonne can be
claimed by two retirements. A confirmed retirement has the registry's reference and date, and its
tonnes count in `batches.retired_g`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.accounts import _enum
from models.base import Base, TimestampMixin


class RetirementStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class Retirement(TimestampMixin, Base):
    """One request to the registry to retire a list of tonnes of one credit kind."""

    __tablename__ = "retirements"
    __table_args__ = (
        CheckConstraint("tonnes > 0", name="tonnes_positive"),
        CheckConstraint(
            "status <> 'confirmed' OR (registry_ref <> '' AND retired_on IS NOT NULL"
            " AND confirmed_at IS NOT NULL)",
            name="confirmed_has_registry_record",
        ),
        Index("ix_retirements_status_confirmed_at", "status", "confirmed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind_code: Mapped[str] = mapped_column(ForeignKey("credit_kinds.code"), index=True)
    status: Mapped[RetirementStatus] = mapped_column(
        _enum(RetirementStatus, "retirement_status"), default=RetirementStatus.DRAFT
    )
    tonnes: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The registry's number of the application, when the admin has filed it.
    submission_ref: Mapped[str] = mapped_column(String(200), default="")
    submitted_at: Mapped[datetime | None]
    # The registry's record of the retirement (注销证明): its reference, public URL and date.
    registry_ref: Mapped[str] = mapped_column(String(200), default="")
    registry_url: Mapped[str] = mapped_column(String(512), default="")
    retired_on: Mapped[date | None]
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str] = mapped_column(String(255), default="")


class RetiredTonne(Base):
    """One registry tonne (a batch's tonne index and its serial) in a retirement."""

    __tablename__ = "retired_tonnes"
    __table_args__ = (
        CheckConstraint("tonne_index >= 0", name="tonne_index_non_negative"),
        # A tonne is in at most one retirement that is not cancelled.
        Index(
            "uq_retired_tonnes_active_batch_id_tonne_index",
            "batch_id",
            "tonne_index",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
        Index("ix_retired_tonnes_serial", "serial"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    retirement_id: Mapped[int] = mapped_column(ForeignKey("retirements.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    tonne_index: Mapped[int]
    serial: Mapped[str] = mapped_column(String(96))
    # False once the retirement is cancelled: the tonne may then go into another retirement.
    active: Mapped[bool] = mapped_column(default=True)
