"""The personal footprint calculator: pure arithmetic over one factor set, no I/O.

Every item is `amount × factor` (× a conversion such as a fuel's density), computed in Decimal and
rounded half-up to the gram once, at the end of that item. The total is defined as the sum of the
rounded items, so that the total always equals the sum of the items shown; it may differ from
rounding the unrounded sum by at most half a gram per item.

Inputs (amounts are Decimal, int or decimal strings; every section is optional):

    {"province": "fujian" | "福建", "city": "shunchang" | "顺昌",
     "home": {"electricity_kwh", "natural_gas_m3", "lpg_kg"},
     "transport": {"fuel": [{"fuel": "gasoline"|"diesel"|"lpg", "amount", "unit": "L"|"kg"}],
                   "car_km", "electric_car_kwh", "metro_km", "high_speed_rail_km",
                   "flights": [{"from", "to", "round_trip": bool, "trips": int}]},
     "diet": {"food": [{"item": "beef", "kg"}]}}

Bad inputs raise `FootprintInputError` whose `errors` name each field by its path in the inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from services.kernel import geo
from services.sales import pricing

GRAMS_PER_MASS_UNIT = {"g": Decimal(1), "kg": Decimal(1_000), "t": Decimal(1_000_000)}
EMISSION_GASES = ("CO2e", "CO2")
PERIOD_MONTHS = {"month": 1, "year": 12}
FUELS = ("gasoline", "diesel", "lpg")
FUEL_UNITS = ("L", "kg")
PLACE_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区", "省", "市", "县", "区")

# The most a person plausibly uses in one month; a year allows twelve times as much.
MONTHLY_LIMITS: dict[str, Decimal] = {
    "home.electricity_kwh": Decimal(10_000),
    "home.natural_gas_m3": Decimal(2_000),
    "home.lpg_kg": Decimal(500),
    "transport.fuel.L": Decimal(2_000),
    "transport.fuel.kg": Decimal(1_500),
    "transport.car_km": Decimal(20_000),
    "transport.electric_car_kwh": Decimal(5_000),
    "transport.metro_km": Decimal(10_000),
    "transport.high_speed_rail_km": Decimal(50_000),
    "transport.flights.trips": Decimal(100),
    "diet.food.kg": Decimal(300),
}

GRID_KEY = "electricity.grid.{region}"
NATIONAL_GRID_KEY = "electricity.grid.national"
BENCHMARK_KEY = "benchmark.national_per_capita"
FLIGHT_KEY = "transport.flight.domestic"
FLIGHT_BANDS = (  # (upper bound of the great-circle distance in km, correction factor key)
    (Decimal(550), "flight.gcd_correction.under_550km"),
    (Decimal(5500), "flight.gcd_correction.550_to_5500km"),
    (None, "flight.gcd_correction.over_5500km"),
)
DISTANCE_ITEMS = (  # (input name, factor key, activity)
    ("car_km", "transport.car.private", "car"),
    ("metro_km", "transport.metro", "metro"),
    ("high_speed_rail_km", "transport.rail.high_speed", "high-speed rail"),
)
CATEGORIES = ("home", "transport", "diet")


class FootprintInputError(ValueError):
    """Inputs the calculator cannot use; `errors` is nested like the inputs, lists of messages at leaves."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("invalid footprint inputs")
        self.errors = errors


@dataclass(frozen=True)
class FactorValue:
    key: str
    category: str
    activity: str
    unit: str
    value: Decimal
    region: str = ""
    year: int | None = None
    source: str = ""
    source_url: str = ""


@dataclass(frozen=True)
class Province:
    id: str
    name_zh: str
    grid_region: str


@dataclass(frozen=True)
class City:
    id: str
    name_zh: str
    province: str
    lat: Decimal
    lon: Decimal


@dataclass(frozen=True)
class FactorTable:
    """One published factor set, as the calculator sees it."""

    version: int
    factors: Mapping[str, FactorValue]
    provinces: Mapping[str, Province] = field(default_factory=dict)
    cities: Mapping[str, City] = field(default_factory=dict)
    _province_names: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    _city_names: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for names, rows in ((self._province_names, self.provinces), (self._city_names, self.cities)):
            for row in rows.values():
                names[row.id.lower()] = row.id
                names[row.name_zh] = row.id

    def province(self, name: str) -> Province | None:
        found = _lookup(self._province_names, name)
        return self.provinces[found] if found else None

    def city(self, name: str) -> City | None:
        found = _lookup(self._city_names, name)
        return self.cities[found] if found else None

    def food_items(self) -> list[str]:
        return sorted(key.removeprefix("food.") for key in self.factors if key.startswith("food."))


def _lookup(names: Mapping[str, str], name: str) -> str | None:
    name = name.strip()
    if name.lower() in names:
        return names[name.lower()]
    for suffix in PLACE_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in names:
            return names[name[: -len(suffix)]]
    return None


