"""Pure rules of carbon points: points for an offset, the dates of an award."""

from datetime import UTC, datetime, timedelta

import pytest

from services.kernel.errors import ValidationFailed
from services.points.points import award_dates, points_for_offset


@pytest.mark.parametrize(
    ("grams", "per_kg", "points"),
    [(10_000, 1, 10), (999, 1, 0), (1_000, 1, 1), (2_500, 3, 7), (1_000_000, 2, 2_000), (0, 5, 0)],
)
def test_points_for_offset_rounds_down_to_whole_points(grams, per_kg, points):
    assert points_for_offset(grams, per_kg) == points


def test_points_for_offset_refuses_negative_input():
    with pytest.raises(ValidationFailed):
        points_for_offset(-1, 1)
    with pytest.raises(ValidationFailed):
        points_for_offset(1_000, -1)


def test_award_dates_count_from_the_award_and_zero_means_none():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert award_dates(now, 7, 365) == (now + timedelta(days=7), now + timedelta(days=365))
    assert award_dates(now, 0, 0) == (None, None)
