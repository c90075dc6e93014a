"""A user's own statement of reductions sold: for each batch their actions went into, how many grams
they put in, the batch's month, methodology and status, their share of the grams sold and the points
earned from the sales standing now. Only the user's own figures, and the batch's public totals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from models import ReductionBatch, ReductionBatchAction, ReductionProceeds, ReductionSale
from models.database import read_session
from services.kernel.paging import rows_page


def my_reductions(user_id: int, *, page: int = 1, page_size: int = 20) -> tuple[list[dict[str, Any]], int]:
    """One page of the user's batches, newest first, and how many there are."""
    session = read_session()
    try:
        mine = func.sum(ReductionBatchAction.grams)
        query = (
            select(ReductionBatch, func.count(ReductionBatchAction.id), mine)
            .join(ReductionBatchAction, ReductionBatchAction.batch_id == ReductionBatch.id)
            .where(ReductionBatchAction.user_id == user_id)
            .group_by(ReductionBatch.id)
            .order_by(ReductionBatch.id.desc())
        )
        rows, total = rows_page(session, query, page, page_size)
        earned = {
            batch_id: (int(sold or 0), int(points or 0))
            for batch_id, sold, points in session.execute(
                select(
                    ReductionSale.batch_id,
                    func.sum(ReductionProceeds.sold_g),
                    func.sum(ReductionProceeds.points),
                )
                .join(ReductionSale, ReductionSale.id == ReductionProceeds.sale_id)
                .where(
                    ReductionProceeds.user_id == user_id,
                    ReductionSale.reversed_at.is_(None),
                    ReductionSale.batch_id.in_([batch.id for batch, _count, _grams in rows]),
                )
                .group_by(ReductionSale.batch_id)
            )
        }
        items = []
        for batch, actions, grams in rows:
            sold_g, points = earned.get(batch.id, (0, 0))
            items.append(
                {
                    "batch_id": batch.id,
                    "month": f"{batch.month:%Y-%m}",
                    "methodology": batch.methodology,
                    "sequence": batch.sequence,
                    "status": batch.status.value,
                    "my_actions": int(actions),
                    "my_g": int(grams),
                    "batch_g": batch.grams,
                    "contributors": batch.contributors,
                    "issued_g": batch.issued_g,
                    "registry_ref": batch.registry_ref,
                    "sold_g": sold_g,
                    "points": points,
                }
            )
        return items, total
    finally:
        session.rollback()