@dataclass(frozen=True)
class Item:
    category: str
    activity: str
    factor: FactorValue
    amount: Decimal
    amount_unit: str
    exact_g: Decimal
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def grams(self) -> int:
        return round_half_up(self.exact_g)

    def as_json(self) -> dict[str, Any]:
        return {
            "activity": self.activity,
            "factor_key": self.factor.key,
            "amount": _text(self.amount),
            "amount_unit": self.amount_unit,
            "factor_value": format(self.factor.value, "f"),
            "factor_unit": self.factor.unit,
            "grams": self.grams,
            "source": self.factor.source,
            "source_url": self.factor.source_url,
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class Footprint:
    """The result: items by category, the total, a comparison and the suggested offset."""

    factor_set_version: int
    period_type: str
    items: tuple[Item, ...]
    comparison: Mapping[str, Any] | None
    offset: Mapping[str, int]
    place: Mapping[str, str] | None = None

    @property
    def total_g(self) -> int:
        return sum(item.grams for item in self.items)

    def category_total(self, category: str) -> int:
        return sum(item.grams for item in self.items if item.category == category)

    def as_json(self) -> dict[str, Any]:
        return {
            "factor_set_version": self.factor_set_version,
            "period_type": self.period_type,
            "total_g": self.total_g,
            "categories": [
                {
                    "category": category,
                    "total_g": self.category_total(category),
                    "items": [item.as_json() for item in self.items if item.category == category],
                }
                for category in CATEGORIES
            ],
            "comparison": dict(self.comparison) if self.comparison else None,
            "offset": dict(self.offset),
            "place": dict(self.place) if self.place else None,
        }


def round_half_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def _text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def grams_per_unit(unit: str) -> tuple[Decimal, str]:
    """`kgCO2e/kWh` → (1000, "kWh"): grams of CO2 per one activity unit, and that unit."""
    mass_gas, sep, activity_unit = unit.partition("/")
    if not sep or not activity_unit:
        raise ValueError(f"unit {unit!r} is not mass/activity")
    for gas in EMISSION_GASES:
        if mass_gas.endswith(gas) and mass_gas[: -len(gas)] in GRAMS_PER_MASS_UNIT:
            return GRAMS_PER_MASS_UNIT[mass_gas[: -len(gas)]], activity_unit
    raise ValueError(f"unit {unit!r} does not start with g, kg or t of CO2 or CO2e")


def great_circle_km(a: City, b: City) -> Decimal:
    """Great-circle distance between two cities by the project's one convention (`services.kernel.geo`)."""
    return geo.great_circle_km(a.lat, a.lon, b.lat, b.lon)


class _Errors:
    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: Iterable[str | int], message: str) -> None:
        node = self.tree
        *parents, leaf = [str(p) for p in path]
        for part in parents:
            node = node.setdefault(part, {})
        node.setdefault(leaf, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.tree)


class _Calculation:
    def __init__(self, table: FactorTable, period_type: str) -> None:
        self.table = table
        self.months = PERIOD_MONTHS[period_type]
        self.errors = _Errors()
        self.items: list[Item] = []

    def factor(self, key: str, path: tuple[str | int, ...]) -> FactorValue | None:
        factor = self.table.factors.get(key)
        if factor is None:
            self.errors.add(path, f"not supported by factor set version {self.table.version} (no {key})")
        return factor

    def amount(self, value: Any, path: tuple[str | int, ...], limit_key: str, unit: str) -> Decimal | None:
        """A non-negative amount within the plausible limit of the period, or None after an error."""
        if value is None:
            return None
        try:
            amount = value if isinstance(value, Decimal) else Decimal(str(value))
        except (InvalidOperation, ValueError):
            self.errors.add(path, "must be a number")
            return None
        if isinstance(value, bool) or not amount.is_finite():
            self.errors.add(path, "must be a number")
            return None
        if amount < 0:
            self.errors.add(path, "must not be negative")
            return None
        limit = MONTHLY_LIMITS[limit_key] * self.months
        if amount > limit:
            period = "a month" if self.months == 1 else "a year"
            self.errors.add(path, f"must be at most {limit:,} {unit} in {period}")
            return None
        return amount

    def add(
        self,
        category: str,
        activity: str,
        factor: FactorValue,
        amount: Decimal,
        amount_unit: str,
        path: tuple[str | int, ...],
        conversion: Decimal = Decimal(1),
        details: Mapping[str, Any] | None = None,
        per: str | None = None,
    ) -> None:
        """Add `amount × conversion × factor` as an item; the factor must be per `per` (or the amount's unit)."""
        try:
            per_unit, activity_unit = grams_per_unit(factor.unit)
        except ValueError as exc:
            self.errors.add(path, f"factor {factor.key} is unusable: {exc}")
            return
        if activity_unit != (per or amount_unit):
            self.errors.add(path, f"factor {factor.key} is per {activity_unit}, not per {per or amount_unit}")
            return
        if amount > 0:
            exact = amount * conversion * factor.value * per_unit
            self.items.append(Item(category, activity, factor, amount, amount_unit, exact, details or {}))


