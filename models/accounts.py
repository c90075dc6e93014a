"""Users, bearer tokens, organisations and their members."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin


class Role(enum.StrEnum):
    USER = "user"
    ADMIN = "admin"


class OrganisationKind(enum.StrEnum):
    COMPANY = "company"
    PUBLIC_BODY = "public_body"
    COURT = "court"
    PROCURATORATE = "procuratorate"
    EVENT_ORGANISER = "event_organiser"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class User(TimestampMixin, Base):
    __tablename__ = "users"
    # A deleted account (services/accounts/account_deletion) keeps its row, with no identity left.
    __table_args__ = (
        CheckConstraint(
            "openid IS NOT NULL OR username IS NOT NULL OR deleted_at IS NOT NULL", name="has_identity"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.USER)
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(64), default="")
    avatar_url: Mapped[str] = mapped_column(String(512), default="")
    city: Mapped[str] = mapped_column(String(64), default="")
    region: Mapped[str] = mapped_column(String(64), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    # When the account was deleted (注销): its profile and WeChat identifiers are erased.
    deleted_at: Mapped[datetime | None]

    memberships: Mapped[list[OrganisationMember]] = relationship(back_populates="user")


class AuthToken(TimestampMixin, Base):
    """A bearer token, stored only as its SHA-256 hash."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class Organisation(TimestampMixin, Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[OrganisationKind] = mapped_column(_enum(OrganisationKind, "organisation_kind"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    members: Mapped[list[OrganisationMember]] = relationship(back_populates="organisation")


class OrganisationMember(TimestampMixin, Base):
    """Membership makes a user an organiser of that organisation."""

    __tablename__ = "organisation_members"
    __table_args__ = (UniqueConstraint("organisation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    organisation: Mapped[Organisation] = relationship(back_populates="members")
    user: Mapped[User] = relationship(back_populates="memberships")


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"


class OrganisationInvitation(TimestampMixin, Base):
    """An offer to become an organiser, made by the owner (or an admin); membership begins when the
    invitee accepts it. The code the inviter shares is stored only as its SHA-256 hash."""

    __tablename__ = "organisation_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The one user who may accept it, or None: whoever redeems the code. Not a foreign key on
    # purpose: an invitation is made alike whether or not the id names a user, so the inviter
    # learns nothing about the user behind an id until they accept.
    invitee_id: Mapped[int | None] = mapped_column(index=True)
    invited_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[InvitationStatus] = mapped_column(
        _enum(InvitationStatus, "invitation_status"), default=InvitationStatus.PENDING
    )
    expires_at: Mapped[datetime]
    responded_at: Mapped[datetime | None]
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
