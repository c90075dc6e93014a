"""Idempotency-Key bookkeeping shared by the order-creating endpoints (orders, redemptions)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import IdempotencyKey
from services.kernel.errors import IdempotencyMismatch


def stored_resource(
    session: Session, user_id: int, scope: str, key: str, request_hash: str, what: str
) -> str | None:
    """The id of what an earlier request with this key created, or None; 422 if that request had another body."""
    stored = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.scope == scope, IdempotencyKey.key == key
        )
    )
    if stored is None:
        return None
    if stored.request_hash != request_hash:
        raise IdempotencyMismatch(
            f"This Idempotency-Key was used for another {what}; use a new key for a new one.",
            errors={"Idempotency-Key": ["reused with a different body"]},
        )
    return stored.resource_id


def remember(
    session: Session, user_id: int, scope: str, key: str, request_hash: str, resource_id: object
) -> None:
    """Record the key with what it created, in the caller's unit of work."""
    session.add(
        IdempotencyKey(
            user_id=user_id, scope=scope, key=key, request_hash=request_hash, resource_id=str(resource_id)
        )
    )
