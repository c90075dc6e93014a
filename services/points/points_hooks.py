"""Carbon points for purchases: awarded on fulfilment, pending through the refund window, reversed by refunds.

The points go to the order's buyer of record: the user for a personal purchase; for an
organisation's purchase the organisation's own account (`ORGANISATION_POINTS=organisation`) or
nobody (`none`), never the member who placed it. The award's source is the order; after a partial
refund the award is reversed and the remaining grams are awarded again under the refund's own
source, so every entry stays unique per source.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Order, PointsEntry, PointsKind, PointsSource, Refund, RefundStatus, utcnow
from models.database import read_session, unit_of_work
from services.kernel.order_effects import Fulfilled, Refunded
from services.points import organisation_points, points
from services.sales import orders
from services.sales.order_policy import OrderPolicy

SOURCE = PointsSource.ORDER
ORGANISATION_ACCOUNT = "organisation"


def _source_id(order: Order, refund: Refund | None) -> str:
    return f"{order.id}" if refund is None else f"{order.id}-r{refund.id}"


def _award(session: Session, order: Order, grams: int, policy: OrderPolicy, refund: Refund | None) -> None:
    pending_until, expires_at = points.award_dates(
        utcnow(), policy.points_pending_days, policy.points_expiry_days
    )
    earned = points.points_for_offset(grams, policy.points_per_kg)
    reason = f"offset {grams / 1000:g} kg, order {order.out_trade_no}"
    if order.organisation_id is not None:
        if policy.organisation_points == ORGANISATION_ACCOUNT:
            organisation_points.award_in(
                session,
                order.organisation_id,
                earned,
                SOURCE,
                _source_id(order, refund),
                reason,
                pending_until,
            )
        return
    points.award(
        session,
        order.user_id,
        earned,
        SOURCE,
        _source_id(order, refund),
        reason,
        pending_until=pending_until,
        expires_at=expires_at,
    )


def award_for_order(session: Session, order: Order, policy: OrderPolicy) -> None:
    """Points for a fulfilled order (pending until its refund window closes)."""
    _award(session, order, order.grams, policy, None)


def reverse_for_order(session: Session, order: Order, refund: Refund, policy: OrderPolicy) -> None:
    """Reverse the order's current award; award again for what is still sold."""
    earlier = session.scalar(
        select(Refund)
        .where(
            Refund.order_id == order.id,
            Refund.status == RefundStatus.SUCCEEDED,
            Refund.id != refund.id,
            Refund.automatic.is_(False),
        )
        .order_by(Refund.id.desc())
        .limit(1)
    )
    source_id, reason = _source_id(order, earlier), f"refund {refund.out_refund_no}"
    # Whoever holds the award is reversed (a member may still hold one made before organisations
    # kept their own points); a source nobody was awarded for changes nothing.
    points.reverse(session, SOURCE, source_id, reason)
    organisation_points.reverse_in(session, SOURCE, source_id, reason)
    remaining = order.grams - order.refunded_g
    if remaining > 0:
        _award(session, order, remaining, policy, refund)


def move_to_buyer_of_record(policy: OrderPolicy) -> int:
    """Move points members hold for organisations' purchases (awarded before organisations kept their
    own) to the organisation, or drop them with `ORGANISATION_POINTS=none`; gives the awards moved.

    Each member's award is reversed as a refund would (what was spent is taken back from their other
    points as far as they go), and the organisation is awarded the same points, settling when the
    award did. One transaction per order, under the order's lock; running it again moves nothing.
    """
    session = read_session()
    try:
        order_ids = session.scalars(
            select(Order.id).where(Order.organisation_id.is_not(None)).order_by(Order.id)
        ).all()
    finally:
        session.rollback()
    moved = 0
    for order_id in order_ids:
        with unit_of_work() as session:
            order = orders.lock_order(session, order_id)
            for award in _member_awards(session, order):
                reason = f"bought for organisation {order.organisation_id}, order {order.out_trade_no}"
                points.reverse(session, SOURCE, award.source_id, reason)
                if policy.organisation_points == ORGANISATION_ACCOUNT:
                    organisation_points.award_in(
                        session,
                        order.organisation_id,
                        award.points,
                        SOURCE,
                        award.source_id,
                        award.reason,
                        award.available_at,
                    )
                moved += 1
    return moved


def _member_awards(session: Session, order: Order) -> list[PointsEntry]:
    """The order's awards to a person that no refund (or earlier move) has reversed."""
    awards = session.scalars(
        select(PointsEntry)
        .where(
            PointsEntry.source_type == SOURCE,
            PointsEntry.kind == PointsKind.EARN,
            or_(PointsEntry.source_id == str(order.id), PointsEntry.source_id.like(f"{order.id}-r%")),
        )
        .order_by(PointsEntry.id)
    ).all()
    reversed_ = set(
        session.execute(
            select(PointsEntry.user_id, PointsEntry.source_id).where(
                PointsEntry.source_type == SOURCE,
                PointsEntry.kind == PointsKind.REVERSE,
                PointsEntry.source_id.in_([award.source_id for award in awards]),
            )
        ).all()
    )
    return [award for award in awards if (award.user_id, award.source_id) not in reversed_]


def on_order_fulfilled(session: Session, fact: Fulfilled) -> None:
    """Order effect: points for the fulfilled order."""
    award_for_order(session, fact.order, fact.policy)


def on_order_refunded(session: Session, fact: Refunded) -> None:
    """Order effect: the refunded order's points reversed, and awarded again for what is still sold."""
    reverse_for_order(session, fact.order, fact.refund, fact.policy)
