"""Attendee lists of events: a CSV file read row by row into a phase's travel groups.

A list has a header naming `origin_city`, `mode` and `return` (and optionally `name`, which is not
kept) and one row per attendee. Every row is checked on its own: a bad row is rejected and the good
rows are kept, so the organiser fixes and sends again only the rows rejected (`append`), and the
list is complete. Each fault is reported as the batch import reports its faults
(`services/pool/batch_import.py`): its `row` (1 = the first attendee), its `line` in the file (the
header is line 1), the `field` and a `message`, with the `value` as written; a fault of the mode
also lists the modes the current factor set `accepted`. Only a fault of the file itself (its
encoding, its CSV syntax, a missing column) or a file without a single good row refuses the whole
file, and then nothing is saved.

Rows are counted per (city, mode, return trip) and stored as one travel group each; the phase's
attendee-list sources, one per mode, are computed from the whole list with the current factor set.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from models import EventSource, EventTravelGroup, Phase, SourceKind, TravelMode
from models.database import read_session, unit_of_work
from services.accounts.tokens import Principal
from services.kernel.errors import ValidationFailed
from services.neutralisation import event_factors, events

REQUIRED_COLUMNS = ("origin_city", "mode", "return")
RETURN_VALUES = {"yes": True, "y": True, "true": True, "1": True, "是": True}
RETURN_VALUES |= {"no": False, "n": False, "false": False, "0": False, "否": False}
# The attendees one phase's list may hold, uploads and additions together: the bound of an event's
# attendance (`actual_attendees`).
MAX_LIST_ATTENDEES = 10_000_000
# A value quoted back in a fault is cut to this many characters (a CSV field may be 128 KiB).
SHOWN_VALUE_CHARS = 100
GroupKey = tuple[str, str, bool]  # (the library's city id, mode, return trip)


@dataclass(frozen=True)
class AttendeeList:
    """The good rows of a file counted per travel group, and the faults of the rows rejected."""

    counts: Counter[GroupKey]
    rows: int
    rejected: list[dict[str, Any]]

    @property
    def attendees(self) -> int:
        return sum(self.counts.values())

    @property
    def rejected_rows(self) -> int:
        return len({fault["row"] for fault in self.rejected})


def fault(
    row: int | None,
    line: int | None,
    field_name: str | None,
    message: str,
    value: str | None = None,
    accepted: list[str] | None = None,
) -> dict[str, Any]:
    """One fault in the batch import's form: row, line, field and message (and value, accepted)."""
    item: dict[str, Any] = {"row": row, "field": field_name, "message": message}
    if line is not None:
        item["line"] = line
    if value is not None:
        item["value"] = _cut(value)
    if accepted is not None:
        item["accepted"] = accepted
    return item


