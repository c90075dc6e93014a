"""Green tiers from lifetime points: thresholds, the next tier, and settings that cannot make sense."""

import pytest

from config import ConfigurationError, load_settings
from services.points.tiers import TierPolicy, tier_status

POLICY = TierPolicy(light_green=100, mid_green=1_000, deep_green=5_000)


@pytest.mark.parametrize(
    ("lifetime", "tier", "next_tier", "to_go"),
    [
        (0, None, "light_green", 100),
        (99, None, "light_green", 1),
        (100, "light_green", "mid_green", 900),
        (999, "light_green", "mid_green", 1),
        (1_000, "mid_green", "deep_green", 4_000),
        (4_999, "mid_green", "deep_green", 1),
        (5_000, "deep_green", None, None),
        (80_000, "deep_green", None, None),
    ],
)
def test_tier_and_points_to_the_next(lifetime, tier, next_tier, to_go):
    status = tier_status(lifetime, POLICY)
    assert (status.tier.code if status.tier else None) == tier
    assert (status.next_tier.code if status.next_tier else None) == next_tier
    assert status.points_to_next == to_go
    assert status.lifetime_earned == lifetime


def test_tier_names_are_the_banks_names():
    assert [tier.name for tier in POLICY.tiers] == ["浅绿", "中绿", "深绿"]


def test_thresholds_come_from_settings_and_must_rise():
    values = load_settings("testing", environ={"TIER_MID_GREEN_POINTS": "2000"})
    assert TierPolicy.from_settings(values).mid_green == 2_000
    with pytest.raises(ConfigurationError, match="TIER_"):
        load_settings("testing", environ={"TIER_DEEP_GREEN_POINTS": "1000"})
    with pytest.raises(ConfigurationError, match="TIER_"):
        load_settings("testing", environ={"TIER_LIGHT_GREEN_POINTS": "-1"})
