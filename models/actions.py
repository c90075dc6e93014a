"""Low-carbon actions (WeRun walking days, bus and metro trips), their uploads and review flags.

An action's `reduction_g` and `points` are what has been *credited* so far: they grow only, and
only when the action (or the part of it under review) is accepted. A flagged action waits for an
admin: new ones have nothing credited; one whose count a later upload raised keeps its earlier
credit while the raise is reviewed. A rejected action never has anything credited.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.accounts import _enum
from models.base import Base, TimestampMixin, utcnow


class ActionKind(enum.StrEnum):
    STEPS = "steps"
    BUS = "bus"
    METRO = "metro"


# One action per user, kind and day: re-uploads of that day update it (WeRun walking).
DAILY_KINDS = frozenset({ActionKind.STEPS})
TRIP_KINDS = frozenset({ActionKind.BUS, ActionKind.METRO})


class ActionStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    FLAGGED = "flagged"
    REJECTED = "rejected"


class FlagDecision(enum.StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Action(TimestampMixin, Base):
    __tablename__ = "actions"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("reduction_g >= 0 AND points >= 0", name="credit_non_negative"),
        CheckConstraint(
            "status <> 'rejected' OR (reduction_g = 0 AND points = 0)", name="rejected_has_no_credit"
        ),
        CheckConstraint("kind <> 'steps' OR trip_ref IS NULL", name="trip_ref_only_on_trips"),
        # An operator's trip id can be claimed once (NULLs, trips without an id, never collide).
        UniqueConstraint("kind", "trip_ref"),
        Index(
            "uq_actions_user_id_kind_date_daily",
            "user_id",
            "kind",
            "date",
            unique=True,
            sqlite_where=text("kind = 'steps'"),
            postgresql_where=text("kind = 'steps'"),
        ),
        Index("ix_actions_user_id_date", "user_id", "date"),
        Index("ix_actions_date", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[ActionKind] = mapped_column(_enum(ActionKind, "action_kind"))
    # The Beijing (UTC+8) calendar day the action happened on.
    date: Mapped[date]
    # Steps for walking, metres for trips: the count the credit is based on (see the flags for claims).
    quantity: Mapped[int]
    reduction_g: Mapped[int] = mapped_column(default=0)
    points: Mapped[int] = mapped_column(default=0)
    status: Mapped[ActionStatus] = mapped_column(
        _enum(ActionStatus, "action_status"), default=ActionStatus.ACCEPTED
    )
    # Which methodology entry (data/methodology) computed the reduction.
    methodology: Mapped[str] = mapped_column(String(64))
    trip_ref: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 of the WeRun upload that last changed this action.
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    flags: Mapped[list[ActionFlag]] = relationship(back_populates="action", order_by="ActionFlag.id")


class ActionUpload(Base):
    """A WeRun payload received once: its hash refuses a replay of the same `encryptedData`."""

    __tablename__ = "action_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ActionKind] = mapped_column(_enum(ActionKind, "action_kind"))
    payload_hash: Mapped[str] = mapped_column(String(64), unique=True)
    days: Mapped[int]
    watermark_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionFlag(Base):
    """A claim held for an admin's review instead of being credited: at most one pending per action."""

    __tablename__ = "action_flags"
    __table_args__ = (
        CheckConstraint("claimed_quantity > 0", name="claimed_quantity_positive"),
        CheckConstraint(
            "(decision IS NULL AND decided_at IS NULL) OR (decision IS NOT NULL AND decided_at IS NOT NULL)",
            name="decided_at_with_decision",
        ),
        Index(
            "uq_action_flags_action_id_pending",
            "action_id",
            unique=True,
            sqlite_where=text("decision IS NULL"),
            postgresql_where=text("decision IS NULL"),
        ),
        Index("ix_action_flags_decision_id", "decision", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    # Comma-separated reason slugs, e.g. "steps_above_limit,flat_steps_run".
    reason: Mapped[str] = mapped_column(String(128))
    detail: Mapped[str] = mapped_column(String(255), default="")
    claimed_quantity: Mapped[int]
    # The credited quantity before the claim; None when the claim is the action's first.
    prior_quantity: Mapped[int | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[FlagDecision | None] = mapped_column(_enum(FlagDecision, "flag_decision"))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(String(255), default="")

    action: Mapped[Action] = relationship(back_populates="flags")
