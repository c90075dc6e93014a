"""Bearer tokens: random, stored hashed, with an expiry; logout revokes them."""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session

from models import AuthToken, OrganisationMember, Role, User, utcnow
from models.database import single_read, unit_of_work
from services.accounts.principal_cache import PrincipalCache
from services.kernel.errors import PermissionDenied, Unauthenticated
from services.kernel.redis_store import get_redis


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


# Resolved tokens are cached in Redis this long; revocation removes the entry at once. A membership
# change or a disabled account takes effect on other tokens within this time.
PRINCIPAL_CACHE_S = 30
# And in each process, when configured (`configure_local_cache`): dropped on a Redis message.
_local: PrincipalCache | None = None


def configure_local_cache(ttl_s: float) -> None:
    """Keep resolved tokens in this process for up to `ttl_s` (0: not at all); needs a real Redis."""
    global _local
    if _local is not None:
        _local.close()
    _local = PrincipalCache(get_redis, min(ttl_s, PRINCIPAL_CACHE_S)) if ttl_s > 0 else None


def _cache_key(token_hash: str) -> str:
    return f"auth:principal:v4:{token_hash}"


def _user_key(user_id: int) -> str:
    return f"auth:user-tokens:{user_id}"


def authenticate(authorization: str | None) -> Principal:
    """Resolve an `Authorization: Bearer ...` header to a principal, or raise Unauthenticated."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthenticated("Send `Authorization: Bearer <token>`; log in to get a token.")
    return authenticate_hash(hash_token(authorization[len("Bearer ") :].strip()))


def authenticate_hash(token_hash: str) -> Principal:
    """Resolve a token known only by its hash (a console session keeps no token), or raise Unauthenticated."""
    local, epoch = _local, 0
    if local is not None:
        if (principal := local.get(token_hash)) is not None:
            return principal
        epoch = local.epoch()
    resolved = _cached(token_hash)
    if resolved is None:
        resolved = _load(token_hash)
        _remember(token_hash, *resolved)
    principal, expires_at = resolved
    if local is not None:
        remaining_s = (expires_at - utcnow()).total_seconds()
        local.put(token_hash, principal, principal.user_id, epoch, remaining_s)
    return principal


def _remember(token_hash: str, principal: Principal, expires_at: datetime) -> None:
    ttl = min(PRINCIPAL_CACHE_S, int((expires_at - utcnow()).total_seconds()))
    if ttl <= 0:
        return
    try:
        pipe = get_redis().pipeline()
        pipe.set(
            _cache_key(token_hash),
            json.dumps(
                [
                    principal.user_id,
                    principal.role.value,
                    sorted(principal.organisation_ids),
                    expires_at.isoformat(),
                ]
            ),
            ex=ttl,
        )
        pipe.sadd(_user_key(principal.user_id), token_hash)
        pipe.expire(_user_key(principal.user_id), PRINCIPAL_CACHE_S)
        pipe.execute()
    except RedisError:
        pass  # the database answered; the cache is only a shortcut


def _cached(token_hash: str) -> tuple[Principal, datetime] | None:
    try:
        raw = get_redis().get(_cache_key(token_hash))
    except RedisError:
        return None
    if raw is None:
        return None
    user_id, role, orgs, expires_at = json.loads(raw)
    return Principal(user_id, Role(role), frozenset(orgs)), datetime.fromisoformat(expires_at)


# Built once: constructing the statement costs more CPU than running it.
_PRINCIPAL_QUERY = (
    select(
        User.id,
        User.role,
        User.is_active,
        AuthToken.expires_at,
        OrganisationMember.organisation_id,
    )
    .join(AuthToken, AuthToken.user_id == User.id)
    .outerjoin(OrganisationMember, OrganisationMember.user_id == User.id)
    .where(
        AuthToken.token_hash == bindparam("token_hash"),
        AuthToken.revoked_at.is_(None),
        AuthToken.expires_at > bindparam("now", type_=AuthToken.__table__.c.expires_at.type),
    )
)


def _load(token_hash: str) -> tuple[Principal, datetime]:
    # One statement outside a transaction: the user's row once per organisation they belong to,
    # or once with NULL.
    with single_read() as connection:
        rows = connection.execute(_PRINCIPAL_QUERY, {"token_hash": token_hash, "now": utcnow()}).all()
    if not rows or not rows[0].is_active:
        raise Unauthenticated("The token is unknown, expired or revoked; log in again.")
    orgs = frozenset(row.organisation_id for row in rows if row.organisation_id is not None)
    return Principal(rows[0].id, Role(rows[0].role), orgs), rows[0].expires_at


def revoke_token(authorization: str) -> None:
    """Revoke the token in the header (logout)."""
    revoke_token_hash(hash_token(authorization[len("Bearer ") :].strip()))


def revoke_token_hash(token_hash: str) -> None:
    """Revoke the token with this hash."""
    with unit_of_work() as session:
        session.execute(
            update(AuthToken)
            .where(AuthToken.token_hash == token_hash, AuthToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    forget(token_hash)


def forget(token_hash: str) -> None:
    """Drop a token from the caches. With Redis down nothing is cached in Redis, and no process serves
    from its own cache once it has not heard from Redis for a moment, so nothing lingers."""
    with contextlib.suppress(RedisError):
        get_redis().delete(_cache_key(token_hash))
    if _local is not None:
        with contextlib.suppress(RedisError):
            _local.publish(tokens=[token_hash])


def forget_user_on_commit(session: Session, user_id: int) -> None:
    """After the caller's transaction commits, drop every cached token of `user_id` (role or membership changed)."""

    def _forget(_session: Session) -> None:
        try:
            redis = get_redis()
            hashes = redis.smembers(_user_key(user_id))
            keys = [_cache_key(h.decode() if isinstance(h, bytes) else h) for h in hashes]
            redis.delete(_user_key(user_id), *keys)
            if _local is not None:
                _local.publish(user_id=user_id)
        except RedisError:
            pass

    event.listen(session, "after_commit", _forget, once=True)
