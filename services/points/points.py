"""Carbon points: award, spend, reverse, expire; the ledger's rules live here.

The ledger (`models/points.py`) is append-only: every change of a user's points is an entry, and
each positive entry is a lot that negative entries draw from. Every write that reads lots locks the
user's `PointsBalance` row first (`SELECT ... FOR UPDATE` on PostgreSQL) and updates it in the same
transaction, so concurrent writes to one user's points are serialised and the cached balance
always equals the remaining points of the user's available lots. An award reads no lot: it inserts
its own and adds to the balance in one upsert, which takes the same row lock.

Policies:
- **Idempotency.** An entry is unique per (source_type, source_id, kind, user). Awarding, spending
  or reversing the same source again returns what was recorded the first time and changes nothing.
- **Pending.** Points of a purchase stay `pending` until its refund window ends (`pending_until`);
  pending points count in `pending`, not in the spendable `balance`. `release_pending` (a job)
  makes them available; `spend` also releases the user's due lots itself before it checks the balance.
- **Spending** draws from available lots, the soonest-expiring first (lots that never expire last,
  then oldest first), and fails with `InsufficientPoints` when the balance is short.
- **Expiry.** A lot's unspent points expire at its `expires_at`: `expire_due` (a job) writes an
  `expire` entry per lot; `spend` also expires the user's due lots before it checks the balance,
  so expired points can never be spent.
- **Reversal (a refund).** `reverse` takes back what remains of the award (pending or available).
  If part of the award was already spent, that part is taken back from the user's other available
  points, soonest-expiring first, as a negative `adjust` entry of the same source, as far as the
  balance goes; the rest is written off. The balance therefore never goes negative, and the
  written-off points stay visible in the ledger (spent from the lot, minus the recovered adjust).
  Points that expired before the refund are not taken back: the user had no use of them.
  `lifetime_earned` drops by the whole award.
- **Refund of a spend** (a cancelled redemption): `refund_spend` gives the spent points back as a
  new available lot, a positive `adjust` entry of the spend's own source (so once per spend).
- **Admin adjustments** add a lot (available at once, expiring like earned points) or take points
  from available lots; taking more than the balance is refused. Each is audit-logged.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from models import PointsBalance, PointsEntry, PointsKind, PointsSource, PointsStatus, PointsUse, User, utcnow
from models.database import read_session, unit_of_work
from services.kernel import audit
from services.kernel.errors import IdempotencyMismatch, InsufficientPoints, NotFound, ValidationFailed
from services.kernel.paging import objects_page

GRAMS_PER_KG = 1000
SOURCE_ID_MAX = 64
REASON_MAX = 200
DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class PointsSummary:
    balance: int
    pending: int
    lifetime_earned: int


@dataclass(frozen=True)
class Reversal:
    """What a refund did to one user's award."""

    entry: PointsEntry
    recovered: int
    written_off: int


@dataclass(frozen=True)
class JobCounts:
    lots: int
    points: int


def points_for_offset(grams: int, per_kg: int) -> int:
    """Points for offsetting `grams` of CO2e at `per_kg` points per kilogram, rounded down."""
    if grams < 0 or per_kg < 0:
        raise ValidationFailed("Grams and points per kilogram cannot be negative.")
    return grams * per_kg // GRAMS_PER_KG


def award_dates(
    now: datetime, pending_days: int, expiry_days: int
) -> tuple[datetime | None, datetime | None]:
    """`(pending_until, expires_at)` of an award made at `now`; 0 days means no window, no expiry."""
    pending_until = now + timedelta(days=pending_days) if pending_days > 0 else None
    expires_at = now + timedelta(days=expiry_days) if expiry_days > 0 else None
    return pending_until, expires_at


