"""Emission factor sets (versioned, immutable once published), their factors, and users' footprints.

A factor set is published whole and never changed afterwards; publishing a new one only moves the
`is_current` flag. A footprint keeps the version it was computed with and its full breakdown, so
a later version never changes an old result.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.accounts import _enum
from models.base import Base, TimestampMixin, utcnow


class PeriodType(enum.StrEnum):
    MONTH = "month"
    YEAR = "year"


class FactorSet(Base):
    __tablename__ = "factor_sets"
    __table_args__ = (
        CheckConstraint("version > 0", name="version_positive"),
        # At most one current set; SQLite and PostgreSQL both support partial unique indexes.
        Index(
            "uq_factor_sets_is_current",
            "is_current",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(String(500), default="")
    is_current: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(200), default="")
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # {"provinces": {id: {"name_zh", "grid_region", "note"}}, "cities": {id: {"name_zh", "province", "lat", "lon", "note"}}}
    geography: Mapped[Any] = mapped_column(JSON)

    factors: Mapped[list[Factor]] = relationship(back_populates="factor_set", order_by="Factor.key")


class Factor(Base):
    """One factor of a set; `value` is the exact decimal text, never a float."""

    __tablename__ = "factors"
    __table_args__ = (
        UniqueConstraint("set_id", "key"),
        Index("ix_factors_set_id_category_key", "set_id", "category", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("factor_sets.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    activity: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(64), default="")
    year: Mapped[int | None]
    source: Mapped[str] = mapped_column(Text)
    source_url: Mapped[str] = mapped_column(String(500), default="")
    note: Mapped[str] = mapped_column(Text, default="")

    factor_set: Mapped[FactorSet] = relationship(back_populates="factors")

    @property
    def decimal_value(self) -> Decimal:
        return Decimal(self.value)


class Footprint(TimestampMixin, Base):
    """A user's footprint for a month or a year, as computed with one factor-set version."""

    __tablename__ = "footprints"
    __table_args__ = (
        CheckConstraint("total_g >= 0", name="total_non_negative"),
        Index("ix_footprints_user_id_id", "user_id", "id"),
        Index("ix_footprints_user_id_period_type_period_start", "user_id", "period_type", "period_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    period_type: Mapped[PeriodType] = mapped_column(_enum(PeriodType, "footprint_period_type"))
    period_start: Mapped[date]
    inputs: Mapped[Any] = mapped_column(JSON)
    factor_set_version: Mapped[int] = mapped_column(ForeignKey("factor_sets.version"))
    total_g: Mapped[int]
    breakdown: Mapped[Any] = mapped_column(JSON)
