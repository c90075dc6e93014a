"""Account deletion requests (账号注销), the versions of the privacy guide and who accepted which.

A deletion request waits out a cooling-off period (`due_at`); a login or the user cancels it
meanwhile, or the deletion job carries it out. At most one request per user is pending (a partial
unique index). Users are never deleted as rows: an account carried out keeps its id, with every
identifying column emptied (`User.deleted_at`), so the orders, certificates and ledger entries that
must stay for accounting and for the public record still have a (pseudonymous) holder.

Versions of the privacy guide published by admins are rows here; the guide the service ships
(`data/privacy/guide.md`) is the current one until the first is published. An acceptance names a
version by its id, so it can name the shipped one too (no foreign key).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.accounts import _enum
from models.base import Base, TimestampMixin, utcnow

PENDING_DELETION = "status = 'pending'"


class DeletionStatus(enum.StrEnum):
    PENDING = "pending"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class DeletionCanceller(enum.StrEnum):
    USER = "user"  # DELETE /api/v1/me/deletion
    LOGIN = "login"  # the user logged in again during the cooling-off period


class AccountDeletion(TimestampMixin, Base):
    """One request to delete an account; `created_at` is when it was asked for."""

    __tablename__ = "account_deletions"
    __table_args__ = (
        CheckConstraint(
            "(status = 'pending' AND cancelled_at IS NULL AND completed_at IS NULL)"
            " OR (status = 'cancelled' AND cancelled_at IS NOT NULL AND completed_at IS NULL)"
            " OR (status = 'completed' AND completed_at IS NOT NULL AND cancelled_at IS NULL)",
            name="times_match_status",
        ),
        Index(
            "uq_account_deletions_user_id_pending",
            "user_id",
            unique=True,
            sqlite_where=text(PENDING_DELETION),
            postgresql_where=text(PENDING_DELETION),
        ),
        Index("ix_account_deletions_status_due_at", "status", "due_at"),
        Index("ix_account_deletions_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[DeletionStatus] = mapped_column(
        _enum(DeletionStatus, "deletion_status"), default=DeletionStatus.PENDING
    )
    # The end of the cooling-off period: from then on the deletion job carries it out.
    due_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[DeletionCanceller | None] = mapped_column(
        _enum(DeletionCanceller, "deletion_canceller")
    )
    completed_at: Mapped[datetime | None]
    # The admin who ran the deletions at once; None: the scheduled job.
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PrivacyGuideVersion(Base):
    """A version of the privacy guide (用户隐私保护指引) an admin published; the newest is current."""

    __tablename__ = "privacy_guide_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PrivacyAcceptance(Base):
    """A user accepted this version of the privacy guide (at login, or by asking afterwards)."""

    __tablename__ = "privacy_acceptances"
    __table_args__ = (UniqueConstraint("user_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