def award(
    session: Session,
    user_id: int,
    points: int,
    source_type: PointsSource | str,
    source_id: str | int,
    reason: str,
    pending_until: datetime | None = None,
    expires_at: datetime | None = None,
) -> PointsEntry | None:
    """Award points in the caller's unit of work; None when `points` is 0.

    A second award for the same source and user returns the first entry and changes nothing.
    """
    if points < 0:
        raise ValidationFailed("An award cannot be negative.", errors={"points": ["Must be >= 0."]})
    kind_source, key = _source(source_type, source_id)
    _check_reason(reason)
    pending_until, expires_at = _aware(pending_until), _aware(expires_at)
    if pending_until and expires_at and expires_at <= pending_until:
        raise ValidationFailed(
            "Points cannot expire before they become available.",
            errors={"expires_at": ["Must be later than pending_until."]},
        )
    if points == 0:
        return None
    now = utcnow()
    pending = pending_until is not None and pending_until > now
    # The entry first, as one INSERT that does nothing for a source already awarded (the unique
    # entry key); then the balance, created or added to in one upsert that locks its row. Two
    # statements where reading, locking and writing each would take six: awards are on every
    # purchase's fulfilment. The new lot is invisible to others until the commit, so a spend that
    # holds the balance lock meanwhile neither sees it nor waits for it.
    entry = session.scalars(
        _insert_for(session)(PointsEntry)
        .values(
            user_id=user_id,
            kind=PointsKind.EARN,
            points=points,
            reason=reason,
            source_type=kind_source,
            source_id=key,
            status=PointsStatus.PENDING if pending else PointsStatus.AVAILABLE,
            available_at=pending_until if pending else now,
            expires_at=expires_at,
            remaining=points,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["source_type", "source_id", "kind", "user_id"])
        .returning(PointsEntry)
    ).one_or_none()
    if entry is None:
        return _find(session, user_id, kind_source, key, PointsKind.EARN)
    _add_to_balance(session, user_id, points if not pending else 0, points if pending else 0, now)
    return entry


def _insert_for(session: Session) -> Callable[..., Any]:
    """The dialect's INSERT, which has ON CONFLICT."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _add_to_balance(session: Session, user_id: int, available: int, pending: int, now: datetime) -> None:
    """Add an award to the user's balance row (made when missing) in one statement."""
    insert = _insert_for(session)(PointsBalance).values(
        user_id=user_id,
        balance=available,
        pending=pending,
        lifetime_earned=available + pending,
        updated_at=now,
    )
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["user_id"],
            set_={
                "balance": PointsBalance.balance + insert.excluded.balance,
                "pending": PointsBalance.pending + insert.excluded.pending,
                "lifetime_earned": PointsBalance.lifetime_earned + insert.excluded.lifetime_earned,
                "updated_at": insert.excluded.updated_at,
            },
        ),
        execution_options={"synchronize_session": False},
    )
    loaded = session.identity_map.get(identity_key(PointsBalance, user_id))
    if loaded is not None:
        session.expire(loaded)


def spend(
    session: Session,
    user_id: int,
    points: int,
    source_type: PointsSource | str,
    source_id: str | int,
    reason: str,
    *,
    now: datetime | None = None,
) -> PointsEntry:
    """Spend points in the caller's unit of work, soonest-expiring first; raises InsufficientPoints.

    A second spend for the same source and user returns the first entry and changes nothing.
    """
    if points <= 0:
        raise ValidationFailed("Spend a positive number of points.", errors={"points": ["Must be > 0."]})
    kind_source, key = _source(source_type, source_id)
    _check_reason(reason)
    balance_row = _locked_balance(session, user_id)
    existing = _find(session, user_id, kind_source, key, PointsKind.SPEND)
    if existing is not None:
        return existing
    now = _aware(now) or utcnow()
    _release_lots(session, balance_row, now)
    _expire_lots(session, balance_row, now)
    if balance_row.balance < points:
        raise InsufficientPoints(
            f"This needs {points} points; {balance_row.balance} are available.",
            available=balance_row.balance,
            required=points,
        )
    return _debit(session, balance_row, PointsKind.SPEND, points, kind_source, key, reason)


def refund_spend(
    session: Session,
    user_id: int,
    source_type: PointsSource | str,
    source_id: str | int,
    reason: str,
    expires_at: datetime | None = None,
) -> PointsEntry | None:
    """Give back what a spend took (a cancelled redemption) as a new available lot, in the caller's unit of work.

    The refund is a positive `adjust` entry of the spend's own source, so there is at most one per
    spend: refunding again returns the first entry. None when the source has no spend.
    `lifetime_earned` is unchanged: a refund is not an earning.
    """
    kind_source, key = _source(source_type, source_id)
    _check_reason(reason)
    balance_row = _locked_balance(session, user_id)
    spent = _find(session, user_id, kind_source, key, PointsKind.SPEND)
    if spent is None:
        return None
    existing = _find(session, user_id, kind_source, key, PointsKind.ADJUST)
    if existing is not None:
        return existing
    now = utcnow()
    entry = PointsEntry(
        user_id=user_id,
        kind=PointsKind.ADJUST,
        points=-spent.points,
        reason=reason,
        source_type=kind_source,
        source_id=key,
        status=PointsStatus.AVAILABLE,
        available_at=now,
        expires_at=_aware(expires_at),
        remaining=-spent.points,
        created_at=now,
    )
    session.add(entry)
    balance_row.balance += entry.points
    session.flush()
    return entry


