"""Users, bearer tokens, organisations and their members, users' bound phone numbers, and the texts
users wrote that are not public (yet) because WeChat's content security check has not passed them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, utcnow


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


class PhoneNumber(Base):
    """A user's phone number, bound through the mini-program's `getPhoneNumber`; one per user.

    Only its ciphertext is stored (`services.accounts.phone_numbers`: Fernet under
    `PHONE_ENCRYPTION_KEY`); the service shows it masked (138****1234) to anyone but its owner.
    """

    __tablename__ = "phone_numbers"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(String(512))
    bound_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContentStatus(enum.StrEnum):
    PENDING = "pending"  # not passed yet: WeChat could not be asked, or answered "review"; re-checked
    RISKY = "risky"  # WeChat found it risky when it was re-checked: withheld for good


class ContentCheck(TimestampMixin, Base):
    """A text a user wrote that public surfaces must not show (yet).

    Keyed by what the text is (`kind`: display_name, holder_name, event_name) and whose it is
    (`subject`: the user id, the order's out_trade_no, the event id); `digest` is the SHA-256 of
    the text that was checked. A text with no row here is public: it passed, or an admin wrote it
    (`services.accounts.content_check`).
    """

    __tablename__ = "content_checks"
    __table_args__ = (UniqueConstraint("kind", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[ContentStatus] = mapped_column(
        _enum(ContentStatus, "content_status"), default=ContentStatus.PENDING
    )
    # WeChat's last answer: its `suggest` (pass, review, risky; None: it could not be asked) and `label`.
    suggest: Mapped[str | None] = mapped_column(String(16))
    label: Mapped[int | None]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(default=0)
    # When the worker asks WeChat again; None once it no longer will (risky, or attempts used up).
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    checked_at: Mapped[datetime | None]