def _decode(body: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed(
        "The attendee file is not UTF-8 or GB18030 text; nothing was saved.",
        errors=[fault(None, None, "file", "The file is not UTF-8 or GB18030 text.")],
    )


def parse(body: bytes, factors: event_factors.EventFactors) -> AttendeeList:
    """The file's good rows per (city id, mode, return trip) and the faults of its bad rows.

    A fault of the file, or a file with no good row, is a ValidationFailed listing the faults;
    so is every fault of its CSV syntax (an unclosed quote, a field over the csv module's limit of
    128 KiB).
    """
    reader = csv.DictReader(io.StringIO(_decode(body)))
    try:
        return _read(reader, factors)
    except csv.Error as exc:
        # The csv reader's count: the DictReader's is set only after a row was read.
        line = reader.reader.line_num
        raise ValidationFailed(
            "The attendee file is not valid CSV; nothing was saved.",
            errors=[fault(None, line, "file", f"The CSV cannot be read at line {line}: {exc}.")],
        ) from None


def _cut(value: str) -> str:
    return value if len(value) <= SHOWN_VALUE_CHARS else value[:SHOWN_VALUE_CHARS] + "…"


def _shown(value: str) -> str:
    """A value as a message quotes it: repr, cut."""
    return repr(_cut(value))


def _read(reader: csv.DictReader, factors: event_factors.EventFactors) -> AttendeeList:
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise ValidationFailed(
            "The attendee file lacks required columns; nothing was saved.",
            errors=[
                fault(None, 1, name, f"Column {name!r} is missing from the header row.") for name in missing
            ],
        )
    reader.fieldnames = header
    modes = factors.travel_modes()
    accepted = sorted(modes)
    known_modes = {mode.value for mode in TravelMode}
    cities: dict[str, str | None] = {}
    counts: Counter[GroupKey] = Counter()
    rejected: list[dict[str, Any]] = []
    rows = 0
    for row in reader:
        rows += 1
        line = reader.line_num
        faults: list[dict[str, Any]] = []
        city_name = (row.get("origin_city") or "").strip()
        written_mode = (row.get("mode") or "").strip()
        mode = written_mode.lower()
        written_trip = (row.get("return") or "").strip()
        trip = written_trip.lower()
        if city_name not in cities:
            city = factors.city(city_name) if city_name else None
            cities[city_name] = city.id if city else None
        city_id = cities[city_name]
        if not city_name:
            faults.append(fault(rows, line, "origin_city", "origin_city is empty.", ""))
        elif city_id is None:
            faults.append(
                fault(
                    rows,
                    line,
                    "origin_city",
                    f"Unknown origin_city {_shown(city_name)}: not in the city table "
                    f"of factor set version {factors.version}.",
                    city_name,
                )
            )
        if mode not in modes:
            reason = (
                f"No cited emission factor for mode {_shown(written_mode)} in factor set version {factors.version}"
                if mode in known_modes
                else f"Unknown mode {_shown(written_mode)}"
            )
            faults.append(
                fault(
                    rows,
                    line,
                    "mode",
                    f"{reason}; the modes accepted are {', '.join(accepted)}.",
                    written_mode,
                    accepted,
                )
            )
        if trip not in RETURN_VALUES:
            faults.append(
                fault(rows, line, "return", f"return {_shown(written_trip)} is not yes or no.", written_trip)
            )
        if None in row:
            faults.append(fault(rows, line, None, "The row has more cells than the header."))
        if faults or city_id is None:
            rejected.extend(faults)
            continue
        counts[(city_id, mode, RETURN_VALUES[trip])] += 1
    if not rows:
        raise ValidationFailed(
            "The attendee file has no rows.",
            errors=[fault(None, None, "file", "The file holds no attendee row.")],
        )
    if not counts:
        raise ValidationFailed(
            f"None of the {rows} row(s) of the attendee file can be saved; nothing was saved.",
            errors=rejected,
        )
    return AttendeeList(counts, rows, rejected)


# -- the phase's list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TravelUpload:
    """A phase's attendee list after an upload, and what the file added to it or had rejected."""

    phase: Phase
    attendees: int
    groups: int
    grams: int
    added: int
    rejected: list[dict[str, Any]]
    rejected_rows: int
    append: bool


def _held_groups(session: Session, event_id: int, phase: Phase) -> dict[GroupKey, tuple[int, Decimal]]:
    """The phase's travel groups as (attendees, distance) by (city id, mode, return trip)."""
    query = select(EventTravelGroup).where(
        EventTravelGroup.event_id == event_id, EventTravelGroup.phase == phase
    )
    return {
        (group.origin_city, group.mode.value, group.return_trip): (group.attendees, group.distance_km)
        for group in session.scalars(query)
    }


def _check_list(groups: Mapping[GroupKey, tuple[int, Decimal]], factors: event_factors.EventFactors) -> None:
    """The whole list must stay within bounds and every mode it holds must have a cited factor."""
    total = sum(attendees for attendees, _distance in groups.values())
    if total > MAX_LIST_ATTENDEES:
        raise ValidationFailed(
            f"The list would hold {total} attendees, more than {MAX_LIST_ATTENDEES}; nothing was saved.",
            errors=[fault(None, None, "file", "too many attendees in the phase's list")],
        )
    modes = factors.travel_modes()
    uncited = sorted({mode for _city, mode, _trip in groups} - set(modes))
    if uncited:
        # Only rows uploaded under an earlier factor set can hold such a mode.
        raise ValidationFailed(
            f"The phase's list holds attendees travelling by {', '.join(uncited)}, which factor set "
            f"version {factors.version} has no cited factor for; upload the whole list again.",
            errors=[
                fault(None, None, "mode", f"no cited emission factor for mode {mode!r}", mode, sorted(modes))
                for mode in uncited
            ],
        )


def _write_list(
    session: Session,
    event_id: int,
    phase: Phase,
    held: Mapping[GroupKey, tuple[int, Decimal]],
    factors: event_factors.EventFactors,
) -> tuple[int, int]:
    """Write the phase's whole list: its travel groups, and one attendee-list source per mode.

    Gives the number of groups and the grams of those sources.
    """
    groups = []
    pkm_by_mode: dict[str, Decimal] = {}
    for (city_id, mode, return_trip), (attendees, distance) in sorted(held.items()):
        passenger_km = distance * attendees * (2 if return_trip else 1)
        pkm_by_mode[mode] = pkm_by_mode.get(mode, Decimal(0)) + passenger_km
        groups.append(
            {
                "event_id": event_id,
                "phase": phase,
                "origin_city": city_id,
                "mode": TravelMode(mode),
                "return_trip": return_trip,
                "attendees": attendees,
                "distance_km": distance,
                "passenger_km": passenger_km,
            }
        )
    session.execute(
        delete(EventTravelGroup).where(EventTravelGroup.event_id == event_id, EventTravelGroup.phase == phase)
    )
    session.execute(
        delete(EventSource).where(
            EventSource.event_id == event_id,
            EventSource.phase == phase,
            EventSource.from_attendee_list.is_(True),
        )
    )
    session.execute(insert(EventTravelGroup), groups)
    grams = 0
    modes = factors.travel_modes()
    for mode, passenger_km in sorted(pkm_by_mode.items()):
        row = EventSource(
            event_id=event_id,
            phase=phase,
            kind=SourceKind.TRAVEL,
            description=f"attendee travel by {mode} (attendee list)",
            **events.source_columns(passenger_km, factors.factors[modes[mode]]),
            from_attendee_list=True,
        )
        session.add(row)
        grams += row.grams
    return len(groups), grams


def upload_travel(
    principal: Principal, event_id: int, phase: Phase, body: bytes, append: bool = False
) -> TravelUpload:
    """Replace a phase's attendee list from a CSV file, or add the file's rows to it (`append`).

    The good rows are kept and the bad ones rejected, each fault with its row and line
    (`parse`); sending the rejected rows again, fixed, with `append` completes the list.
    The phase's attendee-list sources are computed again from the whole list with the current
    factor set, one per mode.
    """
    session = read_session()
    factors = event_factors.current_in(session)
    session.rollback()
    listed = parse(body, factors)
    with unit_of_work() as session:
        event = events.member_event(session, principal, event_id, lock=True)
        events.require_editable(session, event, phase)
        venue = factors.require_city(event.venue_city, "venue_city")
        held = _held_groups(session, event.id, phase) if append else {}
        for key, attendees in listed.counts.items():
            before, distance = held.get(key, (0, None))
            if distance is None:
                distance = event_factors.distance_km(factors.table.cities[key[0]], venue)
            held[key] = (before + attendees, distance)
        _check_list(held, factors)
        groups, grams = _write_list(session, event.id, phase, held, factors)
        attendees = sum(attendees for attendees, _distance in held.values())
        if phase is Phase.ACTUAL:
            event.actual_attendees = attendees
    return TravelUpload(
        phase,
        attendees,
        groups,
        grams,
        listed.attendees,
        listed.rejected,
        listed.rejected_rows,
        append,
    )