def reverse(
    session: Session, source_type: PointsSource | str, source_id: str | int, reason: str
) -> list[Reversal]:
    """Reverse the awards of a source (a refund) in the caller's unit of work; see the module policy.

    Returns one `Reversal` per user awarded for the source (none when nothing was awarded);
    reversing again returns the same figures and changes nothing.
    """
    kind_source, key = _source(source_type, source_id)
    _check_reason(reason)
    awards = session.execute(
        select(PointsEntry.id, PointsEntry.user_id)
        .where(
            PointsEntry.source_type == kind_source,
            PointsEntry.source_id == key,
            PointsEntry.kind == PointsKind.EARN,
        )
        .order_by(PointsEntry.user_id)
    ).all()
    return [_reverse_award(session, award_id, user_id, reason) for award_id, user_id in awards]


def adjust(
    actor_id: int,
    user_id: int,
    points: int,
    reason: str,
    *,
    reference: str | None = None,
    expiry_days: int = 0,
) -> PointsEntry:
    """An admin's correction of a user's points, audit-logged; `reference` makes it idempotent."""
    if points == 0:
        raise ValidationFailed("An adjustment cannot be zero.", errors={"points": ["Must not be 0."]})
    _check_reason(reason)
    source_id = reference or uuid.uuid4().hex
    with unit_of_work() as session:
        if session.get(User, user_id) is None:
            raise NotFound(f"User {user_id} does not exist.", errors={"user_id": ["Unknown user."]})
        balance_row = _locked_balance(session, user_id)
        existing = _find(session, user_id, PointsSource.ADMIN, source_id, PointsKind.ADJUST)
        if existing is not None:
            if (existing.points, existing.reason) != (points, reason):
                raise IdempotencyMismatch(
                    "This reference was used for another adjustment.",
                    errors={"reference": ["Already used with other points or reason."]},
                )
            return existing
        before = audit.snapshot(balance_row)
        if points > 0:
            now = utcnow()
            entry = PointsEntry(
                user_id=user_id,
                kind=PointsKind.ADJUST,
                points=points,
                reason=reason,
                source_type=PointsSource.ADMIN,
                source_id=source_id,
                status=PointsStatus.AVAILABLE,
                available_at=now,
                expires_at=award_dates(now, 0, expiry_days)[1],
                remaining=points,
                created_at=now,
            )
            session.add(entry)
            balance_row.balance += points
            session.flush()
        else:
            if balance_row.balance < -points:
                raise InsufficientPoints(
                    f"Cannot take {-points} points; the user has {balance_row.balance} available.",
                    available=balance_row.balance,
                    required=-points,
                )
            entry = _debit(
                session, balance_row, PointsKind.ADJUST, -points, PointsSource.ADMIN, source_id, reason
            )
        audit.record(
            session,
            actor_id,
            "points.adjust",
            "points_balance",
            user_id,
            before=before,
            after={**(audit.snapshot(balance_row) or {}), "entry": audit.snapshot(entry)},
        )
        return entry


def lock_balances(session: Session, user_ids: Iterable[int]) -> None:
    """Lock the balance rows of several users, in ascending id order, until the caller's transaction
    ends; a writer that touches many users' points takes their locks first, in this one order, so two
    such writers never wait for each other in a cycle."""
    for user_id in sorted(set(user_ids)):
        _locked_balance(session, user_id)


def release_pending(now: datetime | None = None, batch_size: int = DEFAULT_BATCH_SIZE) -> JobCounts:
    """Job: make pending points whose refund window has passed available; one transaction per batch of users."""
    now = _aware(now) or utcnow()
    due = select(PointsEntry.user_id).where(
        PointsEntry.status == PointsStatus.PENDING, PointsEntry.available_at <= now
    )
    return _run_job(due, lambda session, row: _release_lots(session, row, now), batch_size)


def expire_due(now: datetime | None = None, batch_size: int = DEFAULT_BATCH_SIZE) -> JobCounts:
    """Job: expire the unspent points of lots past their expiry; one transaction per batch of users."""
    now = _aware(now) or utcnow()
    due = select(PointsEntry.user_id).where(PointsEntry.remaining > 0, PointsEntry.expires_at <= now)
    return _run_job(due, lambda session, row: _expire_lots(session, row, now), batch_size)


def balance(user_id: int) -> PointsSummary:
    """The user's spendable balance, pending points and lifetime earned points."""
    session = read_session()
    try:
        row = session.get(PointsBalance, user_id)
        if row is None:
            return PointsSummary(0, 0, 0)
        return PointsSummary(row.balance, row.pending, row.lifetime_earned)
    finally:
        session.rollback()


