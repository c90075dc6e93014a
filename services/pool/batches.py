"""The pool's batches: the admin's view of each issuance with its gram counters, and the entry of one
issued batch that another context describes (a carbon-inclusion batch of users' reductions)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models import GRAMS_PER_TONNE, Batch
from models.database import read_session
from services.kernel.paging import total_of, window
from services.pool import batch_import


def _view(batch: Batch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "project": {"id": batch.project.id, "code": batch.project.code, "name": batch.project.name},
        "kind_code": batch.project.kind_code,
        "vintage": batch.vintage,
        "serial_prefix": batch.serial_prefix,
        "serial_start": batch.serial_start,
        "serial_end": batch.serial_end,
        "serial_digits": batch.serial_digits,
        "first_serial": batch.serial(0),
        "last_serial": batch.serial(batch.quantity_t - 1),
        "quantity_t": batch.quantity_t,
        "issued_on": batch.issued_on,
        "registry_ref": batch.registry_ref,
        "registry_url": batch.registry_url,
        "issued_g": batch.issued_g,
        "available_g": batch.available_g,
        "available_t": batch.available_g // GRAMS_PER_TONNE,
        "reserved_g": batch.reserved_g,
        "sold_g": batch.sold_g,
        "retired_g": batch.retired_g,
        "created_at": batch.created_at,
    }


def list_batches(
    *, project_id: int | None = None, page: int = 1, page_size: int = 20
) -> tuple[list[dict[str, Any]], int]:
    """Batches by id, optionally of one project, with issued/available/reserved/sold/retired grams."""
    session = read_session()
    query = select(Batch)
    if project_id is not None:
        query = query.where(Batch.project_id == project_id)
    total = total_of(session, query)
    batches = session.scalars(
        window(query.options(joinedload(Batch.project)).order_by(Batch.id), page, page_size)
    )
    items = [_view(batch) for batch in batches]
    session.rollback()  # end the read transaction
    return items, total


def create_batch_in(
    session: Session,
    *,
    project_code: str,
    vintage: int,
    serial_prefix: str,
    serial_start: int,
    quantity_t: int,
    issued_on: date,
    registry_ref: str,
    registry_url: str = "",
    serial_digits: int | None = None,
    actor_id: int | None,
    source: str,
) -> Batch:
    """Enter one issued batch of `quantity_t` tonnes in the pool, in the caller's unit of work.

    The batch passes every check of an import (the project exists, the serials are free in the
    pool, the vintage and issue date are plausible) and gets the import's audit entry, with
    `source` saying where it came from; a fault raises ValidationFailed naming its field.
    """
    values: dict[str, Any] = {
        "project_code": project_code,
        "vintage": vintage,
        "serial_prefix": serial_prefix,
        "serial_start": serial_start,
        "serial_end": serial_start + quantity_t - 1,
        "quantity_t": quantity_t,
        "issued_on": issued_on.isoformat(),
        "registry_ref": registry_ref,
        "registry_url": registry_url,
    }
    if serial_digits is not None:
        values["serial_digits"] = serial_digits
    summary = batch_import.import_rows_in(
        session,
        [batch_import.RawRow(1, None, values)],
        "record",
        actor_id=actor_id,
        source=source,
        refusal="The batch cannot be entered in the pool",
    )
    return session.get_one(Batch, summary.batch_ids[0])
