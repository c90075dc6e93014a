"""Event carbon neutralisation (大型活动碳中和) and institutional credit purchases.

An event keeps both its estimate (made when planning) and its actual accounting (after the event):
every emission source row and every travel group carries its phase. Travel is stored aggregated per
(origin city, mode, return trip), so ten thousand attendees are a few hundred rows.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.accounts import _enum
from models.base import Base, TimestampMixin
from models.public_codes import new_public_code


class EventStage(enum.StrEnum):
    PLAN = "plan"
    ACCOUNTED = "accounted"
    OFFSET = "offset"
    DECLARED = "declared"


class Phase(enum.StrEnum):
    ESTIMATE = "estimate"
    ACTUAL = "actual"


class SourceKind(enum.StrEnum):
    VENUE_ELECTRICITY = "venue_electricity"
    VENUE_HEAT = "venue_heat"
    VENUE_FUEL = "venue_fuel"
    VEHICLES = "vehicles"
    TRAVEL = "travel"
    ACCOMMODATION = "accommodation"
    CATERING = "catering"
    MATERIALS = "materials"
    WASTE = "waste"


class TravelMode(enum.StrEnum):
    FLIGHT = "flight"
    HSR = "hsr"
    RAIL = "rail"
    CAR = "car"
    BUS = "bus"
    METRO = "metro"


def one_year_after(day: date) -> date:
    """The same day a year later; 28 February for 29 February."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


class ClaimKind(enum.StrEnum):
    ECOLOGICAL_JUSTICE = "ecological_justice"
    TREE_PLANTING = "tree_planting"
    ANNUAL_NEUTRALISATION = "annual_neutralisation"


class Event(TimestampMixin, Base):
    __tablename__ = "events"
    __table_args__ = (CheckConstraint("end_date >= start_date", name="dates_in_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    venue_city: Mapped[str] = mapped_column(String(64))
    expected_attendees: Mapped[int] = mapped_column(default=0)
    actual_attendees: Mapped[int | None]
    stage: Mapped[EventStage] = mapped_column(_enum(EventStage, "event_stage"), default=EventStage.PLAN)
    published: Mapped[bool] = mapped_column(default=False)
    boundary: Mapped[str] = mapped_column(Text, default="")
    reduction_measures: Mapped[str] = mapped_column(Text, default="")
    offset_plan: Mapped[str] = mapped_column(Text, default="")
    offset_order_no: Mapped[str | None] = mapped_column(String(32))
    # The key of the public disclosure, never the sequential id: see models.public_codes.
    public_code: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_code)
    # When the offset order was fulfilled (the event reached `offset`), in that same transaction.
    offset_at: Mapped[datetime | None]
    declared_at: Mapped[datetime | None]
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))

    sources: Mapped[list[EventSource]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventSource.id"
    )

    @property
    def offset_deadline(self) -> date:
        """The last day to order the offset: within one year of the event (Guangdong DB44/T 2639-2025)."""
        return one_year_after(self.end_date)


class EventSource(TimestampMixin, Base):
    """One emission source of one phase: activity × factor, rounded half-up to the gram once."""

    __tablename__ = "event_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    phase: Mapped[Phase] = mapped_column(_enum(Phase, "event_phase"))
    kind: Mapped[SourceKind] = mapped_column(_enum(SourceKind, "event_source_kind"))
    description: Mapped[str] = mapped_column(String(200), default="")
    activity: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    activity_unit: Mapped[str] = mapped_column(String(32))
    factor_key: Mapped[str] = mapped_column(String(64))
    # The factor-library version the factor came from; None for a custom factor (and for sources
    # recorded before events read the library).
    factor_set_version: Mapped[int | None]
    factor_kg_per_unit: Mapped[Decimal] = mapped_column(Numeric(20, 8))
    factor_source: Mapped[str] = mapped_column(Text)
    grams: Mapped[int]
    # Travel rows computed from the uploaded attendee list; a new upload replaces them.
    from_attendee_list: Mapped[bool] = mapped_column(default=False)

    event: Mapped[Event] = relationship(back_populates="sources")


class EventTravelGroup(Base):
    """Attendees of one phase travelling from one city by one mode, one way or return."""

    __tablename__ = "event_travel_groups"
    __table_args__ = (
        UniqueConstraint("event_id", "phase", "origin_city", "mode", "return_trip"),
        CheckConstraint("attendees > 0", name="attendees_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    phase: Mapped[Phase] = mapped_column(_enum(Phase, "event_phase"))
    origin_city: Mapped[str] = mapped_column(String(64))
    mode: Mapped[TravelMode] = mapped_column(_enum(TravelMode, "travel_mode"))
    return_trip: Mapped[bool]
    attendees: Mapped[int]
    distance_km: Mapped[Decimal] = mapped_column(Numeric(10, 1))
    passenger_km: Mapped[Decimal] = mapped_column(Numeric(20, 1))


class InstitutionalClaim(TimestampMixin, Base):
    """A purchase for ecological-justice restoration, tree-planting duty or annual neutralisation."""

    __tablename__ = "institutional_claims"
    __table_args__ = (CheckConstraint("grams_required > 0", name="grams_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[ClaimKind] = mapped_column(_enum(ClaimKind, "institutional_claim_kind"))
    case_number: Mapped[str] = mapped_column(String(100), default="")
    court: Mapped[str] = mapped_column(String(200), default="")
    defendant_name: Mapped[str] = mapped_column(String(100), default="")
    year: Mapped[int | None]
    grams_required: Mapped[int]
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    # The key of the public record (shown only once the order is paid), never the sequential id.
    public_code: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_code)
    certificate_title: Mapped[str] = mapped_column(String(200))
    certificate_statement: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
