"""The admin's view of the pool's batches: each issuance with its gram counters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import GRAMS_PER_TONNE, Batch
from models.database import read_session
from services.kernel.paging import total_of, window


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
