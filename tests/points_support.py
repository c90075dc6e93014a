"""Helpers of the carbon points tests: users, tokens and the ledger's invariants."""

from __future__ import annotations

from sqlalchemy import func, select

from models import PointsBalance, PointsEntry, PointsKind, PointsStatus, PointsUse, Role, User
from models.database import read_session, unit_of_work
from services.accounts.tokens import issue_token_in


def make_user(name: str, role: Role = Role.USER) -> int:
    with unit_of_work() as session:
        user = User(username=name, role=role)
        session.add(user)
        session.flush()
        return user.id


def token_for(user_id: int) -> str:
    with unit_of_work() as session:
        return issue_token_in(session, session.get(User, user_id), 3600).token


def entries_sum(user_id: int) -> int:
    session = read_session()
    total = session.scalar(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(PointsEntry.user_id == user_id)
    )
    session.rollback()
    return total


def check_ledger(user_id: int) -> PointsBalance:
    """Assert every invariant of one user's ledger; return the balance row."""
    session = read_session()
    session.expire_all()
    row = session.get(PointsBalance, user_id)
    entries = session.scalars(select(PointsEntry).where(PointsEntry.user_id == user_id)).all()
    uses = session.scalars(
        select(PointsUse)
        .join(PointsEntry, PointsEntry.id == PointsUse.lot_id)
        .where(PointsEntry.user_id == user_id)
    ).all()
    used_of_lot: dict[int, int] = {}
    used_by_debit: dict[int, int] = {}
    for use in uses:
        used_of_lot[use.lot_id] = used_of_lot.get(use.lot_id, 0) + use.points
        used_by_debit[use.debit_id] = used_by_debit.get(use.debit_id, 0) + use.points
    lots = [e for e in entries if e.points > 0]
    debits = [e for e in entries if e.points <= 0]
    for lot in lots:
        assert lot.points == lot.remaining + used_of_lot.get(lot.id, 0), lot.id
    for debit in debits:
        assert -debit.points == used_by_debit.get(debit.id, 0), debit.id
    available = sum(lot.remaining for lot in lots if lot.status == PointsStatus.AVAILABLE)
    pending = sum(lot.remaining for lot in lots if lot.status == PointsStatus.PENDING)
    earned = sum(e.points for e in entries if e.kind == PointsKind.EARN)
    reversed_sources = {(e.source_type, e.source_id) for e in entries if e.kind == PointsKind.REVERSE}
    reversed_earned = sum(
        e.points
        for e in entries
        if e.kind == PointsKind.EARN and (e.source_type, e.source_id) in reversed_sources
    )
    if row is None:
        assert entries == []
    else:
        assert row.balance >= 0
        assert row.balance == available
        assert row.pending == pending
        assert row.balance + row.pending == sum(e.points for e in entries)
        assert row.lifetime_earned == earned - reversed_earned
    session.rollback()
    return row