def settled_in(session: Session, user_id: int, now: datetime | None = None) -> PointsSummary:
    """The user's points with every refund window still open at `now` left out: what a bank may read.

    `balance` adds the pending lots whose window has closed but that the release job has not made
    available yet (a spend would release them first); `lifetime_earned` leaves out the awards still
    inside their window, and `pending` is those awards. A lot is pending only as an earn not yet
    spent from, so the awards inside their window are exactly their remaining points.
    """
    now = _aware(now) or utcnow()
    row = session.get(PointsBalance, user_id)
    if row is None:
        return PointsSummary(0, 0, 0)
    open_window = (
        session.scalar(
            select(func.coalesce(func.sum(PointsEntry.remaining), 0)).where(
                PointsEntry.user_id == user_id,
                PointsEntry.status == PointsStatus.PENDING,
                PointsEntry.available_at > now,
            )
        )
        or 0
    )
    due = row.pending - open_window
    return PointsSummary(row.balance + due, open_window, row.lifetime_earned - open_window)


def settled(user_id: int, now: datetime | None = None) -> PointsSummary:
    """`settled_in` in a read transaction of its own."""
    session = read_session()
    try:
        return settled_in(session, user_id, now)
    finally:
        session.rollback()


def history(user_id: int, page: int = 1, page_size: int = 20) -> tuple[list[PointsEntry], int]:
    """One page of the user's ledger entries, newest first, and the total number of entries."""
    session = read_session()
    try:
        entries, total = objects_page(
            session,
            select(PointsEntry).where(PointsEntry.user_id == user_id).order_by(PointsEntry.id.desc()),
            page,
            page_size,
        )
        for entry in entries:
            session.expunge(entry)
        return entries, total
    finally:
        session.rollback()


def _source(source_type: PointsSource | str, source_id: str | int) -> tuple[PointsSource, str]:
    try:
        kind_source = PointsSource(source_type)
    except ValueError:
        raise ValidationFailed(
            f"Unknown points source {source_type!r}.",
            errors={"source_type": [f"One of {[s.value for s in PointsSource]}."]},
        ) from None
    key = str(source_id)
    if not key or len(key) > SOURCE_ID_MAX:
        raise ValidationFailed(
            "A source id is required.", errors={"source_id": [f"1 to {SOURCE_ID_MAX} characters."]}
        )
    return kind_source, key


