"""The price of one sale unit: the tonne price pro rata, rounded up to the fen."""

import pytest

from services.catalogue import unit_price_fen


@pytest.mark.parametrize(
    ("price_fen_per_t", "unit_g", "expected"),
    [
        (10_000, 10_000, 100),  # ¥100/t: 10 kg for ¥1, Shunchang's one-yuan carbon sink
        (1_500, 10_000, 15),  # ¥15/t forestry carbon ticket
        (1_234, 10_000, 13),  # 12.34 fen rounds up
        (1, 10_000, 1),  # a hundredth of a fen still costs one fen
        (0, 10_000, 0),
        (10_000, 1_000_000, 10_000),  # one whole tonne
        (99_999_999, 999_999, 99_999_900),  # 99,999,899.000001 rounds up; no float error
    ],
)
def test_unit_price_rounds_up_to_the_fen(price_fen_per_t, unit_g, expected):
    assert unit_price_fen(price_fen_per_t, unit_g) == expected
