"""Invitations to become an organiser: the owner (or an admin) invites, the invitee accepts.

An invitation is either addressed to one user id (the user finds it among their invitations) or
open (whoever redeems its code first). Either way it carries a random code the inviter may share
as a link; the code is shown once and stored only as its hash. Until the invitee accepts, the
inviter learns nothing about them: an invitation to an id is made alike whether or not the id
names a user, and no name is shown. Invitations expire; an accepted, declined, revoked or expired
one cannot be used again.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import InvitationStatus, Organisation, OrganisationInvitation, utcnow
from models.database import unit_of_work
from services.accounts.organisations import add_member_in, is_member, organisation_in, require_manager
from services.accounts.tokens import Principal
from services.kernel import audit
from services.kernel.errors import Conflict, InvalidState, NotFound
from services.kernel.paging import objects_page

CODE_BYTES = 16
EXPIRED = "expired"  # shown for a pending invitation past its expiry


@dataclass(frozen=True)
class IssuedInvitation:
    """A new invitation and its code, which is never shown again."""

    invitation: OrganisationInvitation
    code: str


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode("utf-8", "surrogatepass")).hexdigest()


def _snapshot(invitation: OrganisationInvitation) -> dict[str, Any] | None:
    values = audit.snapshot(invitation) or {}
    values.pop("code_hash", None)
    return values


def status_of(invitation: OrganisationInvitation, now: datetime | None = None) -> str:
    """The invitation's status as people see it: a pending one past its expiry is `expired`."""
    if invitation.status is InvitationStatus.PENDING and invitation.expires_at <= (now or utcnow()):
        return EXPIRED
    return invitation.status.value


def _pending(now: datetime) -> Any:
    return (OrganisationInvitation.status == InvitationStatus.PENDING) & (
        OrganisationInvitation.expires_at > now
    )


def invite(
    principal: Principal, organisation_id: int, user_id: int | None, ttl: timedelta
) -> IssuedInvitation:
    """Invite a user id, or anyone holding the code, to become an organiser (admin or owner)."""
    now = utcnow()
    with unit_of_work() as session:
        organisation = organisation_in(session, organisation_id)
        require_manager(principal, organisation)
        if user_id is not None:
            if is_member(session, organisation.id, user_id):
                raise Conflict(f"User {user_id} is a member already.")
            waiting = session.scalar(
                select(OrganisationInvitation.id).where(
                    OrganisationInvitation.organisation_id == organisation.id,
                    OrganisationInvitation.invitee_id == user_id,
                    _pending(now),
                )
            )
            if waiting is not None:
                raise Conflict(f"User {user_id} has an open invitation already (invitation {waiting}).")
        code = secrets.token_urlsafe(CODE_BYTES)
        invitation = OrganisationInvitation(
            organisation_id=organisation.id,
            code_hash=_hash(code),
            invitee_id=user_id,
            invited_by=principal.user_id,
            status=InvitationStatus.PENDING,
            expires_at=now + ttl,
            created_at=now,
        )
        session.add(invitation)
        session.flush()
        audit.record(
            session,
            principal.user_id,
            "organisation.invite",
            "organisation_invitation",
            invitation.id,
            None,
            _snapshot(invitation),
        )
        session.expunge(invitation)
        return IssuedInvitation(invitation, code)


def list_invitations(
    principal: Principal, organisation_id: int, page: int, page_size: int
) -> tuple[list[OrganisationInvitation], int]:
    """The organisation's invitations, newest first (admin or owner), and their count."""
    with unit_of_work() as session:
        organisation = organisation_in(session, organisation_id)
        require_manager(principal, organisation)
        where = OrganisationInvitation.organisation_id == organisation.id
        page_of = objects_page(
            session,
            select(OrganisationInvitation).where(where).order_by(OrganisationInvitation.id.desc()),
            page,
            page_size,
        )
        session.expunge_all()
        return page_of