def calculate(
    inputs: Mapping[str, Any],
    table: FactorTable,
    period_type: str = "month",
    unit_g: int = 10_000,
    unit_price_fen: int = 100,
    default_place: Iterable[str] = (),
) -> Footprint:
    """Compute a footprint for one month or one year from `inputs` with the factors of `table`.

    `default_place` are names (city or province) tried, in order, when the inputs name neither;
    without any, electricity uses the national average grid factor.
    """
    if period_type not in PERIOD_MONTHS:
        raise FootprintInputError({"period_type": ["must be month or year"]})
    with localcontext() as ctx:
        ctx.prec = 50
        calc = _Calculation(table, period_type)
        grid, place = _grid_factor(calc, inputs, default_place)
        _home(calc, inputs.get("home") or {}, grid)
        _transport(calc, inputs.get("transport") or {}, grid)
        _diet(calc, inputs.get("diet") or {})
        if calc.errors:
            raise FootprintInputError(calc.errors.tree)
        items = tuple(calc.items)
        total = sum(item.grams for item in items)
        return Footprint(
            factor_set_version=table.version,
            period_type=period_type,
            items=items,
            comparison=_comparison(table, total, calc.months),
            offset=suggested_offset(total, unit_g, unit_price_fen),
            place=place,
        )


