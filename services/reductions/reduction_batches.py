"""Reading reduction batches: the admin's list, one batch with its pool figures and proceeds, its
contributors. Grams and fen are the records' own integers; nothing here writes."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models import (
    Batch,
    Project,
    ReductionBatch,
    ReductionBatchAction,
    ReductionBatchStatus,
    ReductionProceeds,
    ReductionSale,
    User,
)
from models.database import read_session
from services.kernel.errors import NotFound
from services.kernel.paging import rows_page, total_of, window


def _pool_view(session: Session, pool_batch_id: int | None) -> dict[str, Any] | None:
    if pool_batch_id is None:
        return None
    found = session.execute(
        select(Batch, Project).join(Project, Project.id == Batch.project_id).where(Batch.id == pool_batch_id)
    ).one_or_none()
    if found is None:
        return None
    batch, project = found
    return {
        "batch_id": batch.id,
        "project_id": project.id,
        "project_code": project.code,
        "kind_code": project.kind_code,
        "price_fen_per_t": project.price_fen_per_t,
        "first_serial": batch.serial(0),
        "last_serial": batch.serial(batch.quantity_t - 1),
        "issued_g": batch.issued_g,
        "available_g": batch.available_g,
        "reserved_g": batch.reserved_g,
        "sold_g": batch.sold_g,
        "retired_g": batch.retired_g,
    }


def _proceeds_view(session: Session, batch_id: int) -> dict[str, int]:
    sales, grams, amount, operator, distributable, points = session.execute(
        select(
            func.count(ReductionSale.id),
            func.coalesce(func.sum(ReductionSale.grams), 0),
            func.coalesce(func.sum(ReductionSale.amount_fen), 0),
            func.coalesce(func.sum(ReductionSale.operator_fen), 0),
            func.coalesce(func.sum(ReductionSale.distributable_fen), 0),
            func.coalesce(func.sum(ReductionSale.points), 0),
        ).where(ReductionSale.batch_id == batch_id, ReductionSale.reversed_at.is_(None))
    ).one()
    return {
        "sales": int(sales),
        "sold_g": int(grams),
        "amount_fen": int(amount),
        "operator_fen": int(operator),
        "distributable_fen": int(distributable),
        "points": int(points),
    }


def view_in(session: Session, batch: ReductionBatch) -> dict[str, Any]:
    """A batch as the API and the console show it: its record, its pool batch and its proceeds."""
    return {
        "id": batch.id,
        "month": f"{batch.month:%Y-%m}",
        "methodology": batch.methodology,
        "sequence": batch.sequence,
        "status": batch.status.value,
        "grams": batch.grams,
        "actions": batch.actions,
        "contributors": batch.contributors,
        "note": batch.note,
        "created_by": batch.created_by,
        "created_at": batch.created_at,
        "application_ref": batch.application_ref,
        "submitted_at": batch.submitted_at,
        "issued_g": batch.issued_g,
        "registry_ref": batch.registry_ref,
        "registry_url": batch.registry_url,
        "serial_prefix": batch.serial_prefix,
        "issued_on": batch.issued_on,
        "issued_at": batch.issued_at,
        "rejected_at": batch.rejected_at,
        "reject_reason": batch.reject_reason,
        "pool": _pool_view(session, batch.pool_batch_id),
        "proceeds": _proceeds_view(session, batch.id),
    }


def list_batches(
    *,
    status: ReductionBatchStatus | None = None,
    month: date | None = None,
    methodology: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[dict[str, Any]], int]:
    """Batches, newest first, by status, month or methodology; returns (one page, total)."""
    query: Select[Any] = select(ReductionBatch)
    if status is not None:
        query = query.where(ReductionBatch.status == status)
    if month is not None:
        query = query.where(ReductionBatch.month == month)
    if methodology is not None:
        query = query.where(ReductionBatch.methodology == methodology)
    session = read_session()
    try:
        total = total_of(session, query)
        batches = session.scalars(window(query.order_by(ReductionBatch.id.desc()), page, page_size)).all()
        return [view_in(session, batch) for batch in batches], total
    finally:
        session.rollback()


def get_batch(batch_id: int) -> dict[str, Any]:
    """One batch with its pool figures and proceeds; NotFound when there is none."""
    session = read_session()
    try:
        batch = session.get(ReductionBatch, batch_id)
        if batch is None:
            raise NotFound(f"No reduction batch {batch_id}.")
        return view_in(session, batch)
    finally:
        session.rollback()


def list_contributors(
    batch_id: int, *, page: int = 1, page_size: int = 20
) -> tuple[list[dict[str, Any]], int]:
    """The batch's contributors, most grams first: their actions and grams, and what the sales standing
    now gave them (their share of the grams sold and the points)."""
    session = read_session()
    try:
        if session.get(ReductionBatch, batch_id) is None:
            raise NotFound(f"No reduction batch {batch_id}.")
        earned = (
            select(
                ReductionProceeds.user_id,
                func.sum(ReductionProceeds.sold_g).label("sold_g"),
                func.sum(ReductionProceeds.points).label("points"),
            )
            .join(ReductionSale, ReductionSale.id == ReductionProceeds.sale_id)
            .where(ReductionSale.batch_id == batch_id, ReductionSale.reversed_at.is_(None))
            .group_by(ReductionProceeds.user_id)
            .subquery()
        )
        grams = func.sum(ReductionBatchAction.grams)
        query = (
            select(
                ReductionBatchAction.user_id,
                User.display_name,
                func.count(ReductionBatchAction.id),
                grams,
                func.coalesce(func.max(earned.c.sold_g), 0),
                func.coalesce(func.max(earned.c.points), 0),
            )
            .outerjoin(User, User.id == ReductionBatchAction.user_id)
            .outerjoin(earned, earned.c.user_id == ReductionBatchAction.user_id)
            .where(ReductionBatchAction.batch_id == batch_id)
            .group_by(ReductionBatchAction.user_id, User.display_name)
            .order_by(grams.desc(), ReductionBatchAction.user_id)
        )
        rows, total = rows_page(session, query, page, page_size)
        return [
            {
                "user_id": user_id,
                "display_name": name or "",
                "actions": int(actions),
                "grams": int(contributed),
                "sold_g": int(sold),
                "points": int(points),
            }
            for user_id, name, actions, contributed, sold, points in rows
        ], total
    finally:
        session.rollback()
