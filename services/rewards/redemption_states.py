"""The redemption state machine: the allowed moves and the timestamp each one records, in one place.

pending → issued → used; pending or issued → cancelled. A redemption that hands out a coupon
code is issued at once (the user has the code); others wait for an admin to issue them.
"""

from __future__ import annotations

from datetime import datetime

from models import Redemption, RedemptionState
from services.kernel.errors import InvalidState

ALLOWED: dict[RedemptionState, frozenset[RedemptionState]] = {
    RedemptionState.PENDING: frozenset({RedemptionState.ISSUED, RedemptionState.CANCELLED}),
    RedemptionState.ISSUED: frozenset({RedemptionState.USED, RedemptionState.CANCELLED}),
    RedemptionState.USED: frozenset(),
    RedemptionState.CANCELLED: frozenset(),
}

TIMESTAMP_FIELD: dict[RedemptionState, str] = {
    RedemptionState.ISSUED: "issued_at",
    RedemptionState.USED: "used_at",
    RedemptionState.CANCELLED: "cancelled_at",
}


def can_move(current: RedemptionState, target: RedemptionState) -> bool:
    return target in ALLOWED[current]


def move(redemption: Redemption, target: RedemptionState, now: datetime) -> None:
    """Move `redemption` to `target` and stamp the time, or raise InvalidState."""
    current = RedemptionState(redemption.state)
    if not can_move(current, target):
        raise InvalidState(
            f"A {current.value} redemption cannot become {target.value}.",
            state=current.value,
            allowed=sorted(s.value for s in ALLOWED[current]),
        )
    redemption.state = target
    setattr(redemption, TIMESTAMP_FIELD[target], now)
