"""The emission factor library: parse factor files, publish them as a new version, read versions.

A version is published whole: its factors (each with its source), the province → grid region
mapping and the city table. An upload without `provinces` or `cities` carries over those of the
current version. Published versions never change; the calculator's view of a version is
cached in process memory by version number, so the calculation path reads one row per request.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Factor, FactorSet, utcnow
from models.database import read_session, serialize_in, unit_of_work
from services.footprint.footprint_calculator import City, FactorTable, FactorValue, Province, grams_per_unit
from services.kernel import audit, json_input
from services.kernel.errors import Conflict, InvalidState, NotFound, ValidationFailed
from services.kernel.paging import objects_page, window
from services.kernel.whole_numbers import parse_whole

FACTOR_COLUMNS = (
    "key",
    "category",
    "activity",
    "unit",
    "value",
    "region",
    "year",
    "source",
    "source_url",
    "note",
)
REQUIRED_FACTOR_COLUMNS = ("key", "category", "activity", "unit", "value", "source")
PROVINCE_COLUMNS = ("province", "name_zh", "grid_region")
CITY_COLUMNS = ("city", "name_zh", "province", "lat", "lon")
GEOGRAPHY_FILES = {"provinces": "provinces", "cities": "cities"}
KEY_PATTERN = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
ID_PATTERN = re.compile(r"^[a-z0-9_]+$")
# Categories whose values are not emissions: their units need not be mass of CO2 per unit.
NON_EMISSION_CATEGORIES = ("conversion", "benchmark")
FORMATS = ("csv", "json")


@dataclass
class Upload:
    """The parsed content of one or more files: factors and, optionally, the geography tables."""

    factors: list[dict[str, Any]]
    provinces: dict[str, dict[str, Any]] | None = None
    cities: dict[str, dict[str, Any]] | None = None
    note: str = ""
    # Merge: the current version's factors stay unless the upload has the same key. Replace: only the upload's.
    merge: bool = True


@dataclass(frozen=True)
class PublishedSet:
    version: int
    factor_count: int
    province_count: int
    city_count: int
    carried_over: tuple[str, ...]
    published_at: Any


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, file: str, row: int | None, field: str | None, message: str) -> None:
        self.items.append({"file": file, "row": row, "field": field, "message": message})

    def raise_if_any(self, message: str) -> None:
        if self.items:
            raise ValidationFailed(message, errors=self.items)


def detect_format(filename: str | None, mimetype: str | None = None) -> str | None:
    name = (filename or "").lower()
    if name.endswith(".csv") or mimetype == "text/csv":
        return "csv"
    if name.endswith(".json") or mimetype == "application/json":
        return "json"
    return None


def geography_kind(filename: str) -> str | None:
    """`provinces.csv` → provinces, `cities.json` → cities; other files hold factors."""
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    return GEOGRAPHY_FILES.get(stem)


def parse_files(files: Iterable[tuple[str, bytes, str | None]], note: str = "", merge: bool = True) -> Upload:
    """Parse factor files (CSV or JSON) and the `provinces` / `cities` tables among them.

    Each file is (name, content, kind): kind `factors`, `provinces` or `cities`, or None to tell
    it from the name (`provinces.csv`, `cities.csv`; anything else holds factors).
    """
    upload = Upload(factors=[], note=note, merge=merge)
    problems = _Problems()
    for name, content, given_kind in files:
        fmt = detect_format(name)
        if fmt is None:
            problems.add(name, None, None, "not a .csv or .json file")
            continue
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            problems.add(name, None, None, "not UTF-8 text")
            continue
        kind = geography_kind(name) if given_kind is None else GEOGRAPHY_FILES.get(given_kind)
        if fmt == "json":
            _parse_json(name, text, kind, upload, problems)
        else:
            rows = _csv_rows(name, text, problems)
            if kind == "provinces":
                upload.provinces = _provinces(name, rows, problems)
            elif kind == "cities":
                upload.cities = _cities(name, rows, problems)
            else:
                upload.factors += _factors(name, rows, problems, len(upload.factors))
    problems.raise_if_any("The factor files have faults; nothing was published.")
    if not upload.factors:
        raise ValidationFailed("No factor in the upload.", errors=[{"file": None, "message": "no factors"}])
    return upload


def _parse_json(name: str, text: str, kind: str | None, upload: Upload, problems: _Problems) -> None:
    try:
        data = json_input.loads(text)
    except json.JSONDecodeError as exc:
        problems.add(name, None, None, f"not valid JSON: {exc.msg} at line {exc.lineno}")
        return
    if isinstance(data, dict) and kind is None:
        upload.note = upload.note or str(data.get("note") or "")
        if "provinces" in data:
            upload.provinces = _provinces(name, _json_rows(name, data["provinces"], problems), problems)
        if "cities" in data:
            upload.cities = _cities(name, _json_rows(name, data["cities"], problems), problems)
        rows = _json_rows(name, data.get("factors", []), problems)
    else:
        rows = _json_rows(name, data, problems)
    if kind == "provinces":
        upload.provinces = _provinces(name, rows, problems)
    elif kind == "cities":
        upload.cities = _cities(name, rows, problems)
    else:
        upload.factors += _factors(name, rows, problems, len(upload.factors))


def _json_rows(name: str, data: Any, problems: _Problems) -> list[dict[str, str]]:
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        problems.add(name, None, None, "expected a list of objects")
        return []
    return [{str(k): "" if v is None else str(v) for k, v in row.items()} for row in data]


def _csv_rows(name: str, text: str, problems: _Problems) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        if not reader.fieldnames:
            problems.add(name, None, None, "empty file")
            return []
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    except csv.Error as exc:  # e.g. a field over the csv module's limit (128 KiB)
        problems.add(name, None, None, f"not valid CSV at line {reader.reader.line_num}: {exc}")
        return []


def _missing(name: str, rows: list[dict[str, str]], columns: Iterable[str], problems: _Problems) -> bool:
    missing = [column for column in columns if rows and column not in rows[0]]
    for column in missing:
        problems.add(name, None, column, "column missing")
    return bool(missing)


def _factors(name: str, rows: list[dict[str, str]], problems: _Problems, offset: int) -> list[dict[str, Any]]:
    if _missing(name, rows, REQUIRED_FACTOR_COLUMNS, problems):
        return []
    factors = []
    for number, row in enumerate(rows, start=1):
        factor = {column: row.get(column, "").strip() for column in FACTOR_COLUMNS}
        factor["file"], factor["row"] = name, number
        for column in REQUIRED_FACTOR_COLUMNS:
            if not factor[column]:
                problems.add(
                    name,
                    number,
                    column,
                    "required" if column != "source" else "every factor needs its source",
                )
        if factor["key"] and not KEY_PATTERN.match(factor["key"]):
            problems.add(
                name, number, "key", "use lower-case words joined by dots, e.g. electricity.grid.east"
            )
        try:
            value = Decimal(factor["value"])
            if not value.is_finite() or value <= 0:
                problems.add(name, number, "value", "must be a positive number")
            else:
                factor["value"] = format(value, "f")
        except InvalidOperation:
            if factor["value"]:
                problems.add(name, number, "value", "not a decimal number")
        year = parse_whole(factor["year"]) if factor["year"] else None
        if factor["year"] and (year is None or not 1990 <= year <= 2100):
            problems.add(name, number, "year", "a year between 1990 and 2100, or empty")
        if factor["unit"] and factor["category"] not in NON_EMISSION_CATEGORIES:
            try:
                grams_per_unit(factor["unit"])
            except ValueError as exc:
                problems.add(name, number, "unit", str(exc))
        factors.append(factor)
    return factors


def _provinces(name: str, rows: list[dict[str, str]], problems: _Problems) -> dict[str, dict[str, Any]]:
    if _missing(name, rows, PROVINCE_COLUMNS, problems):
        return {}
    provinces: dict[str, dict[str, Any]] = {}
    for number, row in enumerate(rows, start=1):
        pid = row["province"].strip().lower()
        if not ID_PATTERN.match(pid):
            problems.add(name, number, "province", "an id of lower-case letters, digits and _")
        elif pid in provinces:
            problems.add(name, number, "province", f"{pid} is listed twice")
        if not ID_PATTERN.match(row["grid_region"].strip()):
            problems.add(name, number, "grid_region", "an id of lower-case letters, digits and _")
        provinces[pid] = {
            "name_zh": row["name_zh"].strip(),
            "grid_region": row["grid_region"].strip(),
            "note": row.get("note", "").strip(),
        }
    return provinces


def _cities(name: str, rows: list[dict[str, str]], problems: _Problems) -> dict[str, dict[str, Any]]:
    if _missing(name, rows, CITY_COLUMNS, problems):
        return {}
    cities: dict[str, dict[str, Any]] = {}
    for number, row in enumerate(rows, start=1):
        cid = row["city"].strip().lower()
        if not ID_PATTERN.match(cid):
            problems.add(name, number, "city", "an id of lower-case letters, digits and _")
        elif cid in cities:
            problems.add(name, number, "city", f"{cid} is listed twice")
        for column, bound in (("lat", 90), ("lon", 180)):
            try:
                if abs(Decimal(row[column])) > bound:
                    problems.add(name, number, column, f"must be within ±{bound}")
            except InvalidOperation:
                problems.add(name, number, column, "not a decimal number")
        cities[cid] = {
            "name_zh": row["name_zh"].strip(),
            "province": row["province"].strip().lower(),
            "lat": row["lat"].strip(),
            "lon": row["lon"].strip(),
            "note": row.get("note", "").strip(),
        }
    return cities


def _check_whole(upload: Upload, provinces: Mapping[str, Any], cities: Mapping[str, Any]) -> None:
    """Cross-file rules: unique keys, every grid region has its factor, every city its province."""
    problems = _Problems()
    seen: dict[str, str] = {}
    for factor in upload.factors:
        where = f"{factor['file']} row {factor['row']}"
        if factor["key"] in seen:
            problems.add(
                factor["file"], factor["row"], "key", f"{factor['key']} is also at {seen[factor['key']]}"
            )
        seen.setdefault(factor["key"], where)
    for pid, province in provinces.items():
        if f"electricity.grid.{province['grid_region']}" not in seen:
            problems.add(
                "provinces",
                None,
                "grid_region",
                f"{pid}: no factor electricity.grid.{province['grid_region']}",
            )
    for cid, city in cities.items():
        if city["province"] not in provinces:
            problems.add("cities", None, "province", f"{cid}: unknown province {city['province']}")
    problems.raise_if_any("The factor set is not consistent; nothing was published.")


def _merged(session: Session, previous_id: int, uploaded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The previous version's factors whose keys the upload does not have, then the upload's."""
    keys = {f["key"] for f in uploaded}
    kept = [
        {
            **{column: getattr(f, column) or "" for column in FACTOR_COLUMNS},
            "year": str(f.year) if f.year else "",
            "file": "previous version",
            "row": None,
        }
        for f in session.scalars(select(Factor).where(Factor.set_id == previous_id)).all()
        if f.key not in keys
    ]
    return kept + uploaded


