"""Import issued batches into the pool from a CSV or JSON file, all rows or none.

Every row is checked and every fault is reported at once, each with its row (1 = the first
batch), the CSV line where it applies, the field and a message. Only a file without a single
fault is imported, in one unit of work with one audit entry and one public ledger entry per batch
(`services.ledger`). The columns are described in `docs/credit-import.md`.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import GRAMS_PER_TONNE, Batch, Project
from models.database import read_session, serialize_in, unit_of_work
from services.kernel import audit, json_input
from services.kernel.beijing_time import BEIJING
from services.kernel.errors import Conflict, ValidationFailed
from services.kernel.web_urls import WEB_MESSAGE, is_web_url
from services.kernel.whole_numbers import parse_whole
from services.ledger.recording import batches_issued_in

FORMATS = ("csv", "json")
REQUIRED_FIELDS = (
    "project_code",
    "vintage",
    "serial_prefix",
    "serial_start",
    "serial_end",
    "quantity_t",
    "issued_on",
    "registry_ref",
)
OPTIONAL_FIELDS = ("serial_digits", "registry_url")
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
DEFAULT_SERIAL_DIGITS = 7
MAX_SERIAL_DIGITS = 18
MAX_QUANTITY_T = 1_000_000_000
FIRST_VINTAGE = 2000
# Registries of the credits the pool sells are in China: "today" and "future" are Beijing time.
_LENGTHS = {"project_code": 64, "serial_prefix": 64, "registry_ref": 200, "registry_url": 512}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Serialises imports on PostgreSQL so two concurrent files cannot both pass the overlap check.


@dataclass(frozen=True)
class RawRow:
    """One batch as read from the file, before validation."""

    row: int
    line: int | None
    values: Mapping[str, Any]


@dataclass(frozen=True)
class SerialSpan:
    """The registry serials a row claims: `prefix` followed by `start`..`end`, zero-padded."""

    row: int
    line: int | None
    prefix: str
    start: int
    end: int
    digits: int

    def serial(self, number: int) -> str:
        return f"{self.prefix}{str(number).zfill(self.digits)}"

    def __str__(self) -> str:
        return f"{self.serial(self.start)}–{self.serial(self.end)}"


@dataclass(frozen=True)
class BatchRow:
    """One validated batch ready to be created."""

    row: int
    line: int | None
    project_code: str
    vintage: int
    span: SerialSpan
    quantity_t: int
    issued_on: date
    registry_ref: str
    registry_url: str


@dataclass(frozen=True)
class ProjectTotal:
    project_code: str
    batches: int
    tonnes: int


@dataclass(frozen=True)
class ImportSummary:
    batches_created: int
    tonnes: int
    batch_ids: list[int]
    projects: list[ProjectTotal] = field(default_factory=list)

    @property
    def grams(self) -> int:
        return self.tonnes * GRAMS_PER_TONNE


class _Errors:
    """Collects faults, each with its row, line and field; they are reported in row order."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, row: int | None, field_name: str | None, message: str, line: int | None = None) -> None:
        error: dict[str, Any] = {"row": row, "field": field_name, "message": message}
        if line is not None:
            error["line"] = line
        self.items.append(error)

    def at(self, raw: RawRow | BatchRow, field_name: str | None, message: str) -> None:
        self.add(raw.row, field_name, message, raw.line)

    def raise_if_any(self, what: str) -> None:
        if self.items:
            count = len(self.items)
            raise ValidationFailed(
                f"{what}: {count} problem{'s' if count > 1 else ''} found; nothing was imported.",
                errors=sorted(
                    self.items,
                    key=lambda e: (e["row"] or 0, FIELDS.index(e["field"]) if e["field"] in FIELDS else -1),
                ),
            )


def detect_format(filename: str | None, content_type: str | None = None) -> str | None:
    """`csv` or `json` from a file name's extension or a MIME type; None when neither tells."""
    name = (filename or "").lower()
    for fmt in FORMATS:
        if name.endswith("." + fmt):
            return fmt
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in ("text/csv", "application/csv", "application/vnd.ms-excel"):
        return "csv"
    if mime in ("application/json", "text/json"):
        return "json"
    return None


def _decode(content: bytes | str, errors: _Errors) -> str | None:
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        errors.add(None, "file", f"The file is not UTF-8 text (byte {exc.start} cannot be read).")
        return None


