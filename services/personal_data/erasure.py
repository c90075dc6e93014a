"""Carrying out account deletions once their cooling-off period is over (the deletion job).

One unit of work per account, in which every context erases or pseudonymises its part:

- points: every unspent point, available or pending, forfeited in one ledger entry;
- rewards: every consent to a bank partner revoked, so no partner reads anything more;
- certificates, orders and tree adoptions of the person's own purchases: the holder name replaced
  by `DELETED_HOLDER`; numbers, verification codes, claims, amounts and retirements are kept for
  the accounts and the public record, and each certificate still verifies;
- footprints: deleted;
- accounts: every token revoked (and dropped from every cache when the deletion commits), openid,
  unionid, profile, bound phone number and WeChat session key erased, memberships and ownerships
  of organisations ended; the user row stays, empty, as the pseudonymous holder of what is kept.

What stays attached to the emptied row: orders, payments and refunds, certificates, the points
ledger, low-carbon actions (their reductions may have been sold as credits and must stay
traceable), redemptions, the privacy acceptances, the partners' access log and the audit log. None
of it names the person any more. Organisations the person belonged to keep everything of their own.

A due deletion waits while an order of the person may still be paid, fulfilled or refunded
(`services.sales.deleted_buyers`); it is carried out at the first run after that settles.
Each deletion is audited with counts only: the audit log keeps none of the erased values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import Adoption, Order, utcnow
from models.database import unit_of_work
from services.accounts import account_deletion, content_check
from services.certificates import certificates
from services.footprint import footprints
from services.kernel import audit
from services.notifications import subscriptions
from services.points import forfeiture
from services.rewards import consents
from services.sales import deleted_buyers

# The holder named on what is kept of a deleted account's purchases ("deleted user").
DELETED_HOLDER = "已注销用户"
PAGE = 100


@dataclass(frozen=True)
class DeletionRun:
    """What one run of the deletion job did."""

    completed: int = 0
    # Due, but an order or refund of the person may still move; tried again at the next run.
    deferred: int = 0


@dataclass(frozen=True)
class Erased:
    """Counts of what one deletion changed, as the audit log records it."""

    user_id: int
    tokens_revoked: int
    memberships_ended: int
    organisations_unowned: int
    consents_revoked: int
    points_forfeited: int
    pending_points_forfeited: int
    certificates_pseudonymised: int
    orders_pseudonymised: int
    adoptions_pseudonymised: int
    footprints_deleted: int
    phone_numbers_deleted: int = 0
    subscribe_rows_deleted: int = 0


def carry_out_due(
    ended_sync_days: int, actor_id: int | None = None, now: datetime | None = None
) -> DeletionRun:
    """Carry out every deletion whose cooling-off period is over; `actor_id` is the admin who asked
    for it at once (None: the scheduled job). `ended_sync_days` is the orders' `ended_sync_days`."""
    now = now or utcnow()
    completed = deferred = 0
    after = 0
    while True:
        ids = account_deletion.due_request_ids(now, PAGE, after_id=after)
        for request_id in ids:
            outcome = _carry_out(request_id, ended_sync_days, actor_id, now)
            completed += outcome == "completed"
            deferred += outcome == "deferred"
        if len(ids) < PAGE:
            return DeletionRun(completed, deferred)
        after = ids[-1]


def _carry_out(request_id: int, ended_sync_days: int, actor_id: int | None, now: datetime) -> str:
    with unit_of_work() as session:
        request = account_deletion.lock_due_in(session, request_id, now)
        if request is None:
            return "skipped"  # cancelled (a login, the user) or carried out meanwhile
        user_id = request.user_id
        if deleted_buyers.business_in_flight_in(session, user_id, now, ended_sync_days):
            return "deferred"
        erased = _erase_in(session, user_id, request.id, now)
        account_deletion.complete_in(session, request, actor_id, now)
        audit.record(
            session,
            actor_id,
            "account_deletion.execute",
            "account_deletion",
            request.id,
            None,
            asdict(erased),
        )
    return "completed"


def _erase_in(session: Session, user_id: int, deletion_id: int, now: datetime) -> Erased:
    forfeited = forfeiture.forfeit_all_in(session, user_id, deletion_id)
    consents_revoked = consents.withdraw_all_in(session, user_id, now)
    certificates_changed = certificates.pseudonymise_holder_in(session, user_id, DELETED_HOLDER)
    # The pseudonym is the service's own text: public, whatever the content check said of the name.
    content_check.clear_in(
        session,
        content_check.HOLDER_NAME,
        select(Order.out_trade_no).where(Order.user_id == user_id, Order.organisation_id.is_(None)),
    )
    orders_changed = deleted_buyers.pseudonymise_holders_in(session, user_id, DELETED_HOLDER)
    adoptions_changed = _pseudonymise_adoptions_in(session, user_id)
    footprints_deleted = footprints.erase_user_in(session, user_id)
    subscribe_rows = subscriptions.erase_user_in(session, user_id)
    account = account_deletion.erase_account_in(session, user_id, now)
    return Erased(
        user_id=user_id,
        tokens_revoked=account.tokens_revoked,
        memberships_ended=account.memberships_ended,
        organisations_unowned=account.organisations_unowned,
        consents_revoked=consents_revoked,
        points_forfeited=forfeited.available,
        pending_points_forfeited=forfeited.pending,
        certificates_pseudonymised=certificates_changed,
        orders_pseudonymised=orders_changed,
        adoptions_pseudonymised=adoptions_changed,
        footprints_deleted=footprints_deleted,
        phone_numbers_deleted=account.phone_numbers_deleted,
        subscribe_rows_deleted=subscribe_rows,
    )


def _pseudonymise_adoptions_in(session: Session, user_id: int) -> int:
    # The person's own tree adoptions (an organisation's keep its name); their public records and
    # certificates show the pseudonym from now on.
    return int(
        session.execute(
            update(Adoption)
            .where(Adoption.user_id == user_id, Adoption.organisation_id.is_(None))
            .values(holder_name=DELETED_HOLDER)
        ).rowcount
        or 0
    )
