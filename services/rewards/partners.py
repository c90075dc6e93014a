"""Bank partners: admin registration (audited), and authentication of their signed requests.

A request is accepted when its key id names an active partner, its timestamp is within the
window of now, its signature verifies with the partner's secret, and its nonce has not been seen
from that partner within twice the window. Nonces live in Redis (`SET NX` with a TTL); while
Redis is unreachable they go to the `partner_nonces` table, whose unique key refuses a reuse.
Every refusal is an Unauthenticated (401); the message says which check failed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from models import Partner, PartnerNonce, utcnow
from models.database import read_session, unit_of_work
from services.kernel import audit, redis_store
from services.kernel.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from services.kernel.paging import objects_page
from services.rewards import partner_secrets, partner_signing

log = logging.getLogger(__name__)

NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
# ASCII digits only: str.isdigit() also takes '¹' or '٣', which int() then refuses or misreads.
TIMESTAMP_PATTERN = re.compile(r"[0-9]{1,12}")
# What `partner_secrets.new_key_id` makes, loosely; anything else (a NUL, a surrogate, 10 KB) is
# refused before it reaches the database, which may not take it (PostgreSQL refuses NUL in text).
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
PARTNER_FIELDS = ("name", "active")


@dataclass(frozen=True)
class PartnerWithSecret:
    """A partner as created or re-keyed: the only time its secret is shown."""

    partner: Partner
    secret: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.partner, name)


@dataclass(frozen=True)
class SignedRequest:
    """What a partner sent, as the HTTP layer received it."""

    method: str
    path: str
    body: bytes
    key_id: str | None
    timestamp: str | None
    nonce: str | None
    signature: str | None


def _snapshot(partner: Partner) -> dict[str, Any] | None:
    values = audit.snapshot(partner) or {}
    values.pop("secret_encrypted", None)
    return values


def create_partner(actor_id: int | None, name: str, secret_key: str) -> PartnerWithSecret:
    """Register a partner; the answer carries its signing secret, which is never shown again."""
    secret = partner_secrets.new_secret()
    with unit_of_work() as session:
        if session.scalar(select(Partner.id).where(Partner.name == name)) is not None:
            raise Conflict(f"A partner named {name!r} exists.", errors={"name": ["Already exists."]})
        partner = Partner(
            name=name,
            key_id=partner_secrets.new_key_id(),
            secret_encrypted=partner_secrets.encrypt(secret, secret_key),
            active=True,
        )
        session.add(partner)
        _flush(session, name)
        audit.record(session, actor_id, "partner.create", "partner", partner.id, None, _snapshot(partner))
        return PartnerWithSecret(partner, secret)


def update_partner(actor_id: int | None, partner_id: int, changes: Mapping[str, Any]) -> Partner:
    """Rename a partner or (de)activate it; an inactive partner's requests are refused."""
    with unit_of_work() as session:
        partner = _partner(session, partner_id)
        before = _snapshot(partner)
        for key, value in changes.items():
            if key not in PARTNER_FIELDS:
                raise ValidationFailed(
                    f"`{key}` cannot be changed here.", errors={key: ["Cannot be changed."]}
                )
            setattr(partner, key, value)
        _flush(session, partner.name)
        audit.record(session, actor_id, "partner.update", "partner", partner.id, before, _snapshot(partner))
        return partner


def rotate_secret(actor_id: int | None, partner_id: int, secret_key: str) -> PartnerWithSecret:
    """Give a partner a new signing secret (shown once); the old one stops working at once."""
    secret = partner_secrets.new_secret()
    with unit_of_work() as session:
        partner = _partner(session, partner_id)
        partner.secret_encrypted = partner_secrets.encrypt(secret, secret_key)
        session.flush()
        audit.record(
            session, actor_id, "partner.rotate_secret", "partner", partner.id, None, _snapshot(partner)
        )
        return PartnerWithSecret(partner, secret)


def list_partners(*, page: int, page_size: int, active_only: bool = False) -> tuple[list[Partner], int]:
    """Partners by name (only the active ones when `active_only`)."""
    conditions = [Partner.active.is_(True)] if active_only else []
    session = read_session()
    return objects_page(session, select(Partner).where(*conditions).order_by(Partner.name), page, page_size)


def authenticate(request: SignedRequest, secret_key: str, window_s: int, now: datetime | None = None) -> int:
    """The id of the partner that signed `request`, or Unauthenticated; records the nonce as used."""
    key_id, timestamp = request.key_id or "", request.timestamp or ""
    nonce, signature = request.nonce or "", request.signature or ""
    missing = [
        header
        for header, value in (
            (partner_signing.HEADER_KEY, key_id),
            (partner_signing.HEADER_TIMESTAMP, timestamp),
            (partner_signing.HEADER_NONCE, nonce),
            (partner_signing.HEADER_SIGNATURE, signature),
        )
        if not value
    ]
    if missing:
        raise Unauthenticated(f"Sign the request; missing {', '.join(missing)}.")
    now = now or utcnow()
    if not TIMESTAMP_PATTERN.fullmatch(timestamp) or abs(now.timestamp() - int(timestamp)) > window_s:
        raise Unauthenticated(
            f"{partner_signing.HEADER_TIMESTAMP} must be Unix seconds within {window_s} s of now."
        )
    if not NONCE_PATTERN.fullmatch(nonce):
        raise Unauthenticated(f"{partner_signing.HEADER_NONCE} must be 16 to 64 letters, digits, '-' or '_'.")
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise Unauthenticated("Unknown or inactive partner key.")
    partner_id, secret = _partner_secret(key_id, secret_key)
    if not partner_signing.signature_matches(
        secret, request.method, request.path, request.body, timestamp, nonce, signature
    ):
        raise Unauthenticated("The signature does not match the request.")
    if not _remember_nonce(partner_id, nonce, 2 * window_s, now):
        raise Unauthenticated("This nonce was used already; sign each request with a new one.")
    return partner_id


def _partner_secret(key_id: str, secret_key: str) -> tuple[int, str]:
    session = read_session()
    row = session.execute(
        select(Partner.id, Partner.secret_encrypted).where(Partner.key_id == key_id, Partner.active.is_(True))
    ).first()
    session.rollback()
    if row is None:
        raise Unauthenticated("Unknown or inactive partner key.")
    try:
        return row.id, partner_secrets.decrypt(row.secret_encrypted, secret_key)
    except partner_secrets.UnreadableSecret:
        log.error("partner %s: stored secret unreadable with the current SECRET_KEY; rotate it", row.id)
        raise Unauthenticated("The partner's secret must be renewed; ask the operator.") from None


def _remember_nonce(partner_id: int, nonce: str, ttl_s: int, now: datetime) -> bool:
    """True the first time a partner's nonce is seen within `ttl_s`; False on a reuse."""
    try:
        return bool(redis_store.get_redis().set(f"partner-nonce:{partner_id}:{nonce}", 1, nx=True, ex=ttl_s))
    except RedisError as exc:
        log.warning("redis unavailable for partner nonces, using the database: %s", exc)
    try:
        with unit_of_work() as session:
            session.execute(
                delete(PartnerNonce).where(PartnerNonce.created_at < now - timedelta(seconds=ttl_s))
            )
            session.add(PartnerNonce(partner_id=partner_id, nonce=nonce, created_at=now))
            session.flush()
    except IntegrityError:
        return False
    return True


def _partner(session, partner_id: int) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(f"Partner {partner_id} does not exist.")
    return partner


def _flush(session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A partner named {name!r} exists.", errors={"name": ["Already exists."]}) from exc
