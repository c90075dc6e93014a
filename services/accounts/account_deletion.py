"""Account deletion (账号注销): the request, its cooling-off period, and what deleting does to the account.

A user asks; the request waits `cooling_off_days` (a setting) before it is due. Until then the
account works as before (the user's tokens stay valid, so the same login can cancel), and the
request ends by the user's cancel or by any new login, which cancels it on the spot. Once due, the
deletion job (`services.personal_data.erasure`) carries it out across the contexts; this module
holds the accounts' part of it (`erase_account_in`): every token revoked and dropped from the
Redis and in-process caches the moment the deletion commits, the WeChat identifiers, the session
key, the profile and the bound phone number erased, the memberships ended. The user row stays,
emptied and marked `deleted_at`, as the pseudonymous holder of what must be kept.

Admin accounts are not deleted here: another admin disables them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import delete, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    AccountDeletion,
    AuthToken,
    DeletionCanceller,
    DeletionStatus,
    Organisation,
    OrganisationMember,
    Role,
    User,
    utcnow,
)
from models.database import read_session, unit_of_work
from services.accounts import content_check, phone_numbers
from services.accounts.tokens import forget_user_on_commit
from services.kernel import audit
from services.kernel.errors import NotFound, PermissionDenied
from services.kernel.paging import objects_page
from services.kernel.redis_store import get_redis

# Where the WeChat session key of a user lives in Redis (services.accounts.accounts keeps it there).
SESSION_KEY_NAME = "wx:session_key:{user_id}"


@dataclass(frozen=True)
class AccountErased:
    """What erasing the account itself changed (counts only: the audit log keeps no erased value)."""

    tokens_revoked: int
    memberships_ended: int
    organisations_unowned: int
    phone_numbers_deleted: int = 0


def _snapshot(request: AccountDeletion) -> dict:
    return {
        "status": request.status.value,
        "due_at": request.due_at.isoformat(),
        "cancelled_by": request.cancelled_by.value if request.cancelled_by else None,
    }


def _pending_in(session: Session, user_id: int, lock: bool = False) -> AccountDeletion | None:
    query = select(AccountDeletion).where(
        AccountDeletion.user_id == user_id, AccountDeletion.status == DeletionStatus.PENDING
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def request_deletion(user_id: int, cooling_off_days: int, now: datetime | None = None) -> AccountDeletion:
    """Ask for the account to be deleted once `cooling_off_days` have passed; asking again while a
    request is pending answers that request unchanged."""
    now = now or utcnow()
    try:
        with unit_of_work() as session:
            user = session.get(User, user_id)
            if user is None or user.deleted_at is not None:
                raise NotFound("No such user.")
            if user.role != Role.USER:
                raise PermissionDenied("An admin account is not deleted this way; another admin disables it.")
            pending = _pending_in(session, user_id)
            if pending is not None:
                return pending
            request = AccountDeletion(
                user_id=user_id,
                status=DeletionStatus.PENDING,
                due_at=now + timedelta(days=cooling_off_days),
                created_at=now,
            )
            session.add(request)
            session.flush()
            audit.record(
                session,
                user_id,
                "account_deletion.request",
                "account_deletion",
                request.id,
                None,
                _snapshot(request),
            )
            return request
    except IntegrityError:
        # Two requests raced and the other one is the pending request now.
        with unit_of_work() as session:
            pending = _pending_in(session, user_id)
            if pending is None:
                raise
            return pending


def latest_request(user_id: int) -> AccountDeletion:
    """The user's latest deletion request, whatever its status, or NotFound."""
    session = read_session()
    request = session.scalar(
        select(AccountDeletion).where(AccountDeletion.user_id == user_id).order_by(AccountDeletion.id.desc())
    )
    if request is None:
        raise NotFound("You have not asked for your account to be deleted.")
    return request


def _cancel_in(session: Session, request: AccountDeletion, by: DeletionCanceller, now: datetime) -> None:
    before = _snapshot(request)
    request.status = DeletionStatus.CANCELLED
    request.cancelled_at = now
    request.cancelled_by = by
    session.flush()
    audit.record(
        session,
        request.user_id,
        "account_deletion.cancel",
        "account_deletion",
        request.id,
        before,
        _snapshot(request),
    )


