"""Bearer tokens: random, stored hashed, with an expiry; logout revokes them."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update

from models import AuthToken, OrganisationMember, Role, User, utcnow
from models.database import single_read, unit_of_work
from services.errors import PermissionDenied, Unauthenticated


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, their role and the organisations they are an organiser of."""

    user_id: int
    role: Role
    organisation_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDenied("This needs an admin account.")

    def require_member(self, organisation_id: int) -> None:
        if not self.is_admin and organisation_id not in self.organisation_ids:
            raise PermissionDenied("You are not a member of this organisation.")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token_in(session, user: User, ttl_s: int) -> IssuedToken:
    """Create a token for `user` inside the caller's unit of work."""
    raw = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(seconds=ttl_s)
    session.add(AuthToken(token_hash=hash_token(raw), user_id=user.id, expires_at=expires_at))
    return IssuedToken(raw, expires_at)


# Built once: constructing the statement costs more CPU than running it.
_PRINCIPAL_QUERY = (
    select(User.id, User.role, User.is_active, OrganisationMember.organisation_id)
    .join(AuthToken, AuthToken.user_id == User.id)
    .outerjoin(OrganisationMember, OrganisationMember.user_id == User.id)
    .where(
        AuthToken.token_hash == bindparam("token_hash"),
        AuthToken.revoked_at.is_(None),
        AuthToken.expires_at > bindparam("now", type_=AuthToken.__table__.c.expires_at.type),
    )
)


def authenticate(authorization: str | None) -> Principal:
    """Resolve an `Authorization: Bearer ...` header to a principal, or raise Unauthenticated."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthenticated("Send `Authorization: Bearer <token>`; log in to get a token.")
    raw = authorization[len("Bearer ") :].strip()
    # One statement outside a transaction (every request authenticates, so it is kept to one
    # round trip): the user's row once per organisation they belong to, or once with NULL.
    with single_read() as connection:
        rows = connection.execute(_PRINCIPAL_QUERY, {"token_hash": hash_token(raw), "now": utcnow()}).all()
    if not rows or not rows[0].is_active:
        raise Unauthenticated("The token is unknown, expired or revoked; log in again.")
    orgs = frozenset(row.organisation_id for row in rows if row.organisation_id is not None)
    return Principal(rows[0].id, Role(rows[0].role), orgs)


def revoke_token(authorization: str) -> None:
    """Revoke the token in the header (logout)."""
    raw = authorization[len("Bearer ") :].strip()
    with unit_of_work() as session:
        session.execute(
            update(AuthToken)
            .where(AuthToken.token_hash == hash_token(raw), AuthToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
