"""Organisations (companies, public bodies, courts, event organisers) and their organisers.

A member of an organisation has the organiser role for it. Admins create organisations and name
their owner, who becomes a member. Anyone else becomes a member only by accepting an invitation
(services.accounts.organisation_invitations); admins and the owner may remove members. Every change is
audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Organisation, OrganisationKind, OrganisationMember, User
from models.database import unit_of_work
from services.accounts import phone_numbers
from services.accounts.tokens import Principal, forget_user_on_commit
from services.kernel import audit
from services.kernel.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from services.kernel.paging import objects_page, rows_page

NAME_MAX_LENGTH = 200


def _require_user(session: Session, user_id: int, field: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise ValidationFailed(f"No user has id {user_id}.", errors={field: [f"No user has id {user_id}."]})
    return user


def organisation_in(session: Session, organisation_id: int) -> Organisation:
    """The organisation, or NotFound."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"No organisation has id {organisation_id}.")
    return organisation


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        message = f"Use 1 to {NAME_MAX_LENGTH} characters."
        raise ValidationFailed("The organisation name is not valid.", errors={"name": [message]})
    return name


def _name_taken(session: Session, name: str, other_than: int | None = None) -> bool:
    query = select(Organisation.id).where(Organisation.name == name)
    if other_than is not None:
        query = query.where(Organisation.id != other_than)
    return session.scalar(query) is not None


def _kind(value: Any) -> OrganisationKind:
    try:
        return OrganisationKind(value)
    except ValueError:
        kinds = ", ".join(kind.value for kind in OrganisationKind)
        raise ValidationFailed(
            "The organisation kind is not valid.", errors={"kind": [f"Use one of: {kinds}."]}
        ) from None


def add_member_in(
    session: Session, actor_id: int, organisation: Organisation, user_id: int
) -> OrganisationMember:
    """Make `user_id` a member inside the caller's unit of work; their cached tokens are dropped on commit."""
    member = OrganisationMember(organisation_id=organisation.id, user_id=user_id)
    session.add(member)
    session.flush()
    forget_user_on_commit(session, user_id)
    audit.record(
        session,
        actor_id,
        "organisation.add_member",
        "organisation_member",
        member.id,
        None,
        audit.snapshot(member),
    )
    return member


def _member_view(
    organisation: Organisation, user_id: int, display_name: str, joined_at: Any, phone: str | None = None
) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "display_name": display_name,
        "is_owner": user_id == organisation.owner_id,
        "joined_at": joined_at,
        "phone": phone,
    }


def is_member(session: Session, organisation_id: int, user_id: int) -> bool:
    """Whether `user_id` is an organiser of the organisation."""
    query = select(OrganisationMember.id).where(
        OrganisationMember.organisation_id == organisation_id, OrganisationMember.user_id == user_id
    )
    return session.scalar(query) is not None


def create_organisation(
    principal: Principal, name: str, kind: OrganisationKind, owner_id: int | None = None
) -> Organisation:
    """Create an organisation (admin only); its owner, when given, becomes its first member."""
    principal.require_admin()
    name = _check_name(name)
    try:
        with unit_of_work() as session:
            if _name_taken(session, name):
                raise Conflict(f"An organisation named {name!r} exists already.")
            if owner_id is not None:
                _require_user(session, owner_id, "owner_id")
            organisation = Organisation(name=name, kind=_kind(kind), owner_id=owner_id)
            session.add(organisation)
            session.flush()
            audit.record(
                session,
                principal.user_id,
                "organisation.create",
                "organisation",
                organisation.id,
                None,
                audit.snapshot(organisation),
            )
            if owner_id is not None:
                add_member_in(session, principal.user_id, organisation, owner_id)
            return organisation
    except IntegrityError as exc:
        raise Conflict(f"An organisation named {name!r} exists already.") from exc


def update_organisation(
    principal: Principal, organisation_id: int, changes: Mapping[str, Any]
) -> Organisation:
    """Rename an organisation, change its kind or its owner (admin only); a new owner becomes a member."""
    principal.require_admin()
    try:
        with unit_of_work() as session:
            organisation = organisation_in(session, organisation_id)
            before = audit.snapshot(organisation)
            if "name" in changes:
                name = _check_name(changes["name"])
                if _name_taken(session, name, other_than=organisation.id):
                    raise Conflict(f"An organisation named {name!r} exists already.")
                organisation.name = name
            if "kind" in changes:
                organisation.kind = _kind(changes["kind"])
            if "owner_id" in changes:
                owner_id = changes["owner_id"]
                if owner_id is not None:
                    _require_user(session, owner_id, "owner_id")
                organisation.owner_id = owner_id
            session.flush()
            after = audit.snapshot(organisation)
            if after != before:
                audit.record(
                    session,
                    principal.user_id,
                    "organisation.update",
                    "organisation",
                    organisation.id,
                    before,
                    after,
                )
            owner_id = organisation.owner_id
            if owner_id is not None and not is_member(session, organisation.id, owner_id):
                add_member_in(session, principal.user_id, organisation, owner_id)
            return organisation
    except IntegrityError as exc:
        raise Conflict("An organisation with this name exists already.") from exc


def list_organisations(principal: Principal, page: int, page_size: int) -> tuple[list[Organisation], int]:
    """All organisations, oldest first (admin only), and their total count."""
    principal.require_admin()
    with unit_of_work() as session:
        return objects_page(session, select(Organisation).order_by(Organisation.id), page, page_size)


def require_manager(principal: Principal, organisation: Organisation) -> None:
    """Only an admin or the organisation's owner may invite and remove members."""
    if not principal.is_admin and organisation.owner_id != principal.user_id:
        raise PermissionDenied("Only an admin or the organisation's owner can change its members.")


def list_members(
    principal: Principal, organisation_id: int, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """The organisers of an organisation (visible to its members and to admins), and their count;
    each one's bound phone number masked."""
    with unit_of_work() as session:
        organisation = organisation_in(session, organisation_id)
        principal.require_member(organisation.id)
        where = OrganisationMember.organisation_id == organisation.id
        rows, total = rows_page(
            session,
            select(OrganisationMember.user_id, OrganisationMember.created_at, User.display_name)
            .join(User, User.id == OrganisationMember.user_id)
            .where(where)
            .order_by(OrganisationMember.id),
            page,
            page_size,
        )
        phones = phone_numbers.masked_of(session, [row.user_id for row in rows])
        members = [
            _member_view(organisation, row.user_id, row.display_name, row.created_at, phones.get(row.user_id))
            for row in rows
        ]
        return members, total


def remove_member(principal: Principal, organisation_id: int, user_id: int) -> None:
    """Take a user's organiser role for the organisation away (admin or owner; never the owner)."""
    with unit_of_work() as session:
        organisation = organisation_in(session, organisation_id)
        require_manager(principal, organisation)
        member = session.scalar(
            select(OrganisationMember).where(
                OrganisationMember.organisation_id == organisation.id, OrganisationMember.user_id == user_id
            )
        )
        if member is None:
            raise NotFound(f"User {user_id} is not a member of this organisation.")
        if user_id == organisation.owner_id:
            raise InvalidState("The owner cannot be removed; give the organisation another owner first.")
        before = audit.snapshot(member)
        session.delete(member)
        forget_user_on_commit(session, user_id)
        audit.record(
            session,
            principal.user_id,
            "organisation.remove_member",
            "organisation_member",
            member.id,
            before,
            None,
        )
