"""Bank partners, the consents users give them, the nonces of their signed requests, and their reads.

A partner's signing secret is stored encrypted (Fernet, key derived from SECRET_KEY): verifying
an HMAC needs the secret itself, so a one-way hash cannot be used.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.accounts import _enum
from models.base import Base, TimestampMixin, utcnow


class ConsentScope(enum.StrEnum):
    TIER = "tier"
    POINTS_SUMMARY = "points_summary"


class AccessOutcome(enum.StrEnum):
    GRANTED = "granted"
    DENIED = "denied"


class Partner(TimestampMixin, Base):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Consent(TimestampMixin, Base):
    """A user's grant of `scopes` to a partner until `expires_at`, unless revoked earlier."""

    __tablename__ = "partner_consents"
    __table_args__ = (Index("ix_partner_consents_user_id_partner_id", "user_id", "partner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    partner: Mapped[Partner] = relationship(lazy="joined", innerjoin=True)


class PartnerNonce(Base):
    """Nonces of signed partner requests, kept here only while Redis is unreachable."""

    __tablename__ = "partner_nonces"
    __table_args__ = (UniqueConstraint("partner_id", "nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class PartnerAccess(Base):
    """One partner read of a user's data: who, whose, which scopes, whether it was allowed, when."""

    __tablename__ = "partner_access_log"
    __table_args__ = (Index("ix_partner_access_log_user_id_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scopes: Mapped[Any] = mapped_column(JSON)
    outcome: Mapped[AccessOutcome] = mapped_column(_enum(AccessOutcome, "partner_access_outcome"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    partner: Mapped[Partner] = relationship(lazy="joined", innerjoin=True)