def cancel_deletion(user_id: int) -> AccountDeletion:
    """Withdraw the pending request; NotFound when none is pending."""
    with unit_of_work() as session:
        request = _pending_in(session, user_id, lock=True)
        if request is None:
            raise NotFound("No deletion of your account is pending.")
        _cancel_in(session, request, DeletionCanceller.USER, utcnow())
        return request


def cancel_on_login_in(session: Session, user_id: int) -> bool:
    """A login during the cooling-off period cancels the pending request (in the login's unit of
    work); True when there was one."""
    request = _pending_in(session, user_id, lock=True)
    if request is None:
        return False
    _cancel_in(session, request, DeletionCanceller.LOGIN, utcnow())
    return True


def pending_due_at_in(session: Session, user_id: int) -> datetime | None:
    """When the user's pending deletion falls due, or None."""
    return session.scalar(
        select(AccountDeletion.due_at).where(
            AccountDeletion.user_id == user_id, AccountDeletion.status == DeletionStatus.PENDING
        )
    )


def due_request_ids(now: datetime, limit: int, after_id: int = 0) -> list[int]:
    """Ids (above `after_id`, ascending) of pending requests whose cooling-off period is over."""
    session = read_session()
    try:
        return list(
            session.scalars(
                select(AccountDeletion.id)
                .where(
                    AccountDeletion.status == DeletionStatus.PENDING,
                    AccountDeletion.due_at <= now,
                    AccountDeletion.id > after_id,
                )
                .order_by(AccountDeletion.id)
                .limit(limit)
            )
        )
    finally:
        session.rollback()


def lock_due_in(session: Session, request_id: int, now: datetime) -> AccountDeletion | None:
    """The request, locked, if it is still pending and due (a cancel may have come first)."""
    request = session.scalar(
        select(AccountDeletion)
        .where(AccountDeletion.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if request is None or request.status != DeletionStatus.PENDING or request.due_at > now:
        return None
    return request


def complete_in(session: Session, request: AccountDeletion, actor_id: int | None, now: datetime) -> None:
    """Mark the request carried out (in the unit of work that carried it out)."""
    request.status = DeletionStatus.COMPLETED
    request.completed_at = now
    request.completed_by = actor_id
    session.flush()


def erase_account_in(session: Session, user_id: int, now: datetime) -> AccountErased:
    """The accounts' part of a deletion, in the caller's unit of work: tokens revoked, identifiers,
    profile, phone number and session key erased, memberships and ownerships ended.

    Once the caller commits, every cached principal of the user is dropped, in Redis and in every
    process (`forget_user_on_commit`), and the WeChat session key is deleted from Redis: the tokens
    are refused from that moment on, whichever process a request reaches.
    """
    user = session.scalar(
        select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
    )
    if user is None:
        raise NotFound("No such user.")
    tokens = session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    memberships = session.execute(
        delete(OrganisationMember).where(OrganisationMember.user_id == user_id)
    ).rowcount
    unowned = session.execute(
        update(Organisation).where(Organisation.owner_id == user_id).values(owner_id=None)
    ).rowcount
    user.openid = None
    user.unionid = None
    user.display_name = ""
    user.avatar_url = ""
    user.city = ""
    user.region = ""
    user.is_active = False
    user.deleted_at = now
    session.flush()
    phones = phone_numbers.erase_in(session, user_id)
    content_check.clear_in(session, content_check.DISPLAY_NAME, [str(user_id)])  # the name is gone
    forget_user_on_commit(session, user_id)
    _delete_session_key_on_commit(session, user_id)
    return AccountErased(int(tokens or 0), int(memberships or 0), int(unowned or 0), int(phones))


def _delete_session_key_on_commit(session: Session, user_id: int) -> None:
    def _delete(_session: Session) -> None:
        # With Redis down the key expires by itself within its TTL (three days); no token of the
        # user is accepted meanwhile, so nothing can use it.
        with contextlib.suppress(redis.RedisError):
            get_redis().delete(SESSION_KEY_NAME.format(user_id=user_id))

    event.listen(session, "after_commit", _delete, once=True)


def list_requests(
    status: DeletionStatus | None, *, page: int, page_size: int
) -> tuple[list[AccountDeletion], int]:
    """Deletion requests for admins, newest first, optionally of one status."""
    session = read_session()
    query = select(AccountDeletion)
    if status is not None:
        query = query.where(AccountDeletion.status == status)
    return objects_page(session, query.order_by(AccountDeletion.id.desc()), page, page_size)