def _check_reason(reason: str) -> None:
    if len(reason) > REASON_MAX:
        raise ValidationFailed(
            "The reason is too long.", errors={"reason": [f"At most {REASON_MAX} characters."]}
        )


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _locked_balance(session: Session, user_id: int) -> PointsBalance:
    """The user's balance row, created when missing, locked until the end of the transaction."""
    locked = (
        select(PointsBalance)
        .where(PointsBalance.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = session.execute(locked).scalar_one_or_none()
    if row is not None:
        return row
    # Two first writes for one user may race to create the row: the loser's insert does nothing.
    session.execute(
        _insert_for(session)(PointsBalance)
        .values(user_id=user_id, balance=0, pending=0, lifetime_earned=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    return session.execute(locked).scalar_one()


def _find(
    session: Session, user_id: int, source_type: PointsSource, source_id: str, kind: PointsKind
) -> PointsEntry | None:
    return session.scalars(
        select(PointsEntry).where(
            PointsEntry.user_id == user_id,
            PointsEntry.source_type == source_type,
            PointsEntry.source_id == source_id,
            PointsEntry.kind == kind,
        )
    ).one_or_none()


def _lots(session: Session, user_id: int, *conditions: ColumnElement[bool]) -> Sequence[PointsEntry]:
    # Lots change only under their user's balance lock, which the caller holds; refresh them
    # in case this session loaded them before it took the lock.
    return session.scalars(
        select(PointsEntry)
        .where(PointsEntry.user_id == user_id, PointsEntry.points > 0, *conditions)
        .order_by(PointsEntry.expires_at.asc().nulls_last(), PointsEntry.id)
        .execution_options(populate_existing=True)
    ).all()


def _draw(session: Session, debit: PointsEntry, lots: Sequence[PointsEntry], points: int) -> None:
    """Take `points` from `lots` in their order, recording one use per lot touched."""
    left = points
    for lot in lots:
        if left == 0:
            break
        taken = min(lot.remaining or 0, left)
        if taken == 0:
            continue
        lot.remaining = (lot.remaining or 0) - taken
        session.add(PointsUse(debit_id=debit.id, lot_id=lot.id, points=taken))
        left -= taken
    if left:
        raise RuntimeError(f"points ledger out of step: {left} points of entry {debit.id} found no lot")


def _debit(
    session: Session,
    balance_row: PointsBalance,
    kind: PointsKind,
    points: int,
    source_type: PointsSource,
    source_id: str,
    reason: str,
) -> PointsEntry:
    """Take `points` (> 0, within the balance) from the available lots as one negative entry."""
    entry = PointsEntry(
        user_id=balance_row.user_id,
        kind=kind,
        points=-points,
        reason=reason,
        source_type=source_type,
        source_id=source_id,
    )
    session.add(entry)
    session.flush()
    available = _lots(
        session, balance_row.user_id, PointsEntry.status == PointsStatus.AVAILABLE, PointsEntry.remaining > 0
    )
    _draw(session, entry, available, points)
    balance_row.balance -= points
    session.flush()
    return entry


def _release_lots(session: Session, balance_row: PointsBalance, now: datetime) -> JobCounts:
    lots = _lots(
        session,
        balance_row.user_id,
        PointsEntry.status == PointsStatus.PENDING,
        PointsEntry.available_at <= now,
    )
    points = 0
    for lot in lots:
        lot.status = PointsStatus.AVAILABLE
        points += lot.remaining or 0
    balance_row.pending -= points
    balance_row.balance += points
    session.flush()
    return JobCounts(len(lots), points)


def _expire_lots(session: Session, balance_row: PointsBalance, now: datetime) -> JobCounts:
    lots = _lots(session, balance_row.user_id, PointsEntry.remaining > 0, PointsEntry.expires_at <= now)
    points = 0
    for lot in lots:
        amount = lot.remaining or 0
        entry = PointsEntry(
            user_id=lot.user_id,
            kind=PointsKind.EXPIRE,
            points=-amount,
            reason=f"Expired: {lot.reason}"[:REASON_MAX],
            source_type=PointsSource.EXPIRY,
            source_id=str(lot.id),
        )
        session.add(entry)
        session.flush()
        _draw(session, entry, [lot], amount)
        if lot.status == PointsStatus.PENDING:
            balance_row.pending -= amount
        else:
            balance_row.balance -= amount
        points += amount
    session.flush()
    return JobCounts(len(lots), points)


def _run_job(
    due_users: Select, settle: Callable[[Session, PointsBalance], JobCounts], batch_size: int
) -> JobCounts:
    lots = points = 0
    while True:
        with unit_of_work() as session:
            user_ids = session.scalars(
                due_users.distinct().order_by(PointsEntry.user_id).limit(batch_size)
            ).all()
            for user_id in user_ids:  # ascending: a fixed lock order
                counts = settle(session, _locked_balance(session, user_id))
                lots += counts.lots
                points += counts.points
        if len(user_ids) < batch_size:
            return JobCounts(lots, points)


def _spent_from(session: Session, lot_id: int) -> int:
    """Points of the lot that spends (not expiries or reversals) have used."""
    return (
        session.scalar(
            select(func.coalesce(func.sum(PointsUse.points), 0))
            .join(PointsEntry, PointsEntry.id == PointsUse.debit_id)
            .where(PointsUse.lot_id == lot_id, PointsEntry.kind == PointsKind.SPEND)
        )
        or 0
    )


def _reverse_award(session: Session, award_id: int, user_id: int, reason: str) -> Reversal:
    balance_row = _locked_balance(session, user_id)
    lot = session.get_one(PointsEntry, award_id, populate_existing=True)
    source_type, source_id = lot.source_type, lot.source_id
    spent = _spent_from(session, lot.id)
    done = _find(session, user_id, source_type, source_id, PointsKind.REVERSE)
    if done is not None:
        clawback = _find(session, user_id, source_type, source_id, PointsKind.ADJUST)
        recovered = -clawback.points if clawback is not None else 0
        return Reversal(done, recovered, spent - recovered)

    taken = lot.remaining or 0
    entry = PointsEntry(
        user_id=user_id,
        kind=PointsKind.REVERSE,
        points=-taken,
        reason=reason,
        source_type=source_type,
        source_id=source_id,
    )
    session.add(entry)
    session.flush()
    _draw(session, entry, [lot], taken)
    if lot.status == PointsStatus.PENDING:
        balance_row.pending -= taken
    else:
        balance_row.balance -= taken
    balance_row.lifetime_earned -= lot.points

    recovered = min(spent, balance_row.balance)
    if recovered:
        _debit(
            session,
            balance_row,
            PointsKind.ADJUST,
            recovered,
            source_type,
            source_id,
            f"{reason} (already spent)"[:REASON_MAX],
        )
    session.flush()
    return Reversal(entry, recovered, spent - recovered)
