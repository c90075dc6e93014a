"""Reduction factors of low-carbon actions, read from `data/methodology/low_carbon_actions.json`.

The file holds every factor with its source; this module only turns actions into grams:
reduction = saving factor (g per passenger-km) x distance, in Decimal, rounded half-up to the
gram once, at the end. Walking is credited as the bus travel it could replace (see the file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from models import ActionKind

METHODOLOGY_FILE = Path(__file__).resolve().parents[2] / "data" / "methodology" / "low_carbon_actions.json"
METRES_PER_KM = Decimal(1000)


@dataclass(frozen=True)
class Factor:
    """How one kind of action is credited: `methodology` names the entry in the data file."""

    kind: ActionKind
    methodology: str
    saving_g_per_pkm: Decimal
    stride_m: Decimal | None = None  # walking only


def _grams(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@cache
def factors() -> dict[ActionKind, Factor]:
    """Every credited kind of action and its factor, from the methodology file."""
    data = json.loads(METHODOLOGY_FILE.read_text(encoding="utf-8"))
    trips = data["trips"]
    table = {
        ActionKind(kind): Factor(ActionKind(kind), entry["methodology"], Decimal(entry["saving_g_per_pkm"]))
        for kind, entry in trips.items()
    }
    walking = data["walking"]
    table[ActionKind.STEPS] = Factor(
        ActionKind.STEPS,
        walking["methodology"],
        Decimal(trips[walking["credited_as"]]["saving_g_per_pkm"]),
        Decimal(walking["stride_m"]),
    )
    return table


def steps_to_metres(steps: int) -> Decimal:
    """The distance of `steps` at the methodology's stride length."""
    stride = factors()[ActionKind.STEPS].stride_m
    assert stride is not None
    return Decimal(steps) * stride


def reduction_for_steps(steps: int) -> int:
    """Grams of CO2e credited for walking `steps` in a day."""
    factor = factors()[ActionKind.STEPS]
    return _grams(steps_to_metres(steps) / METRES_PER_KM * factor.saving_g_per_pkm)


def reduction_for_trip(kind: ActionKind, metres: int) -> int:
    """Grams of CO2e credited for a bus or metro trip of `metres`."""
    factor = factors()[kind]
    return _grams(Decimal(metres) / METRES_PER_KM * factor.saving_g_per_pkm)


def reduction_for(kind: ActionKind, quantity: int) -> int:
    """Grams credited for `quantity` (steps for walking, metres for trips) of an action of `kind`."""
    return reduction_for_steps(quantity) if kind == ActionKind.STEPS else reduction_for_trip(kind, quantity)


def methodology_of(kind: ActionKind) -> str:
    return factors()[kind].methodology
