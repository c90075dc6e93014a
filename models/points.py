"""The carbon points ledger: append-only entries, the lots they draw on, and a cached balance.

Sign convention: an entry's `points` is its effect on what the user holds (available + pending).
`earn` is positive; `spend` and `expire` are negative; `reverse` is negative or zero (zero when
nothing of the award was left to take back); `adjust` is either sign, never zero.

Every positive entry (an `earn` or a positive `adjust`) is a *lot*: it carries `status`
(`pending` during a refund window, then `available`), `available_at`, `expires_at` and
`remaining`, the part of it not yet spent, expired or reversed. Every negative entry draws its
points from lots; each draw is a `PointsUse` row, so that for every lot
`points = remaining + sum(uses)` and for every negative entry `-points = sum(uses)`.
Apart from `remaining` and `status` of lots, entries never change.

`PointsBalance` caches per user: `balance` = remaining of available lots (spendable), `pending` =
remaining of pending lots, so `balance + pending = sum(points of entries)`; `lifetime_earned` =
points of earns minus points of reversed earns. The row is locked by every write to the user's
ledger and updated in the same transaction as the entries.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.accounts import _enum
from models.base import Base, TimestampMixin, utcnow


class PointsKind(enum.StrEnum):
    EARN = "earn"
    SPEND = "spend"
    EXPIRE = "expire"
    REVERSE = "reverse"
    ADJUST = "adjust"


class PointsSource(enum.StrEnum):
    ORDER = "order"
    ACTION = "action"
    REDEMPTION = "redemption"
    ADMIN = "admin"
    EXPIRY = "expiry"
    ADOPTION = "adoption"
    # The proceeds of sold personal reductions (services/reductions), one source per sale.
    REDUCTION = "reduction"
    # Unspent points forfeited when the account is deleted (one entry per deletion request).
    ACCOUNT_DELETION = "account_deletion"


class PointsStatus(enum.StrEnum):
    PENDING = "pending"
    AVAILABLE = "available"


class PointsEntry(TimestampMixin, Base):
    __tablename__ = "points_entries"
    __table_args__ = (
        UniqueConstraint("source_type", "source_id", "kind", "user_id"),
        CheckConstraint(
            "(kind = 'earn' AND points > 0) OR (kind IN ('spend', 'expire') AND points < 0)"
            " OR (kind = 'reverse' AND points <= 0) OR (kind = 'adjust' AND points <> 0)",
            name="sign_matches_kind",
        ),
        CheckConstraint(
            "(points > 0 AND remaining IS NOT NULL AND status IS NOT NULL)"
            " OR (points <= 0 AND remaining IS NULL AND status IS NULL)",
            name="lot_fields_only_on_credits",
        ),
        CheckConstraint("remaining >= 0 AND remaining <= points", name="remaining_within_points"),
        CheckConstraint("status <> 'pending' OR available_at IS NOT NULL", name="pending_has_available_at"),
        Index("ix_points_entries_user_id_id", "user_id", "id"),
        Index("ix_points_entries_user_id_status_expires_at", "user_id", "status", "expires_at"),
        Index("ix_points_entries_status_available_at", "status", "available_at"),
        Index("ix_points_entries_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[PointsKind] = mapped_column(_enum(PointsKind, "points_kind"))
    points: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200), default="")
    source_type: Mapped[PointsSource] = mapped_column(_enum(PointsSource, "points_source"))
    source_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[PointsStatus | None] = mapped_column(_enum(PointsStatus, "points_status"))
    available_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    remaining: Mapped[int | None]


class PointsUse(Base):
    """Points of one lot consumed by one negative entry (spend, expire, reverse, negative adjust)."""

    __tablename__ = "points_uses"
    __table_args__ = (
        UniqueConstraint("debit_id", "lot_id"),
        CheckConstraint("points > 0", name="points_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    debit_id: Mapped[int] = mapped_column(ForeignKey("points_entries.id", ondelete="CASCADE"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("points_entries.id", ondelete="CASCADE"), index=True)
    points: Mapped[int]


class PointsBalance(Base):
    """The cached totals of one user's ledger."""

    __tablename__ = "points_balances"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_non_negative"),
        CheckConstraint("pending >= 0", name="pending_non_negative"),
        CheckConstraint("lifetime_earned >= 0", name="lifetime_earned_non_negative"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    balance: Mapped[int] = mapped_column(default=0)
    pending: Mapped[int] = mapped_column(default=0)
    lifetime_earned: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OrganisationPointsEntry(TimestampMixin, Base):
    """One change of an organisation's carbon points: the award of its purchase, or that award's reversal.

    An organisation's purchases earn the organisation, not the member who placed them. Its points are
    a record of what it offset (no rewards are redeemed with them, so they neither are spent nor
    expire): `available_at` is when an award settles (its refund window closes; None: at once), and a
    reversal carries the `available_at` of the award it cancels, so settled and pending points are
    plain sums over the entries.
    """

    __tablename__ = "organisation_points_entries"
    __table_args__ = (
        # One entry of each kind per source and organisation (named: the default name is too long).
        UniqueConstraint(
            "source_type",
            "source_id",
            "kind",
            "organisation_id",
            name="uq_organisation_points_entries_source",
        ),
        CheckConstraint(
            "(kind = 'earn' AND points > 0) OR (kind = 'reverse' AND points < 0)", name="sign_matches_kind"
        ),
        Index("ix_organisation_points_entries_organisation_id_id", "organisation_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    kind: Mapped[PointsKind] = mapped_column(_enum(PointsKind, "points_kind"))
    points: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200), default="")
    source_type: Mapped[PointsSource] = mapped_column(_enum(PointsSource, "points_source"))
    source_id: Mapped[str] = mapped_column(String(64))
    available_at: Mapped[datetime | None]
