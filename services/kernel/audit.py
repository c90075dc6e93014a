"""The admin audit log: every admin write records who, what, when, before and after."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from models import AuditEntry
from models.base import Base
from models.database import unit_of_work
from services.kernel.paging import objects_page


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


def _utc(moment: datetime) -> datetime:
    # SQLite keeps the wall-clock text only, so compare every moment in UTC; naive means UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def list_entries(
    *,
    page: int,
    page_size: int,
    actor_id: int | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AuditEntry], int]:
    """Audit entries matching every given filter, newest first, with their total count.

    `since` is inclusive and `until` exclusive, so consecutive ranges never count an entry twice.
    """
    conditions = []
    if actor_id is not None:
        conditions.append(AuditEntry.actor_id == actor_id)
    if entity is not None:
        conditions.append(AuditEntry.entity == entity)
    if entity_id is not None:
        conditions.append(AuditEntry.entity_id == entity_id)
    if action is not None:
        conditions.append(AuditEntry.action == action)
    if since is not None:
        conditions.append(AuditEntry.at >= _utc(since))
    if until is not None:
        conditions.append(AuditEntry.at < _utc(until))
    with unit_of_work() as session:
        return objects_page(
            session,
            select(AuditEntry).where(*conditions).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()),
            page,
            page_size,
        )
