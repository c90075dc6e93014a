"""The issued-credit pool: credit kinds, owners, projects, batches and their gram accounting.

Every batch has a gram space [0, issued_g). Each gram of it is, at any time, in exactly one of:
the never-allocated tail [cursor_g, issued_g), a free range (returned by an expiry or a refund),
or an allocation that is reserved or sold. `available_g` counts the first two, `reserved_g` and
`sold_g` the allocations; CHECK constraints keep the counters consistent with each other.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.accounts import _enum
from models.base import Base, TimestampMixin

GRAMS_PER_TONNE = 1_000_000


class OwnerKind(enum.StrEnum):
    FOREST_FARMER = "forest_farmer"
    VILLAGE_COLLECTIVE = "village_collective"
    STATE_FOREST_FARM = "state_forest_farm"
    COMPANY = "company"
    OTHER = "other"


class CreditKind(TimestampMixin, Base):
    """FFCER, CCER, a forestry carbon ticket, a carbon-inclusion credit, ..."""

    __tablename__ = "credit_kinds"
    __table_args__ = (CheckConstraint("price_fen_per_t >= 0", name="price_non_negative"),)

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    registry_name: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    price_fen_per_t: Mapped[int] = mapped_column(default=0)


class ProjectOwner(TimestampMixin, Base):
    """Who the project's credits belong to (a forest farmer, a village collective, ...)."""

    __tablename__ = "project_owners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[OwnerKind] = mapped_column(_enum(OwnerKind, "owner_kind"), default=OwnerKind.OTHER)
    county: Mapped[str] = mapped_column(String(100), default="")


class Project(TimestampMixin, Base):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("price_fen_per_t IS NULL OR price_fen_per_t >= 0", name="price_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind_code: Mapped[str] = mapped_column(ForeignKey("credit_kinds.code"), index=True)
    county: Mapped[str] = mapped_column(String(100), default="", index=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("project_owners.id"), index=True)
    methodology: Mapped[str] = mapped_column(String(200), default="")
    registry_name: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(String(512), default="")
    # Overrides the kind's price when set.
    price_fen_per_t: Mapped[int | None]

    kind: Mapped[CreditKind] = relationship()
    owner: Mapped[ProjectOwner | None] = relationship()
    batches: Mapped[list[Batch]] = relationship(back_populates="project", order_by="Batch.id")

    @property
    def effective_price_fen_per_t(self) -> int:
        return self.price_fen_per_t if self.price_fen_per_t is not None else self.kind.price_fen_per_t


class Batch(TimestampMixin, Base):
    """One issuance: a serial range of whole tonnes at the registry."""

    __tablename__ = "batches"
    __table_args__ = (
        CheckConstraint("serial_end >= serial_start", name="serial_range_ordered"),
        CheckConstraint("serial_start >= 0", name="serial_start_non_negative"),
        CheckConstraint("quantity_t = serial_end - serial_start + 1", name="quantity_matches_range"),
        CheckConstraint(f"issued_g = quantity_t * {GRAMS_PER_TONNE}", name="issued_matches_quantity"),
        CheckConstraint("available_g >= 0", name="available_non_negative"),
        CheckConstraint("reserved_g >= 0", name="reserved_non_negative"),
        CheckConstraint("sold_g >= 0", name="sold_non_negative"),
        CheckConstraint("retired_g >= 0", name="retired_non_negative"),
        CheckConstraint("available_g + reserved_g + sold_g = issued_g", name="conservation"),
        CheckConstraint("retired_g <= sold_g", name="retired_within_sold"),
        CheckConstraint("cursor_g >= 0 AND cursor_g <= issued_g", name="cursor_within_issue"),
        UniqueConstraint("serial_prefix", "serial_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    vintage: Mapped[int]
    serial_prefix: Mapped[str] = mapped_column(String(64))
    serial_start: Mapped[int]
    serial_end: Mapped[int]
    serial_digits: Mapped[int] = mapped_column(default=7)
    quantity_t: Mapped[int]
    issued_on: Mapped[date]
    registry_ref: Mapped[str] = mapped_column(String(200), default="")
    registry_url: Mapped[str] = mapped_column(String(512), default="")
    issued_g: Mapped[int]
    available_g: Mapped[int]
    reserved_g: Mapped[int] = mapped_column(default=0)
    sold_g: Mapped[int] = mapped_column(default=0)
    retired_g: Mapped[int] = mapped_column(default=0)
    cursor_g: Mapped[int] = mapped_column(default=0)

    project: Mapped[Project] = relationship(back_populates="batches")

    def serial(self, tonne_index: int) -> str:
        """The registry serial of the tonne at `tonne_index` (0-based) within this batch."""
        return f"{self.serial_prefix}{str(self.serial_start + tonne_index).zfill(self.serial_digits)}"


class ReservationStatus(enum.StrEnum):
    RESERVED = "reserved"
    CONFIRMED = "confirmed"
    RELEASED = "released"


class Reservation(TimestampMixin, Base):
    """Grams held for a sale until it is paid (confirmed) or expires (released)."""

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("grams > 0", name="grams_positive"),
        Index("ix_reservations_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grams: Mapped[int]
    # Sold grams given back to the pool by refunds; the rest stays sold.
    returned_g: Mapped[int] = mapped_column(default=0)
    status: Mapped[ReservationStatus] = mapped_column(
        _enum(ReservationStatus, "reservation_status"), default=ReservationStatus.RESERVED
    )
    expires_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]

    allocations: Mapped[list[Allocation]] = relationship(
        back_populates="reservation", order_by="Allocation.id"
    )


class AllocationState(enum.StrEnum):
    RESERVED = "reserved"
    SOLD = "sold"


class Allocation(Base):
    """A contiguous slice [start_g, end_g) of one batch's gram space held by a reservation."""

    __tablename__ = "allocations"
    __table_args__ = (
        CheckConstraint("end_g > start_g", name="non_empty"),
        CheckConstraint("start_g >= 0", name="start_non_negative"),
        Index("ix_allocations_batch_id_start_g", "batch_id", "start_g"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("reservations.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    start_g: Mapped[int]
    end_g: Mapped[int]
    state: Mapped[AllocationState] = mapped_column(
        _enum(AllocationState, "allocation_state"), default=AllocationState.RESERVED
    )

    reservation: Mapped[Reservation] = relationship(back_populates="allocations")
    batch: Mapped[Batch] = relationship()

    @property
    def grams(self) -> int:
        return self.end_g - self.start_g


class FreeRange(Base):
    """Grams of a batch returned to the pool, reused before the never-allocated tail."""

    __tablename__ = "free_ranges"
    __table_args__ = (
        CheckConstraint("end_g > start_g", name="non_empty"),
        Index("ix_free_ranges_batch_id_start_g", "batch_id", "start_g"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    start_g: Mapped[int]
    end_g: Mapped[int]