def publish(upload: Upload, actor_id: int | None, source: str) -> PublishedSet:
    """Publish the upload as the next version and make it current (audited)."""
    try:
        with unit_of_work() as session:
            serialize_in(
                session, "factor_sets.publish"
            )  # one publisher at a time: versions and "current" stay single
            previous = session.scalar(select(FactorSet).where(FactorSet.is_current).with_for_update())
            carried: list[str] = []
            geography = dict(previous.geography) if previous else {}
            provinces, cities = upload.provinces, upload.cities
            if provinces is None:
                provinces = geography.get("provinces")
                carried.append("provinces")
            if cities is None:
                cities = geography.get("cities")
                carried.append("cities")
            if provinces is None or cities is None:
                raise ValidationFailed(
                    "The first factor set needs the provinces and cities tables.",
                    errors=[{"file": None, "message": "provinces.csv and cities.csv are required"}],
                )
            if upload.merge and previous is not None:
                upload.factors = _merged(session, previous.id, upload.factors)
                carried.append("factors")
            _check_whole(upload, provinces, cities)
            version = (session.scalar(select(func.max(FactorSet.version))) or 0) + 1
            if previous is not None:
                session.execute(update(FactorSet).where(FactorSet.id == previous.id).values(is_current=False))
                session.flush()
            factor_set = FactorSet(
                version=version,
                published_at=utcnow(),
                note=upload.note[:500],
                is_current=True,
                source=source[:200],
                published_by=actor_id,
                geography={"provinces": provinces, "cities": cities},
            )
            session.add(factor_set)
            session.flush()
            session.add_all(
                Factor(
                    set_id=factor_set.id,
                    key=f["key"],
                    category=f["category"],
                    activity=f["activity"],
                    unit=f["unit"],
                    value=f["value"],
                    region=f["region"],
                    year=int(f["year"]) if f["year"] else None,
                    source=f["source"],
                    source_url=f["source_url"],
                    note=f["note"],
                )
                for f in upload.factors
            )
            after = audit.snapshot(factor_set)
            after.pop("geography", None)
            after["factor_count"] = len(upload.factors)
            before = audit.snapshot(previous)
            if before:
                before.pop("geography", None)
            audit.record(session, actor_id, "publish", "factor_set", version, before, after)
            return PublishedSet(
                version,
                len(upload.factors),
                len(provinces),
                len(cities),
                tuple(carried),
                factor_set.published_at,
            )
    except IntegrityError as exc:
        raise Conflict("Another factor set was published at the same time; try again.") from exc