def _read_csv(content: str, errors: _Errors) -> list[RawRow]:
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            errors.add(None, "file", "The file is empty; it needs a header row and one row per batch.")
            return []
        names = [name.strip() for name in header]
        seen: set[str] = set()
        for name in names:
            if name not in FIELDS:
                errors.add(
                    None,
                    name or "(empty)",
                    f"Unknown column {name!r}; the columns are {', '.join(FIELDS)}.",
                    1,
                )
            elif name in seen:
                errors.add(None, name, f"Column {name!r} appears twice.", 1)
            seen.add(name)
        for name in REQUIRED_FIELDS:
            if name not in seen:
                errors.add(None, name, f"Column {name!r} is missing from the header row.", 1)
        if errors.items:
            return []  # with a wrong header, every row would repeat the same fault
        rows: list[RawRow] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            raw = RawRow(len(rows) + 1, reader.line_num, dict(zip(names, cells, strict=False)))
            rows.append(raw)
            if len(cells) > len(names):
                errors.at(raw, None, f"The row has {len(cells)} cells but the header has {len(names)}.")
        return rows
    except csv.Error as exc:
        errors.add(None, "file", f"The CSV cannot be read at line {reader.line_num}: {exc}.", reader.line_num)
        return []


def _read_json(content: str, errors: _Errors) -> list[RawRow]:
    try:
        data = json_input.loads(content)
    except json.JSONDecodeError as exc:
        errors.add(
            None, "file", f"The JSON cannot be read: {exc.msg} at line {exc.lineno} column {exc.colno}."
        )
        return []
    if not isinstance(data, list):
        errors.add(None, "file", "The JSON must be a list of objects, one per batch.")
        return []
    rows: list[RawRow] = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            errors.add(index, None, "Each batch must be a JSON object.")
            continue
        raw = RawRow(index, None, item)
        for key in item:
            if key not in FIELDS:
                errors.at(raw, key, f"Unknown field {key!r}; the fields are {', '.join(FIELDS)}.")
        rows.append(raw)
    return rows


def read_rows(content: bytes | str, fmt: str) -> tuple[list[RawRow], list[dict[str, Any]]]:
    """The rows of a file as raw values, and the faults of its structure (encoding, syntax, header)."""
    errors = _Errors()
    if fmt not in FORMATS:
        errors.add(None, "format", "Unknown format; use csv or json (or name the file .csv or .json).")
        return [], errors.items
    text_content = _decode(content, errors)
    if text_content is None:
        return [], errors.items
    rows = _read_csv(text_content, errors) if fmt == "csv" else _read_json(text_content, errors)
    if not rows and not errors.items:
        errors.add(None, "file", "The file holds no batch.")
    return rows, errors.items


def _text(raw: RawRow, name: str, errors: _Errors, required: bool) -> str | None:
    value = raw.values.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.at(raw, name, "Missing; this field is required.")
            return None
        return ""
    if not isinstance(value, str):
        errors.at(raw, name, "Must be text.")
        return None
    value = value.strip()
    if any(ord(char) < 32 for char in value):
        errors.at(raw, name, "Contains control characters.")
        return None
    if len(value) > _LENGTHS[name]:
        errors.at(raw, name, f"Longer than {_LENGTHS[name]} characters.")
        return None
    return value


def _whole(raw: RawRow, name: str, errors: _Errors, default: int | None = None) -> int | None:
    value = raw.values.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is not None:
            return default
        errors.at(raw, name, "Missing; this field is required.")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and (parsed := parse_whole(value)) is not None:
        number = parsed
    else:
        errors.at(raw, name, f"Must be a whole number of zero or more, not {value!r}.")
        return None
    if number < 0:
        errors.at(raw, name, f"Must be zero or more, not {number}.")
        return None
    return number


def _date(raw: RawRow, name: str, errors: _Errors, today: date) -> date | None:
    value = raw.values.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.at(raw, name, "Missing; this field is required.")
        return None
    if not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
        errors.at(raw, name, f"Must be a date written YYYY-MM-DD, not {value!r}.")
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        errors.at(raw, name, f"{value.strip()!r} is not a date in the calendar.")
        return None
    if day > today:
        errors.at(raw, name, f"{day.isoformat()} is in the future; a batch is imported after it is issued.")
        return None
    return day


