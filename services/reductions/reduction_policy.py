"""The settings that shape reduction batches and their proceeds, read once when the process starts.

The composition root (`bootstrap.start`) configures the policy from the settings; the order effects
read it, since the facts they receive carry only the sales context's policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PERMILLE = 1_000


@dataclass(frozen=True)
class ReductionPolicy:
    # What the operator keeps of each sale, per mille of its fen (rounded down: rounding favours users).
    operator_share_permille: int = 100
    # Points a contributor gets per fen of the shared proceeds.
    points_per_fen: int = 1
    # Days after a month ends until its actions can no longer change (WeRun uploads reach this far back).
    settle_days: int = 30
    # Proceeds points stay pending through the buyer's refund window, and expire like other points.
    points_pending_days: int = 7
    points_expiry_days: int = 365

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ReductionPolicy:
        return cls(
            operator_share_permille=settings["REDUCTION_OPERATOR_SHARE_PERMILLE"],
            points_per_fen=settings["REDUCTION_POINTS_PER_FEN"],
            settle_days=settings["ACTION_MAX_AGE_DAYS"],
            points_pending_days=settings["POINTS_PENDING_DAYS"],
            points_expiry_days=settings["POINTS_EXPIRY_DAYS"],
        )

    def operator_fen(self, amount_fen: int) -> int:
        """The operator's part of `amount_fen`, rounded down to the fen."""
        return amount_fen * self.operator_share_permille // PERMILLE


_policy = ReductionPolicy()


def configure(policy: ReductionPolicy) -> None:
    """Use `policy` in this process (called by the composition root)."""
    global _policy
    _policy = policy


def current() -> ReductionPolicy:
    """The policy this process runs on."""
    return _policy