def publish_files(
    files: Iterable[tuple[str, bytes, str | None]],
    note: str,
    actor_id: int | None,
    source: str,
    merge: bool = True,
) -> PublishedSet:
    """Parse the files and publish them as the next version (see `parse_files` and `Upload.merge`)."""
    return publish(parse_files(files, note, merge), actor_id, source)


# -- reading versions --

# Keyed by (version, published_at): a version never changes once published, and the publication
# time tells a rebuilt database's version 1 from an older one.
_tables: dict[tuple[int, Any], FactorTable] = {}
_tables_lock = threading.Lock()


_CURRENT_SET = select(FactorSet.id, FactorSet.version, FactorSet.published_at).where(FactorSet.is_current)


def current_table_in(session: Session) -> FactorTable:
    """The current version's table for the calculator; built once per version and process."""
    row = session.execute(_CURRENT_SET).first()
    if row is None:
        raise InvalidState("No emission factor set is published yet; an admin must load one.")
    return _cached(session, row.id, row.version, row.published_at)


def table_for_version(version: int) -> FactorTable:
    """The table of any published version (cached like the current one)."""
    with unit_of_work() as session:
        row = session.execute(
            select(FactorSet.id, FactorSet.version, FactorSet.published_at).where(
                FactorSet.version == version
            )
        ).first()
        if row is None:
            raise NotFound(f"Factor set version {version} does not exist.")
        return _cached(session, row.id, row.version, row.published_at)


