"""The per-area loss factor of land-use compensation, read from `data/forestry/land_use_compensation.json`.

The file holds the figure with its source and the policy paragraph it serves (Shuozhou's reply,
三、二是); this module only turns an occupied area into grams: area (m²) x factor (tCO2e/ha) x
100 g/m² per t/ha, in Decimal, rounded half-up to the gram once, at the end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "forestry" / "land_use_compensation.json"
GRAMS_PER_M2_PER_T_PER_HA = Decimal(100)  # 1 t/ha = 1,000,000 g / 10,000 m²


@dataclass(frozen=True)
class LossFactor:
    key: str
    t_co2e_per_ha: Decimal
    source: str
    policy: str

    def text(self) -> str:
        return f"{self.t_co2e_per_ha:f}"


@cache
def loss_factor() -> LossFactor:
    """The factor in force, with where it comes from."""
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    factor = data["factor"]
    source = factor["source"]
    policy = data["policy"]
    return LossFactor(
        key=factor["key"],
        t_co2e_per_ha=Decimal(factor["t_co2e_per_ha"]),
        source=f"{source['title']}, {source['publisher']}, {source['year']}"[:300],
        policy=f"{policy['title']} {policy['paragraph']}",
    )


def loss_grams(area_m2: int, factor: LossFactor | None = None) -> int:
    """Grams of CO2e of the forest vegetation on `area_m2` of occupied forest land."""
    factor = factor or loss_factor()
    grams = Decimal(area_m2) * factor.t_co2e_per_ha * GRAMS_PER_M2_PER_T_PER_HA
    return int(grams.quantize(Decimal(1), rounding=ROUND_HALF_UP))
