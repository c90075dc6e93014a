"""Plain-language equivalents of an amount of CO2e, each from one cited factor.

A certificate says "10 kg CO2e"; few readers can picture that. The equivalent restates it as the
grid electricity whose generation emits as much: the national average grid factor of the Ministry
of Ecology and Environment (生态环境部) and the National Bureau of Statistics (国家统计局), 2023,
0.5306 kgCO2/kWh, the row `electricity.grid.national` of the factor library (data/factors). A test
holds the figure here to that row, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

GRID_FACTOR_KEY = "electricity.grid.national"
GRID_KG_PER_KWH = Decimal("0.5306")
GRID_FACTOR_YEAR = 2023
GRID_FACTOR_SOURCE = "生态环境部、国家统计局 2023 年全国电网平均排放因子 0.5306 kgCO2/kWh"


@dataclass(frozen=True)
class Equivalent:
    """An amount restated: `text` for people, `value` and `unit` for machines, `source` cited."""

    value: Decimal
    unit: str
    text: str
    source: str


def _figure(value: Decimal) -> str:
    """Three significant figures at most below 100, whole numbers above, thousands separated."""
    if value >= 100:
        return f"{value.quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"
    if value >= 10:
        return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):,}"
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


def grid_electricity(grams: int) -> Equivalent:
    """The kilowatt-hours (度) of national-grid electricity that emit `grams` of CO2e."""
    kwh = Decimal(grams) / 1000 / GRID_KG_PER_KWH
    figure = _figure(kwh)
    return Equivalent(
        value=kwh,
        unit="kWh",
        text=f"相当于全国电网 {figure} 度电的碳排放",
        source=f"按{GRID_FACTOR_SOURCE}折算",
    )
