"""How a succeeded refund falls on the order's lines, recorded so that owner payouts are exact.

A refund's fen is split over the lines in proportion to the grams each line gives back (a refund
that gives back no grams, such as the refund of a payment that came too late, in proportion to
what each line has not yet repaid), by largest remainder, and never more than a line has left.
So the refund lines of a refund add up to its fen, those of a line never exceed its amount, and
a line's last refund repays exactly what it still had.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import OrderLine, Refund, RefundLine
from services.kernel.money import split_fen


def record_in(session: Session, refund: Refund, grams_by_line: Mapping[int, int]) -> list[RefundLine]:
    """Add the refund lines of a refund that just succeeded, inside the refund's unit of work."""
    lines = session.scalars(
        select(OrderLine).where(OrderLine.order_id == refund.order_id).order_by(OrderLine.id)
    ).all()
    if not lines:
        return []  # a donation: no lines, no grams; its money is the forest owner's (registry payouts)
    repaid = dict(
        session.execute(
            select(RefundLine.order_line_id, func.sum(RefundLine.amount_fen))
            .where(RefundLine.order_line_id.in_([line.id for line in lines]))
            .group_by(RefundLine.order_line_id)
        ).all()
    )
    left = [line.amount_fen - (repaid.get(line.id) or 0) for line in lines]
    grams = [grams_by_line.get(line.id, 0) for line in lines]
    shares = split_fen(refund.amount_fen, grams if any(grams) else left, left)
    rows = [
        RefundLine(refund_id=refund.id, order_line_id=line.id, grams=g, amount_fen=fen)
        for line, g, fen in zip(lines, grams, shares, strict=True)
        if g or fen
    ]
    session.add_all(rows)
    session.flush()
    return rows
