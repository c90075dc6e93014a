"""What a donation order's fulfilment and refund do to its adoption (order effects, wired by bootstrap).

Paid: the adoption becomes active, gets its certificate number and awards its points to the
adopter of record: the person, or the organisation's own account (`ORGANISATION_POINTS`), pending
through the refund window like a purchase's. Refunded: the adoption is refunded, its certificate
void, its points reversed. Points per tree are `ADOPTION_POINTS_PER_TREE`, fixed on the adoption
when it is made: the source documents (Lishui's action plan, 古树名木认养) call for adoption points
but give no figure, so the number is the operator's configured rule.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Adoption, AdoptionStatus, Channel, PointsSource, utcnow
from models.public_codes import new_public_code
from services.kernel.order_effects import Fulfilled, Refunded
from services.points import organisation_points, points

ORGANISATION_ACCOUNT = "organisation"
NUMBER_RANDOM_SYMBOLS = 10


def new_certificate_number(year: int) -> str:
    """`AD`, the year, ten random symbols: names no order, follows no sequence."""
    return f"AD{year}{new_public_code(NUMBER_RANDOM_SYMBOLS)}"


def _adoption_of(session: Session, order_id: int) -> Adoption | None:
    return session.scalar(
        select(Adoption)
        .where(Adoption.order_id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def on_order_fulfilled(session: Session, fact: Fulfilled) -> None:
    """Order effect: a paid donation activates its adoption and awards its points."""
    order = fact.order
    if order.channel is not Channel.ADOPTION:
        return
    adoption = _adoption_of(session, order.id)
    if adoption is None or adoption.status is not AdoptionStatus.PENDING:
        return
    now = utcnow()
    adoption.status = AdoptionStatus.ACTIVE
    adoption.activated_at = now
    adoption.certificate_number = new_certificate_number(now.year)
    policy = fact.policy
    pending_until, expires_at = points.award_dates(now, policy.points_pending_days, policy.points_expiry_days)
    reason = f"adopted {adoption.trees} trees, adoption {adoption.id}"
    if adoption.organisation_id is not None:
        if policy.organisation_points == ORGANISATION_ACCOUNT:
            organisation_points.award_in(
                session,
                adoption.organisation_id,
                adoption.points,
                PointsSource.ADOPTION,
                str(adoption.id),
                reason,
                pending_until,
            )
        return
    points.award(
        session,
        adoption.user_id,
        adoption.points,
        PointsSource.ADOPTION,
        str(adoption.id),
        reason,
        pending_until=pending_until,
        expires_at=expires_at,
    )


def on_order_refunded(session: Session, fact: Refunded) -> None:
    """Order effect: a refunded donation ends its adoption, voids its certificate, reverses its points."""
    order = fact.order
    if order.channel is not Channel.ADOPTION or not fact.full:
        return
    adoption = _adoption_of(session, order.id)
    if adoption is None or adoption.status is not AdoptionStatus.ACTIVE:
        return
    adoption.status = AdoptionStatus.REFUNDED
    adoption.refunded_at = utcnow()
    reason = f"donation refunded, {fact.refund.out_refund_no}"
    points.reverse(session, PointsSource.ADOPTION, str(adoption.id), reason)
    organisation_points.reverse_in(session, PointsSource.ADOPTION, str(adoption.id), reason)
