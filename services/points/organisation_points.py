"""Carbon points of organisations: what their own purchases earned, read-only to their members.

An organisation's purchase (an event offset, an institutional claim, by WeChat Pay or bank transfer)
earns the organisation, never the member who placed it (`Order.organisation_id`, the buyer of
record). The ledger is append-only and small: an `earn` per award and a `reverse` when a refund
takes it back, each unique per (source, kind, organisation), so awarding or reversing again changes
nothing. Organisations redeem no rewards, so their points are neither spent nor expire.

Settled points are those whose refund window has closed (`available_at` passed, or none); points
inside the window are `pending`. A reversal carries the `available_at` of its award, so an award
and its reversal always fall on the same side and cancel out there. The tier follows settled
points, as a person's does. Organisations are on no ranking: rankings are for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from models import Organisation, OrganisationPointsEntry, PointsKind, PointsSource, utcnow
from models.database import read_session
from services.accounts.tokens import Principal
from services.kernel.errors import NotFound
from services.kernel.paging import objects_page
from services.points import tiers
from services.points.tiers import TierPolicy, TierStatus


@dataclass(frozen=True)
class OrganisationPoints:
    organisation_id: int
    settled: int
    pending: int
    tier: TierStatus


def award_in(
    session: Session,
    organisation_id: int,
    points: int,
    source_type: PointsSource,
    source_id: str,
    reason: str,
    available_at: datetime | None,
) -> OrganisationPointsEntry | None:
    """Award points to an organisation in the caller's unit of work; None for 0 points.

    A second award of the same source returns the first entry and changes nothing.
    """
    if points <= 0:
        return None
    existing = _find(session, organisation_id, source_type, source_id, PointsKind.EARN)
    if existing is not None:
        return existing
    entry = OrganisationPointsEntry(
        organisation_id=organisation_id,
        kind=PointsKind.EARN,
        points=points,
        reason=reason[:200],
        source_type=source_type,
        source_id=source_id,
        available_at=available_at,
        created_at=utcnow(),
    )
    session.add(entry)
    session.flush()
    return entry


def reverse_in(
    session: Session, source_type: PointsSource, source_id: str, reason: str
) -> list[OrganisationPointsEntry]:
    """Take back every organisation's award of a source (a refund) in the caller's unit of work, once."""
    awards = session.scalars(
        select(OrganisationPointsEntry)
        .where(
            OrganisationPointsEntry.source_type == source_type,
            OrganisationPointsEntry.source_id == source_id,
            OrganisationPointsEntry.kind == PointsKind.EARN,
        )
        .order_by(OrganisationPointsEntry.organisation_id)
    ).all()
    reversals = []
    for award in awards:
        done = _find(session, award.organisation_id, source_type, source_id, PointsKind.REVERSE)
        if done is None:
            done = OrganisationPointsEntry(
                organisation_id=award.organisation_id,
                kind=PointsKind.REVERSE,
                points=-award.points,
                reason=reason[:200],
                source_type=source_type,
                source_id=source_id,
                available_at=award.available_at,
                created_at=utcnow(),
            )
            session.add(done)
            session.flush()
        reversals.append(done)
    return reversals


def summary(
    principal: Principal, organisation_id: int, policy: TierPolicy, now: datetime | None = None
) -> OrganisationPoints:
    """An organisation's settled and pending points and its tier; for its members (and admins)."""
    principal.require_member(organisation_id)
    now = now or utcnow()
    session = read_session()
    try:
        _require_organisation(session, organisation_id)
        is_settled = or_(
            OrganisationPointsEntry.available_at.is_(None), OrganisationPointsEntry.available_at <= now
        )
        settled, pending = session.execute(
            select(
                func.coalesce(func.sum(case((is_settled, OrganisationPointsEntry.points), else_=0)), 0),
                func.coalesce(func.sum(case((is_settled, 0), else_=OrganisationPointsEntry.points)), 0),
            ).where(OrganisationPointsEntry.organisation_id == organisation_id)
        ).one()
    finally:
        session.rollback()
    settled, pending = int(settled), int(pending)
    return OrganisationPoints(organisation_id, settled, pending, tiers.tier_status(settled, policy, pending))


def history(
    principal: Principal, organisation_id: int, page: int, page_size: int
) -> tuple[list[OrganisationPointsEntry], int]:
    """One page of an organisation's points entries, newest first, and their number; for its members."""
    principal.require_member(organisation_id)
    session = read_session()
    try:
        _require_organisation(session, organisation_id)
        mine = OrganisationPointsEntry.organisation_id == organisation_id
        entries, total = objects_page(
            session,
            select(OrganisationPointsEntry).where(mine).order_by(OrganisationPointsEntry.id.desc()),
            page,
            page_size,
        )
        for entry in entries:
            session.expunge(entry)
        return entries, int(total)
    finally:
        session.rollback()


def _require_organisation(session: Session, organisation_id: int) -> None:
    if session.get(Organisation, organisation_id) is None:
        raise NotFound(f"Organisation {organisation_id} does not exist.")


def _find(
    session: Session, organisation_id: int, source_type: PointsSource, source_id: str, kind: PointsKind
) -> OrganisationPointsEntry | None:
    return session.scalars(
        select(OrganisationPointsEntry).where(
            OrganisationPointsEntry.organisation_id == organisation_id,
            OrganisationPointsEntry.source_type == source_type,
            OrganisationPointsEntry.source_id == source_id,
            OrganisationPointsEntry.kind == kind,
        )
    ).one_or_none()
