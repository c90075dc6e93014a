"""Green tiers (浅绿 / 中绿 / 深绿) by lifetime earned points, the figure banks price green loans on.

The tier follows `lifetime_earned` of the points ledger, not the balance: spending points on
rewards never lowers a tier; a refunded purchase does, since its points were never really earned.
Only settled points count: a purchase still inside its refund window lifts no tier (a bank prices
on the tier), so the user's own view shows those points apart, as `pending`.
Below the first threshold a user has no tier yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.points import points


@dataclass(frozen=True)
class Tier:
    code: str
    name: str
    min_points: int


@dataclass(frozen=True)
class TierPolicy:
    """Lifetime points needed for each tier; ascending."""

    light_green: int
    mid_green: int
    deep_green: int

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> TierPolicy:
        return cls(
            settings["TIER_LIGHT_GREEN_POINTS"],
            settings["TIER_MID_GREEN_POINTS"],
            settings["TIER_DEEP_GREEN_POINTS"],
        )

    @property
    def tiers(self) -> tuple[Tier, ...]:
        return (
            Tier("light_green", "浅绿", self.light_green),
            Tier("mid_green", "中绿", self.mid_green),
            Tier("deep_green", "深绿", self.deep_green),
        )


@dataclass(frozen=True)
class TierStatus:
    tier: Tier | None
    lifetime_earned: int
    next_tier: Tier | None
    points_to_next: int | None
    # Points of purchases still inside their refund window: not counted in `lifetime_earned` yet.
    pending: int = 0


def tier_status(lifetime_earned: int, policy: TierPolicy, pending: int = 0) -> TierStatus:
    """The tier reached with `lifetime_earned` points, the next one and the points still to earn for it."""
    reached = [tier for tier in policy.tiers if lifetime_earned >= tier.min_points]
    ahead = [tier for tier in policy.tiers if lifetime_earned < tier.min_points]
    current = reached[-1] if reached else None
    upcoming = ahead[0] if ahead else None
    to_go = upcoming.min_points - lifetime_earned if upcoming else None
    return TierStatus(current, lifetime_earned, upcoming, to_go, pending)


def my_tier(user_id: int, policy: TierPolicy) -> TierStatus:
    """The user's tier from their settled lifetime earned points, with their pending points apart."""
    settled = points.settled(user_id)
    return tier_status(settled.lifetime_earned, policy, settled.pending)