def revoke(principal: Principal, organisation_id: int, invitation_id: int) -> None:
    """Withdraw a pending invitation (admin or owner)."""
    with unit_of_work() as session:
        organisation = organisation_in(session, organisation_id)
        require_manager(principal, organisation)
        invitation = session.get(OrganisationInvitation, invitation_id)
        if invitation is None or invitation.organisation_id != organisation.id:
            raise NotFound(f"No invitation {invitation_id} of this organisation.")
        before = _snapshot(invitation)
        _close(session, invitation, InvitationStatus.REVOKED, None)
        audit.record(
            session,
            principal.user_id,
            "organisation.revoke_invitation",
            "organisation_invitation",
            invitation.id,
            before,
            _snapshot(invitation),
        )


def my_invitations(principal: Principal) -> list[dict[str, Any]]:
    """The open invitations addressed to me, newest first, with the organisation that invites."""
    now = utcnow()
    with unit_of_work() as session:
        rows = session.execute(
            select(OrganisationInvitation, Organisation)
            .join(Organisation, Organisation.id == OrganisationInvitation.organisation_id)
            .where(OrganisationInvitation.invitee_id == principal.user_id, _pending(now))
            .order_by(OrganisationInvitation.id.desc())
        ).all()
        return [_invitee_view(invitation, organisation) for invitation, organisation in rows]


def respond(principal: Principal, invitation_id: int, accept: bool) -> dict[str, Any]:
    """Accept or decline an invitation addressed to me."""
    with unit_of_work() as session:
        invitation = session.get(OrganisationInvitation, invitation_id)
        if invitation is None or invitation.invitee_id != principal.user_id:
            raise NotFound(f"You have no invitation {invitation_id}.")
        return _answer(session, principal, invitation, accept)


def redeem(principal: Principal, code: str) -> dict[str, Any]:
    """Accept the invitation whose code I was given (one addressed to someone else is not found)."""
    with unit_of_work() as session:
        invitation = session.scalar(
            select(OrganisationInvitation).where(OrganisationInvitation.code_hash == _hash(code))
        )
        if invitation is None or invitation.invitee_id not in (None, principal.user_id):
            raise NotFound("No invitation has this code.")
        return _answer(session, principal, invitation, accept=True)


def _answer(
    session: Session, principal: Principal, invitation: OrganisationInvitation, accept: bool
) -> dict[str, Any]:
    organisation = session.get(Organisation, invitation.organisation_id)
    if accept and is_member(session, organisation.id, principal.user_id):
        raise Conflict("You are a member of this organisation already.")
    _close(session, invitation, InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED, principal)
    if accept:
        add_member_in(session, principal.user_id, organisation, principal.user_id)
    return _invitee_view(invitation, organisation)


def _close(
    session: Session,
    invitation: OrganisationInvitation,
    status: InvitationStatus,
    principal: Principal | None,
) -> None:
    """Move a pending, unexpired invitation to `status`, once: a second answer finds it closed."""
    now = utcnow()
    current = status_of(invitation, now)
    if current != InvitationStatus.PENDING.value:
        raise InvalidState(f"This invitation is {current}.", status=current)
    closed = session.execute(
        update(OrganisationInvitation)
        .where(OrganisationInvitation.id == invitation.id, _pending(now))
        .values(
            status=status,
            responded_at=now,
            accepted_by=principal.user_id if principal and status is InvitationStatus.ACCEPTED else None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if closed != 1:  # answered at the same moment by another request
        raise InvalidState("This invitation was answered already.")
    session.refresh(invitation)


def _invitee_view(invitation: OrganisationInvitation, organisation: Organisation) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "organisation": {"id": organisation.id, "name": organisation.name, "kind": organisation.kind.value},
        "status": status_of(invitation),
        "expires_at": invitation.expires_at,
        "invited_at": invitation.created_at,
        "responded_at": invitation.responded_at,
    }