def _validate_row(raw: RawRow, errors: _Errors, today: date) -> tuple[BatchRow | None, SerialSpan | None]:
    """Check one row on its own; returns the batch when every field is good, and its serial span
    whenever the serial fields are good (so overlaps are reported even for rows with other faults)."""
    before = len(errors.items)
    project_code = _text(raw, "project_code", errors, required=True)
    vintage = _whole(raw, "vintage", errors)
    serial_prefix = _text(raw, "serial_prefix", errors, required=True)
    serial_start = _whole(raw, "serial_start", errors)
    serial_end = _whole(raw, "serial_end", errors)
    serial_digits = _whole(raw, "serial_digits", errors, default=DEFAULT_SERIAL_DIGITS)
    quantity_t = _whole(raw, "quantity_t", errors)
    issued_on = _date(raw, "issued_on", errors, today)
    registry_ref = _text(raw, "registry_ref", errors, required=True)
    registry_url = _text(raw, "registry_url", errors, required=False)

    if vintage is not None and not FIRST_VINTAGE <= vintage <= today.year:
        errors.at(
            raw,
            "vintage",
            f"{vintage} is not a plausible vintage (a year from {FIRST_VINTAGE} to {today.year}).",
        )
    elif vintage is not None and issued_on is not None and vintage > issued_on.year:
        errors.at(raw, "vintage", f"Vintage {vintage} is after the issue date {issued_on.isoformat()}.")
    if serial_digits is not None and not 1 <= serial_digits <= MAX_SERIAL_DIGITS:
        errors.at(raw, "serial_digits", f"Must be from 1 to {MAX_SERIAL_DIGITS}, not {serial_digits}.")
        serial_digits = None
    span = None
    if serial_start is not None and serial_end is not None:
        if serial_end < serial_start:
            errors.at(raw, "serial_end", f"serial_end {serial_end} is before serial_start {serial_start}.")
        elif serial_digits is not None and len(str(serial_end)) > serial_digits:
            errors.at(
                raw,
                "serial_end",
                f"serial_end {serial_end} has more digits than serial_digits ({serial_digits}).",
            )
        elif serial_prefix is not None and serial_digits is not None:
            span = SerialSpan(raw.row, raw.line, serial_prefix, serial_start, serial_end, serial_digits)
        if (
            quantity_t is not None
            and serial_end >= serial_start
            and quantity_t != serial_end - serial_start + 1
        ):
            errors.at(
                raw,
                "quantity_t",
                f"quantity_t {quantity_t} does not match the serial range, which holds "
                f"{serial_end - serial_start + 1} tonnes ({serial_start} to {serial_end}).",
            )
    if quantity_t is not None and not 1 <= quantity_t <= MAX_QUANTITY_T:
        errors.at(raw, "quantity_t", f"Must be from 1 to {MAX_QUANTITY_T:,} tonnes, not {quantity_t}.")
    if registry_url and not is_web_url(registry_url):
        errors.at(raw, "registry_url", WEB_MESSAGE)

    if len(errors.items) > before or span is None:
        return None, span
    assert project_code and registry_ref and registry_url is not None
    assert vintage is not None and quantity_t is not None and issued_on is not None
    batch = BatchRow(
        raw.row, raw.line, project_code, vintage, span, quantity_t, issued_on, registry_ref, registry_url
    )
    return batch, span


def _by_prefix(spans: Iterable[SerialSpan]) -> dict[str, list[SerialSpan]]:
    groups: dict[str, list[SerialSpan]] = defaultdict(list)
    for span in spans:
        groups[span.prefix].append(span)
    return groups


def _check_overlaps_within_file(spans: Iterable[SerialSpan], errors: _Errors) -> None:
    """Flag each row whose serials overlap another row of the same prefix, naming that row."""
    flagged: set[int] = set()
    for group in _by_prefix(spans).values():
        group.sort(key=lambda span: (span.start, span.row))
        widest = group[0]
        for span in group[1:]:
            if span.start <= widest.end:
                later, earlier = (span, widest) if span.row > widest.row else (widest, span)
                if later.row not in flagged:
                    flagged.add(later.row)
                    errors.add(
                        later.row,
                        "serial_start",
                        f"Serials {later} overlap row {earlier.row} ({earlier}) of this file.",
                        later.line,
                    )
            if span.end > widest.end:
                widest = span


def _check_overlaps_with_pool(session: Session, spans: Iterable[SerialSpan], errors: _Errors) -> None:
    """Flag each row whose serials overlap a batch already in the pool with the same prefix."""
    for prefix, group in _by_prefix(spans).items():
        existing = session.execute(
            select(Batch.id, Batch.serial_start, Batch.serial_end, Batch.serial_digits, Project.code)
            .join(Project, Project.id == Batch.project_id)
            .where(
                Batch.serial_prefix == prefix,
                Batch.serial_start <= max(span.end for span in group),
                Batch.serial_end >= min(span.start for span in group),
            )
            .order_by(Batch.serial_start)
        ).all()
        if not existing:
            continue
        # Batches in the pool never overlap each other, so sorted by start their ends are sorted too.
        ends = [batch.serial_end for batch in existing]
        for span in group:
            index = bisect.bisect_left(ends, span.start)
            if index < len(existing) and existing[index].serial_start <= span.end:
                batch = existing[index]
                theirs = SerialSpan(
                    0, None, prefix, batch.serial_start, batch.serial_end, batch.serial_digits
                )
                errors.add(
                    span.row,
                    "serial_start",
                    f"Serials {span} overlap batch {batch.id} ({theirs}) of project {batch.code}, already in the pool.",
                    span.line,
                )


def _lock_imports(session: Session) -> None:
    serialize_in(session, "batches.import")


def today_in_registry_tz() -> date:
    return datetime.now(BEIJING).date()


