"""Forfeiture: a deleted account's unspent points, available and pending, lapse in one ledger entry.

The entry is an `expire` of source `account_deletion` (the deletion request's id), so it is written
once per deletion, draws from every lot that has points left (one `PointsUse` per lot, as any
negative entry does) and leaves the balance and the pending points at zero. `lifetime_earned` is
kept: it is what the user earned, and the ledger that explains it stays, pseudonymous.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from models import PointsEntry, PointsKind, PointsSource, PointsStatus
from services.points.points import _draw, _find, _locked_balance, _lots

REASON = "Forfeited: the account was deleted"


@dataclass(frozen=True)
class Forfeiture:
    available: int
    pending: int

    @property
    def points(self) -> int:
        return self.available + self.pending


def forfeit_all_in(session: Session, user_id: int, deletion_id: int) -> Forfeiture:
    """Forfeit every unspent point of the user in the caller's unit of work; again for the same
    deletion, nothing more happens (the first forfeiture's figures come back as zero)."""
    balance_row = _locked_balance(session, user_id)
    key = str(deletion_id)
    if _find(session, user_id, PointsSource.ACCOUNT_DELETION, key, PointsKind.EXPIRE) is not None:
        return Forfeiture(0, 0)
    lots = _lots(session, user_id, PointsEntry.remaining > 0)
    available = sum(lot.remaining or 0 for lot in lots if lot.status == PointsStatus.AVAILABLE)
    pending = sum(lot.remaining or 0 for lot in lots if lot.status == PointsStatus.PENDING)
    if available + pending == 0:
        return Forfeiture(0, 0)
    entry = PointsEntry(
        user_id=user_id,
        kind=PointsKind.EXPIRE,
        points=-(available + pending),
        reason=REASON,
        source_type=PointsSource.ACCOUNT_DELETION,
        source_id=key,
    )
    session.add(entry)
    session.flush()
    _draw(session, entry, lots, available + pending)
    balance_row.balance -= available
    balance_row.pending -= pending
    session.flush()
    return Forfeiture(available, pending)
