"""What an order charges: the unit price pro rata, rounded up to the fen, the same for every product."""

import pytest

from services.sales import pricing
from services.sales.order_policy import OrderPolicy


@pytest.mark.parametrize(
    ("price_fen_per_t", "grams", "expected"),
    [
        (10_000, 10_000, 100),  # ¥100/t: 10 kg for ¥1
        (1_500, 10_000, 15),  # ¥15/t forestry carbon ticket
        (1_234, 10_000, 13),  # 12.34 fen rounds up
        (1, 10_000, 1),  # a hundredth of a fen still costs one fen
        (10_000, 1_000_000, 10_000),  # one whole tonne
        (99_999_999, 999_999, 99_999_900),  # 99,999,899.000001 rounds up; no float error
    ],
)
def test_credits_charge_the_tonne_price_pro_rata_rounded_up(price_fen_per_t, grams, expected):
    offer = pricing.credits(price_fen_per_t)
    assert offer is not None and offer.price_fen_per_t == price_fen_per_t
    assert offer.charge_fen(grams) == expected


def test_a_project_without_a_price_sells_no_credits():
    assert pricing.credits(0) is None


@pytest.mark.parametrize(("unit_g", "unit_price_fen"), [(10_000, 100), (3_333, 100), (10_000, 7)])
def test_one_yuan_charges_its_fixed_unit_price_per_unit(unit_g, unit_price_fen):
    offer = pricing.one_yuan(OrderPolicy(unit_g=unit_g, unit_price_fen=unit_price_fen))
    for units in (1, 2, 999):
        assert offer.charge_fen(units * unit_g) == units * unit_price_fen