def _cached(session: Session, set_id: int, version: int, published_at: Any) -> FactorTable:
    key = (version, published_at)
    table = _tables.get(key)
    if table is None:
        table = _build_table(session, set_id, version)
        with _tables_lock:
            table = _tables.setdefault(key, table)
    return table


def _build_table(session: Session, set_id: int, version: int) -> FactorTable:
    factor_set = session.get(FactorSet, set_id)
    assert factor_set is not None
    factors = session.scalars(select(Factor).where(Factor.set_id == set_id)).all()
    rows = [
        {column: getattr(f, column) for column in FACTOR_COLUMNS if column not in ("note",)} for f in factors
    ]
    return make_table(version, rows, factor_set.geography or {})


def table_from_upload(upload: Upload, version: int = 1) -> FactorTable:
    """The calculator's table of parsed files, without a database (tests, previews)."""
    return make_table(
        version, upload.factors, {"provinces": upload.provinces or {}, "cities": upload.cities or {}}
    )


def make_table(
    version: int, factors: Iterable[Mapping[str, Any]], geography: Mapping[str, Any]
) -> FactorTable:
    """Build the calculator's immutable view of one version from factor rows and its geography."""
    return FactorTable(
        version=version,
        factors={
            f["key"]: FactorValue(
                key=f["key"],
                category=f["category"],
                activity=f["activity"],
                unit=f["unit"],
                value=Decimal(f["value"]),
                region=f.get("region") or "",
                year=int(f["year"]) if f.get("year") else None,
                source=f["source"],
                source_url=f.get("source_url") or "",
            )
            for f in factors
        },
        provinces={
            pid: Province(pid, p.get("name_zh", ""), p["grid_region"])
            for pid, p in (geography.get("provinces") or {}).items()
        },
        cities={
            cid: City(cid, c.get("name_zh", ""), c["province"], Decimal(c["lat"]), Decimal(c["lon"]))
            for cid, c in (geography.get("cities") or {}).items()
        },
    )