def import_batches_in(
    session: Session,
    content: bytes | str,
    fmt: str,
    *,
    actor_id: int | None,
    source: str = "",
    today: date | None = None,
) -> ImportSummary:
    """Validate the whole file and create its batches in the caller's unit of work, or raise
    ValidationFailed listing every fault."""
    raw_rows, structure_errors = read_rows(content, fmt)
    return import_rows_in(
        session,
        raw_rows,
        fmt,
        actor_id=actor_id,
        source=source,
        today=today,
        structure_errors=structure_errors,
    )


def import_rows_in(
    session: Session,
    raw_rows: list[RawRow],
    fmt: str,
    *,
    actor_id: int | None,
    source: str = "",
    today: date | None = None,
    structure_errors: Iterable[dict[str, Any]] = (),
    refusal: str = "The file cannot be imported",
) -> ImportSummary:
    """Validate rows already read (from a file, or one batch a service describes) and create their
    batches in the caller's unit of work with one audit entry, or raise ValidationFailed listing
    every fault after `refusal`."""
    today = today or today_in_registry_tz()
    errors = _Errors()
    errors.items.extend(structure_errors)
    rows: list[BatchRow] = []
    spans: list[SerialSpan] = []
    for raw in raw_rows:
        row, span = _validate_row(raw, errors, today)
        if row is not None:
            rows.append(row)
        if span is not None:
            spans.append(span)

    _lock_imports(session)
    named = [
        (raw, code.strip()) for raw in raw_rows if isinstance(code := raw.values.get("project_code"), str)
    ]
    codes = {code for _raw, code in named if code}
    projects: dict[str, int] = {}
    if codes:
        query = select(Project.code, Project.id).where(Project.code.in_(codes))
        projects = {code: project_id for code, project_id in session.execute(query)}
    for raw, code in named:
        if code and code not in projects:
            errors.at(raw, "project_code", f"No project with code {code!r}.")
    _check_overlaps_within_file(spans, errors)
    _check_overlaps_with_pool(session, spans, errors)
    errors.raise_if_any(refusal)

    batches = [
        Batch(
            project_id=projects[row.project_code],
            vintage=row.vintage,
            serial_prefix=row.span.prefix,
            serial_start=row.span.start,
            serial_end=row.span.end,
            serial_digits=row.span.digits,
            quantity_t=row.quantity_t,
            issued_on=row.issued_on,
            registry_ref=row.registry_ref,
            registry_url=row.registry_url,
            issued_g=row.quantity_t * GRAMS_PER_TONNE,
            available_g=row.quantity_t * GRAMS_PER_TONNE,
            reserved_g=0,
            sold_g=0,
            retired_g=0,
            cursor_g=0,
        )
        for row in rows
    ]
    session.add_all(batches)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "Another import created batches with the same serials; check the pool and retry."
        ) from exc
    batches_issued_in(session, batches)  # the public ledger, in the same unit of work

    totals: dict[str, list[int]] = {}
    for row in rows:
        total = totals.setdefault(row.project_code, [0, 0])
        total[0] += 1
        total[1] += row.quantity_t
    summary = ImportSummary(
        batches_created=len(batches),
        tonnes=sum(row.quantity_t for row in rows),
        batch_ids=[batch.id for batch in batches],
        projects=[ProjectTotal(code, count, tonnes) for code, (count, tonnes) in totals.items()],
    )
    audit.record(
        session,
        actor_id,
        "batches.import",
        "batch",
        None,
        None,
        {
            "source": source,
            "format": fmt,
            "batches_created": summary.batches_created,
            "tonnes": summary.tonnes,
            "batches": [
                {
                    "id": batch.id,
                    "project_code": row.project_code,
                    "vintage": row.vintage,
                    "serials": str(row.span),
                    "quantity_t": row.quantity_t,
                    "registry_ref": row.registry_ref,
                }
                for batch, row in zip(batches, rows, strict=True)
            ],
        },
    )
    return summary


def import_batches(
    content: bytes | str,
    fmt: str,
    *,
    actor_id: int | None,
    source: str = "",
    today: date | None = None,
) -> ImportSummary:
    """Import every batch of a CSV or JSON file in one unit of work, or none of them."""
    with unit_of_work() as session:
        return import_batches_in(session, content, fmt, actor_id=actor_id, source=source, today=today)


def check_import(
    content: bytes | str,
    fmt: str,
    *,
    actor_id: int | None,
    source: str = "",
) -> ImportSummary:
    """A dry run of `import_batches`: every check it makes, inside a transaction that is rolled back,
    so nothing (no batch, no audit entry) is written. On PostgreSQL it still consumes batch ids."""
    session = read_session()
    try:
        return import_batches_in(session, content, fmt, actor_id=actor_id, source=source)
    finally:
        session.rollback()
