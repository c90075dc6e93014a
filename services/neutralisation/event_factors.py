"""Event accounting's view of the factor library: the current published factor set's factors and cities.

Events use the library's electricity (by grid), fuel, purchased-heat, accommodation (hotel nights),
food and meal (catering), material, waste and transport factors, each with its source, and its city
table for attendee travel. A source row records the factor-set version and factor key
it was computed with, so a later publication never changes a saved event. A travel mode is accepted
only when the set holds a cited factor under the mode's key (`TRAVEL_MODE_KEYS`); there is no
fallback figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import Session

from services.footprint import factor_library
from services.footprint.footprint_calculator import City, FactorTable, FactorValue, grams_per_unit
from services.kernel import geo
from services.kernel.errors import ValidationFailed

# Library categories whose factors event sources may use.
EVENT_CATEGORIES = (
    "accommodation",
    "electricity",
    "food",
    "fuel",
    "heat",
    "material",
    "meal",
    "transport",
    "waste",
)
# The fuels burnt by event vehicles; the other fuels are burnt at the venue.
VEHICLE_FUELS = ("fuel.gasoline", "fuel.diesel")
SOURCE_KIND_OF_CATEGORY = {
    "accommodation": "accommodation",  # per room per night
    "electricity": "venue_electricity",
    "food": "catering",  # food bought for the event's meals, per kg
    "fuel": "venue_fuel",
    "heat": "venue_heat",
    "material": "materials",  # per kg bought
    "meal": "catering",  # per meal served
    "transport": "travel",
    "waste": "waste",  # per kg, by how it is disposed of
}
# The source kinds a factor of each category may quantify (fuel: at the venue or in event vehicles).
SOURCE_KINDS_OF_CATEGORY = {
    "accommodation": frozenset({"accommodation"}),
    "electricity": frozenset({"venue_electricity"}),
    "food": frozenset({"catering"}),
    "fuel": frozenset({"venue_fuel", "vehicles"}),
    "heat": frozenset({"venue_heat"}),
    "material": frozenset({"materials"}),
    "meal": frozenset({"catering"}),
    "transport": frozenset({"travel"}),
    "waste": frozenset({"waste"}),
}
# Attendee-list travel mode → the library key of its per-passenger-km factor. A mode whose key the
# current set lacks is refused; a cited row under that key (and a new publication) enables it.
TRAVEL_MODE_KEYS = {
    "flight": "transport.flight.domestic",
    "hsr": "transport.rail.high_speed",
    "rail": "transport.rail.conventional",
    "car": "transport.car.private",
    "bus": "transport.bus.intercity",
    "metro": "transport.metro",
}
DISTANCE_METHOD = (
    "Between the city centres of the factor library's city table (WGS 84, to 0.01°): "
    f"{geo.METHOD}; doubled for a return trip; no detour uplift."
)


@dataclass(frozen=True)
class EventFactor:
    """One library factor as event accounting uses it: kg CO2(e) per activity unit, with its source."""

    key: str
    category: str
    source_kind: str
    kg_per_unit: Decimal
    activity_unit: str
    source: str
    source_url: str
    year: int | None
    factor_set_version: int


def event_factor(value: FactorValue, version: int) -> EventFactor:
    """The library factor in kg per activity unit (`30.48 gCO2/pkm` → 0.03048 kg per pkm), exactly."""
    grams, activity_unit = grams_per_unit(value.unit)
    kind = SOURCE_KIND_OF_CATEGORY[value.category]
    if value.key in VEHICLE_FUELS:
        kind = "vehicles"
    return EventFactor(
        key=value.key,
        category=value.category,
        source_kind=kind,
        kg_per_unit=value.value * (grams / 1000),
        activity_unit=activity_unit,
        source=value.source,
        source_url=value.source_url,
        year=value.year,
        factor_set_version=version,
    )


@dataclass(frozen=True)
class EventFactors:
    """The factors and cities of one published factor set, for event accounting."""

    table: FactorTable
    factors: dict[str, EventFactor] = field(init=False)

    def __post_init__(self) -> None:
        factors = {
            key: event_factor(value, self.table.version)
            for key, value in sorted(self.table.factors.items())
            if value.category in EVENT_CATEGORIES
        }
        object.__setattr__(self, "factors", factors)

    @property
    def version(self) -> int:
        return self.table.version

    def factor(self, key: str) -> EventFactor | None:
        return self.factors.get(key)

    def travel_modes(self) -> dict[str, str]:
        """Travel mode → factor key, for the modes this set has a cited factor for."""
        return {mode: key for mode, key in TRAVEL_MODE_KEYS.items() if key in self.factors}

    def city(self, name: str) -> City | None:
        """A city by its id or Chinese name (`fuzhou`, `Fuzhou`, `福州`, `福州市`)."""
        return self.table.city(name)

    def require_city(self, name: str, field_name: str) -> City:
        city = self.city(name)
        if city is None:
            raise ValidationFailed(
                f"{name!r} is not in the city table of factor set version {self.version}.",
                errors={field_name: [f"unknown city {name!r}"]},
            )
        return city


def distance_km(origin: City, destination: City) -> Decimal:
    """Great-circle distance between two city centres (`services.kernel.geo`)."""
    return geo.great_circle_km(origin.lat, origin.lon, destination.lat, destination.lon)


def current_in(session: Session) -> EventFactors:
    """The current published factor set for events; 409 when none is published yet."""
    return EventFactors(factor_library.current_table_in(session))