def list_sets(page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """Every published version, newest first, with its number of factors."""
    session = read_session()
    total = session.scalar(select(func.count()).select_from(FactorSet)) or 0
    counts = select(Factor.set_id, func.count().label("n")).group_by(Factor.set_id).subquery()
    rows = session.execute(
        window(
            select(FactorSet, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.set_id == FactorSet.id)
            .order_by(FactorSet.version.desc()),
            page,
            page_size,
        )
    ).all()
    session.rollback()
    return [_set_summary(s, n) for s, n in rows], total


def _set_summary(factor_set: FactorSet, factor_count: int) -> dict[str, Any]:
    geography = factor_set.geography or {}
    return {
        "version": factor_set.version,
        "published_at": factor_set.published_at,
        "note": factor_set.note,
        "is_current": factor_set.is_current,
        "source": factor_set.source,
        "factor_count": factor_count,
        "province_count": len(geography.get("provinces") or {}),
        "city_count": len(geography.get("cities") or {}),
    }


def list_factors(
    version: int, page: int, page_size: int, category: str | None = None
) -> tuple[list[Factor], int]:
    """The factors of one version, by key, optionally of one category."""
    session = read_session()
    set_id = session.scalar(select(FactorSet.id).where(FactorSet.version == version))
    if set_id is None:
        session.rollback()
        raise NotFound(f"Factor set version {version} does not exist.")
    conditions = [Factor.set_id == set_id]
    if category:
        conditions.append(Factor.category == category)
    page_of = objects_page(session, select(Factor).where(*conditions).order_by(Factor.key), page, page_size)
    session.rollback()
    return page_of


def current_set() -> dict[str, Any]:
    """The current version with all its factors and sources, its provinces and cities: public."""
    session = read_session()
    factor_set = session.scalar(select(FactorSet).where(FactorSet.is_current))
    if factor_set is None:
        session.rollback()
        raise NotFound("No emission factor set is published yet.")
    factors = session.scalars(select(Factor).where(Factor.set_id == factor_set.id).order_by(Factor.key)).all()
    geography = factor_set.geography or {}
    result = _set_summary(factor_set, len(factors))
    result["factors"] = list(factors)
    result["provinces"] = [{"id": pid, **p} for pid, p in sorted((geography.get("provinces") or {}).items())]
    result["cities"] = [{"id": cid, **c} for cid, c in sorted((geography.get("cities") or {}).items())]
    session.rollback()
    return result