def suggested_offset(total_g: int, unit_g: int, unit_price_fen: int) -> dict[str, int]:
    """Whole one-yuan units covering `total_g` (rounded up) and what their order charges."""
    units = -(-total_g // unit_g)
    grams = units * unit_g
    price = pricing.Offer(pricing.ONE_YUAN, unit_g, unit_price_fen).charge_fen(grams)
    return {"units": units, "unit_g": unit_g, "grams": grams, "price_fen": price}


def _grid_factor(
    calc: _Calculation, inputs: Mapping[str, Any], default_place: Iterable[str]
) -> tuple[FactorValue | None, dict[str, str] | None]:
    """The grid factor of the user's province, and where it came from (None: not known, national)."""
    table = calc.table
    province: Province | None = None
    origin = "form"
    if inputs.get("province"):
        province = table.province(str(inputs["province"]))
        if province is None:
            calc.errors.add(("province",), "unknown province")
            return None, None
    elif inputs.get("city"):
        city = table.city(str(inputs["city"]))
        if city is None:
            calc.errors.add(("city",), "unknown city")
            return None, None
        province = table.provinces.get(city.province)
    else:
        origin = "profile"
        for name in default_place:
            if not name:
                continue
            city = table.city(name)
            province = table.provinces.get(city.province) if city else table.province(name)
            if province is not None:
                break
    key = GRID_KEY.format(region=province.grid_region) if province is not None else None
    if province is not None and key in table.factors:
        place = {"province": province.id, "grid_region": province.grid_region, "from": origin}
        return table.factors[key], place
    return table.factors.get(NATIONAL_GRID_KEY), None


def _home(calc: _Calculation, home: Mapping[str, Any], grid: FactorValue | None) -> None:
    kwh = calc.amount(home.get("electricity_kwh"), ("home", "electricity_kwh"), "home.electricity_kwh", "kWh")
    if kwh:
        if grid is None:
            calc.factor(NATIONAL_GRID_KEY, ("home", "electricity_kwh"))
        else:
            calc.add("home", "electricity", grid, kwh, "kWh", ("home", "electricity_kwh"))
    for name, key, unit, activity in (
        ("natural_gas_m3", "fuel.natural_gas", "m3", "natural gas"),
        ("lpg_kg", "fuel.lpg", "kg", "LPG"),
    ):
        amount = calc.amount(home.get(name), ("home", name), f"home.{name}", unit)
        if amount and (factor := calc.factor(key, ("home", name))):
            calc.add("home", activity, factor, amount, unit, ("home", name))


def _transport(calc: _Calculation, transport: Mapping[str, Any], grid: FactorValue | None) -> None:
    for index, entry in enumerate(transport.get("fuel") or []):
        _fuel(calc, index, entry)
    for name, key, activity in DISTANCE_ITEMS:
        amount = calc.amount(transport.get(name), ("transport", name), f"transport.{name}", "km")
        if amount and (factor := calc.factor(key, ("transport", name))):
            calc.add("transport", activity, factor, amount, "pkm", ("transport", name))
    path = ("transport", "electric_car_kwh")
    kwh = calc.amount(transport.get("electric_car_kwh"), path, "transport.electric_car_kwh", "kWh")
    if kwh:
        if grid is None:
            calc.factor(NATIONAL_GRID_KEY, path)
        else:
            calc.add("transport", "electric car charging", grid, kwh, "kWh", path)
    for index, flight in enumerate(transport.get("flights") or []):
        _flight(calc, index, flight)


def _fuel(calc: _Calculation, index: int, entry: Mapping[str, Any]) -> None:
    path = ("transport", "fuel", index)
    fuel, unit = entry.get("fuel"), entry.get("unit", "L")
    if fuel not in FUELS:
        calc.errors.add((*path, "fuel"), f"unknown fuel; use one of {', '.join(FUELS)}")
        return
    if unit not in FUEL_UNITS:
        calc.errors.add((*path, "unit"), f"unknown unit; use one of {', '.join(FUEL_UNITS)}")
        return
    amount = calc.amount(entry.get("amount"), (*path, "amount"), f"transport.fuel.{unit}", unit)
    factor = calc.factor(f"fuel.{fuel}", (*path, "fuel"))
    if not amount or factor is None:
        return
    if unit == "kg":
        calc.add("transport", f"{fuel} (car)", factor, amount, "kg", path)
        return
    density = calc.table.factors.get(f"density.{fuel}")
    if density is None:
        calc.errors.add((*path, "unit"), f"{fuel} is counted in kg: no cited density in this factor set")
        return
    details = {
        "density_key": density.key,
        "density": _text(density.value),
        "density_unit": density.unit,
        "density_source": density.source,
        "kg": _text(amount * density.value),
    }
    calc.add("transport", f"{fuel} (car)", factor, amount, "L", path, density.value, details, per="kg")


def _flight(calc: _Calculation, index: int, flight: Mapping[str, Any]) -> None:
    path = ("transport", "flights", index)
    ends = []
    for end in ("from", "to"):
        city = calc.table.city(str(flight.get(end) or ""))
        if city is None:
            calc.errors.add((*path, end), "unknown city")
        ends.append(city)
    trips = calc.amount(flight.get("trips", 1), (*path, "trips"), "transport.flights.trips", "trips")
    if trips is not None and trips != trips.to_integral_value():
        calc.errors.add((*path, "trips"), "must be a whole number")
        return
    origin, destination = ends
    if origin is None or destination is None or trips is None:
        return
    if origin.id == destination.id:
        calc.errors.add((*path, "to"), "must differ from `from`")
        return
    factor = calc.factor(FLIGHT_KEY, path)
    gcd = great_circle_km(origin, destination)
    band_key = next(key for bound, key in FLIGHT_BANDS if bound is None or gcd < bound)
    correction = calc.table.factors.get(band_key)
    correction_km = correction.value if correction else Decimal(0)
    distance = gcd + correction_km
    legs = trips * (2 if flight.get("round_trip") else 1)
    if factor is None or legs == 0:
        return
    details = {
        "from": origin.id,
        "to": destination.id,
        "great_circle_km": _text(gcd),
        "correction_key": correction.key if correction else None,
        "correction_km": _text(correction_km),
        "correction_source": correction.source if correction else "none: plain great-circle distance",
        "distance_km": _text(distance),
        "legs": int(legs),
    }
    calc.add("transport", "flight", factor, distance * legs, "pkm", path, details=details)


def _diet(calc: _Calculation, diet: Mapping[str, Any]) -> None:
    for index, entry in enumerate(diet.get("food") or []):
        path = ("diet", "food", index)
        item = str(entry.get("item") or "")
        factor = calc.table.factors.get(f"food.{item}")
        if factor is None:
            calc.errors.add((*path, "item"), f"unknown food; use one of {', '.join(calc.table.food_items())}")
            continue
        kg = calc.amount(entry.get("kg"), (*path, "kg"), "diet.food.kg", "kg")
        if kg:
            calc.add("diet", item, factor, kg, "kg", path)


def _comparison(table: FactorTable, total_g: int, months: int) -> dict[str, Any] | None:
    benchmark = table.factors.get(BENCHMARK_KEY)
    if benchmark is None:
        return None
    mass_unit = benchmark.unit.partition("CO2")[0]
    annual = benchmark.value * GRAMS_PER_MASS_UNIT.get(mass_unit, Decimal(1_000_000))
    period_g = round_half_up(annual * months / 12)
    percent = None
    if period_g > 0:
        percent = (Decimal(total_g) * 100 / period_g).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return {
        "factor_key": benchmark.key,
        "national_annual_g": round_half_up(annual),
        "national_period_g": period_g,
        "percent_of_national": _text(percent) if percent is not None else None,
        "year": benchmark.year,
        "source": benchmark.source,
        "source_url": benchmark.source_url,
    }
