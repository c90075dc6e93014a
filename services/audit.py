"""The admin audit log: every admin write records who, what, when, before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from models import AuditEntry
from models.base import Base


def snapshot(obj: Base | None) -> dict[str, Any] | None:
    """The column values of a model instance, JSON-ready, for the before/after of an entry."""
    if obj is None:
        return None
    values: dict[str, Any] = {}
    for column in inspect(obj).mapper.column_attrs:
        value = getattr(obj, column.key)
        values[column.key] = value if isinstance(value, int | float | str | bool | type(None)) else str(value)
    return values


def record(
    session: Session,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the caller's unit of work (it commits with the change it describes)."""
    entry = AuditEntry(
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=before,
        after=after,
    )
    session.add(entry)
    return entry
