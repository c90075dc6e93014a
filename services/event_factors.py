"""Emission factors and city coordinates of event accounting, read from `data/event_factors.json`.

Every factor carries its source and year; a travel mode without a cited factor in the table is
refused rather than guessed. Distances are great-circle distances between city centres, rounded to
0.1 km, so that the rest of the arithmetic is exact in Decimal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from services import geo

DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "event_factors.json"


@dataclass(frozen=True)
class Factor:
    key: str
    source_kind: str
    kg_per_unit: Decimal
    activity_unit: str
    source: str
    year: int | None


@dataclass(frozen=True)
class City:
    name: str
    zh: str
    lat: float
    lon: float


@cache
def _data() -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


@cache
def factors() -> dict[str, Factor]:
    data = _data()
    return {
        key: Factor(
            key=key,
            source_kind=row["source_kind"],
            kg_per_unit=Decimal(row["kg_per_unit"]),
            activity_unit=row["activity_unit"],
            source=f"{row['source']} ({row['year']})" if row["year"] else row["source"],
            year=row["year"],
        )
        for key, row in data["factors"].items()
    }


@cache
def travel_modes() -> dict[str, str]:
    """Travel mode → factor key, for the modes the table has a cited factor for."""
    return dict(_data()["travel_modes"])


@cache
def _cities() -> tuple[dict[str, City], str]:
    data = _data()
    by_name: dict[str, City] = {}
    for name, row in data["cities"].items():
        city = City(name, row["zh"], float(row["lat"]), float(row["lon"]))
        by_name[name.casefold()] = city
        by_name[row["zh"]] = city
        by_name[row["zh"] + "市"] = city
    return by_name, data["cities_source"]


def find_city(name: str) -> City | None:
    """A city by its English or Chinese name (case-insensitive; "福州" and "福州市" both match)."""
    return _cities()[0].get(name.strip().casefold()) or _cities()[0].get(name.strip())


def coordinates_source() -> str:
    return _cities()[1]


def distance_km(origin: City, destination: City) -> Decimal:
    """Great-circle distance between two city centres by the project's one convention (`services.geo`)."""
    return geo.great_circle_km(origin.lat, origin.lon, destination.lat, destination.lon)
