"""Users' consents to bank partners, partners' reads of a user's carbon data, and the log of those reads.

A partner sees a user's data only within scopes the user granted it, in consents neither expired
nor revoked (the union of such consents). Every read that names a known user is logged, allowed
or refused, and the user can see the log. A read that names no user is refused the same way as
one without consent, so that a partner cannot probe who uses the mini-program.

A partner reads settled points only: a purchase still inside its refund window may yet be refunded,
so it lifts neither the tier nor the points a partner sees (`points.settled_in`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import AccessOutcome, Consent, ConsentScope, Partner, PartnerAccess, User, utcnow
from models.database import read_session, unit_of_work
from services.kernel.errors import NotFound, PermissionDenied, ValidationFailed
from services.kernel.paging import objects_page
from services.points import points, tiers
from services.points.tiers import TierPolicy


def consent_state(consent: Consent, now: datetime | None = None) -> str:
    """`active`, `expired` or `revoked`."""
    if consent.revoked_at is not None:
        return "revoked"
    if consent.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def grant(
    user_id: int,
    partner_id: int,
    scopes: Iterable[ConsentScope | str],
    expires_at: datetime,
    max_days: int,
    now: datetime | None = None,
) -> Consent:
    """Let a partner read `scopes` of the user's carbon data until `expires_at` (at most `max_days` ahead)."""
    now = now or utcnow()
    wanted = sorted({ConsentScope(scope).value for scope in scopes})
    if not wanted:
        raise ValidationFailed("Grant at least one scope.", errors={"scopes": ["At least one scope."]})
    if expires_at <= now:
        raise ValidationFailed(
            "A consent must end in the future.", errors={"expires_at": ["Must be in the future."]}
        )
    if expires_at > now + timedelta(days=max_days):
        raise ValidationFailed(
            f"A consent lasts at most {max_days} days.",
            errors={"expires_at": [f"At most {max_days} days from now."]},
        )
    with unit_of_work() as session:
        partner = session.get(Partner, partner_id)
        if partner is None or not partner.active:
            raise NotFound(
                f"Partner {partner_id} does not exist.", errors={"partner_id": ["Unknown partner."]}
            )
        consent = Consent(
            user_id=user_id, partner=partner, scopes=wanted, expires_at=expires_at, created_at=now
        )
        session.add(consent)
        session.flush()
        return consent


def list_mine(user_id: int, *, page: int, page_size: int) -> tuple[list[Consent], int]:
    """The user's consents, newest first, whatever their state."""
    session = read_session()
    condition = Consent.user_id == user_id
    return objects_page(
        session, select(Consent).where(condition).order_by(Consent.id.desc()), page, page_size
    )


def revoke(user_id: int, consent_id: int) -> Consent:
    """Withdraw a consent at once; revoking it again changes nothing."""
    with unit_of_work() as session:
        consent = session.scalar(
            select(Consent)
            .where(Consent.id == consent_id)
            .with_for_update(of=Consent)
            .execution_options(populate_existing=True)
        )
        if consent is None or consent.user_id != user_id:
            raise NotFound(f"Consent {consent_id} does not exist.")
        if consent.revoked_at is None:
            consent.revoked_at = utcnow()
        session.flush()
        return consent


def withdraw_all_in(session: Session, user_id: int, now: datetime | None = None) -> int:
    """Revoke every consent of the user still unrevoked, in the caller's unit of work (the account is
    being deleted): from the commit on, no partner reads anything of the user. How many were revoked."""
    return int(
        session.execute(
            update(Consent)
            .where(Consent.user_id == user_id, Consent.revoked_at.is_(None))
            .values(revoked_at=now or utcnow())
        ).rowcount
        or 0
    )


def access_log(user_id: int, *, page: int, page_size: int) -> tuple[list[PartnerAccess], int]:
    """Partners' reads of the user's data, newest first."""
    session = read_session()
    condition = PartnerAccess.user_id == user_id
    return objects_page(
        session,
        select(PartnerAccess).where(condition).order_by(PartnerAccess.at.desc(), PartnerAccess.id.desc()),
        page,
        page_size,
    )


def partner_read(
    partner_id: int,
    identifier: str,
    requested: Iterable[ConsentScope | str] | None,
    policy: TierPolicy,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A user's tier and/or points summary for a partner, within the scopes the user granted it.

    `requested` None means every granted scope. Raises PermissionDenied (logged) when a requested
    scope is not granted, or when nothing is granted at all.
    """
    now = now or utcnow()
    wanted = sorted({ConsentScope(s).value for s in requested}) if requested else None
    refusal: str | None = None
    with unit_of_work() as session:
        user_id = _user_by_identifier(session, identifier)
        if user_id is None:
            refusal = "The user has not given this partner consent."
        else:
            granted, expires_at = _granted(session, user_id, partner_id, now)
            scopes = wanted if wanted is not None else sorted(granted)
            missing = sorted(set(scopes) - granted)
            allowed = bool(scopes) and not missing
            session.add(
                PartnerAccess(
                    partner_id=partner_id,
                    user_id=user_id,
                    scopes=scopes,
                    outcome=AccessOutcome.GRANTED if allowed else AccessOutcome.DENIED,
                    at=now,
                )
            )
            if allowed:
                return _carbon_view(session, identifier, user_id, scopes, expires_at, policy, now)
            refusal = (
                f"The user has not granted: {', '.join(missing)}."
                if missing
                else "The user has not given this partner consent."
            )
    raise PermissionDenied(refusal)


def _user_by_identifier(session: Session, identifier: str) -> int | None:
    """The active user whose openid, or else whose (unambiguous) unionid, is `identifier`."""
    by_openid = session.scalar(select(User.id).where(User.openid == identifier, User.is_active.is_(True)))
    if by_openid is not None:
        return by_openid
    by_unionid = session.scalars(
        select(User.id).where(User.unionid == identifier, User.is_active.is_(True)).limit(2)
    ).all()
    return by_unionid[0] if len(by_unionid) == 1 else None


def _granted(
    session: Session, user_id: int, partner_id: int, now: datetime
) -> tuple[set[str], datetime | None]:
    """Scopes of the user's live consents to the partner, and when the last of them ends."""
    consents = session.scalars(
        select(Consent).where(
            Consent.user_id == user_id,
            Consent.partner_id == partner_id,
            Consent.revoked_at.is_(None),
            Consent.expires_at > now,
        )
    ).all()
    scopes = {scope for consent in consents for scope in consent.scopes}
    return scopes, max((c.expires_at for c in consents), default=None)


def _carbon_view(
    session: Session,
    identifier: str,
    user_id: int,
    scopes: list[str],
    expires_at: datetime | None,
    policy: TierPolicy,
    now: datetime,
) -> dict[str, Any]:
    settled = points.settled_in(session, user_id, now)
    view: dict[str, Any] = {"user": identifier, "scopes": scopes, "consent_expires_at": expires_at}
    if ConsentScope.TIER.value in scopes:
        view["tier"] = tiers.tier_status(settled.lifetime_earned, policy)
    if ConsentScope.POINTS_SUMMARY.value in scopes:
        view["points_summary"] = {"balance": settled.balance, "lifetime_earned": settled.lifetime_earned}
    return view
