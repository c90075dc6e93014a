"""The reservation primitive every sale uses: reserve grams, then confirm (sold) or release them.

Concurrency: a reservation first plans which batches to draw from (oldest vintage first, or the
chosen project or owner), then takes the grams with one conditional UPDATE per batch, in batch-id
order so that two reservers never wait on each other in a cycle. A batch's row lock, taken by that
UPDATE, also serialises the batch's free ranges and cursor, so slices never overlap. If a batch
was emptied between planning and taking, the savepoint is rolled back and the plan is made again.

The `*_in` functions join the caller's unit of work (an order service commits them with its own
rows); the others are units of work of their own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import (
    CTE,
    ColumnElement,
    Insert,
    Select,
    Update,
    any_,
    bindparam,
    delete,
    insert,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from models import (
    GRAMS_PER_TONNE,
    Allocation,
    AllocationState,
    Batch,
    FreeRange,
    Project,
    Reservation,
    ReservationStatus,
    utcnow,
)
from models.database import unit_of_work
from services.kernel.errors import InsufficientCredits, InvalidState, NotFound, ValidationFailed

MAX_PLAN_ATTEMPTS = 8
FREE_RANGE_PAGE = 64


@dataclass(frozen=True)
class Selector:
    """Where grams may come from; None everywhere means anywhere in the pool."""

    project_id: int | None = None
    owner_id: int | None = None
    kind_code: str | None = None
    kind_codes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SerialSlice:
    """Grams [from_g, to_g] (inclusive) of one registry tonne: "serial N, grams 0 to 9,999"."""

    batch_id: int
    serial: str
    from_g: int
    to_g: int

    @property
    def grams(self) -> int:
        return self.to_g - self.from_g + 1


@dataclass(frozen=True)
class PlannedTake:
    batch_id: int
    grams: int
    project_id: int


class PlanStale(Exception):
    """A batch no longer had the planned grams; plan again (in a new transaction or savepoint)."""


def reserve_in(session: Session, grams: int, selector: Selector, expires_at: datetime) -> Reservation:
    """Reserve `grams` from the pool inside the caller's transaction, or raise InsufficientCredits."""
    for _attempt in range(MAX_PLAN_ATTEMPTS):
        planned = plan(session, grams, selector)
        savepoint = session.begin_nested()
        try:
            reservation_id = insert_reservation(session, grams, expires_at)
            take(session, reservation_id, planned)
        except PlanStale:
            savepoint.rollback()
            continue
        savepoint.commit()
        reservation = session.get(Reservation, reservation_id)
        assert reservation is not None
        return reservation
    raise InsufficientCredits("The pool is too busy to reserve these grams now; try again.", grams=grams)


_BATCHES = Batch.__table__
_PROJECTS = Project.__table__


@cache
def _plan_query(by_project: bool, by_owner: bool, by_kind: bool, by_kinds: bool, arrays: bool) -> Select:
    """The planning query for one shape of selector, built once (its SQL is compiled once too).

    With `arrays` (PostgreSQL) a list of kinds is one array parameter, so the SQL text stays the same
    for every list; elsewhere it is an expanding IN.
    """
    query = (
        select(_BATCHES.c.id, _BATCHES.c.available_g, _BATCHES.c.project_id)
        .join(_PROJECTS, _PROJECTS.c.id == _BATCHES.c.project_id)
        .where(_BATCHES.c.available_g > 0)
        .order_by(_BATCHES.c.vintage, _BATCHES.c.id)
    )
    if by_project:
        query = query.where(_BATCHES.c.project_id == bindparam("plan_project_id"))
    if by_owner:
        query = query.where(_PROJECTS.c.owner_id == bindparam("plan_owner_id"))
    if by_kind:
        query = query.where(_PROJECTS.c.kind_code == bindparam("plan_kind_code"))
    if by_kinds and arrays:
        kinds = bindparam("plan_kind_codes", type_=postgresql.ARRAY(_PROJECTS.c.kind_code.type))
        query = query.where(_PROJECTS.c.kind_code == any_(kinds))
    elif by_kinds:
        query = query.where(_PROJECTS.c.kind_code.in_(bindparam("plan_kind_codes", expanding=True)))
    return query


def plan_query(selector: Selector, postgresql_dialect: bool) -> tuple[Select, dict]:
    """The planning query for `selector` (eligible batches, oldest vintage first) and its parameters.

    The parameters are named `plan_*`, so that they never meet a column's name in an enclosing
    UPDATE (Core would set that column from them).
    """
    query = _plan_query(
        selector.project_id is not None,
        selector.owner_id is not None,
        selector.kind_code is not None,
        selector.kind_codes is not None,
        postgresql_dialect,
    )
    parameters = {
        "plan_project_id": selector.project_id,
        "plan_owner_id": selector.owner_id,
        "plan_kind_code": selector.kind_code,
        "plan_kind_codes": list(selector.kind_codes or ()),
    }
    return query, parameters


def plan(session: Session, grams: int, selector: Selector) -> list[PlannedTake]:
    """Which batches to draw from (oldest vintage first), read without locking; in batch-id order."""
    if grams <= 0:
        raise ValidationFailed("Grams to reserve must be positive.", errors={"grams": ["must be positive"]})
    connection = session.connection()
    query, parameters = plan_query(selector, connection.dialect.name == "postgresql")
    planned: list[PlannedTake] = []
    remaining = grams
    for batch_id, available, project_id in connection.execute(query, parameters):
        take = min(available, remaining)
        planned.append(PlannedTake(batch_id, take, project_id))
        remaining -= take
        if remaining == 0:
            return sorted(planned, key=lambda p: p.batch_id)
    raise InsufficientCredits(
        "Not enough credits are available for this selection.",
        requested_g=grams,
        available_g=grams - remaining,
    )


_INSERT_RESERVATION = insert(Reservation.__table__).returning(Reservation.__table__.c.id)


def insert_reservation(session: Session, grams: int, expires_at: datetime) -> int:
    """The reservation row, inserted before any batch is locked; gives its id."""
    return (
        session.connection()
        .execute(
            _INSERT_RESERVATION,
            {"grams": grams, "expires_at": expires_at, "status": ReservationStatus.RESERVED},
        )
        .scalar_one()
    )


def _take_from_tail_update(batch_id: ColumnElement[int]) -> Update:
    # A batch without free ranges (available = its never-allocated tail) gives its grams from the
    # tail: the take and the cursor's advance are one statement. Otherwise returned grams go first.
    return (
        update(_BATCHES)
        .where(
            _BATCHES.c.id == batch_id,
            _BATCHES.c.available_g >= bindparam("grams"),
            _BATCHES.c.available_g == _BATCHES.c.issued_g - _BATCHES.c.cursor_g,
        )
        .values(
            available_g=_BATCHES.c.available_g - bindparam("grams"),
            reserved_g=_BATCHES.c.reserved_g + bindparam("grams"),
            cursor_g=_BATCHES.c.cursor_g + bindparam("grams"),
        )
        .returning(_BATCHES.c.cursor_g)
    )


_TAKE_FROM_TAIL = _take_from_tail_update(bindparam("batch_id"))
_TAKE = (
    update(_BATCHES)
    .where(_BATCHES.c.id == bindparam("batch_id"), _BATCHES.c.available_g >= bindparam("grams"))
    .values(
        available_g=_BATCHES.c.available_g - bindparam("grams"),
        reserved_g=_BATCHES.c.reserved_g + bindparam("grams"),
    )
)
_ALLOCATIONS = Allocation.__table__
_INSERT_ALLOCATIONS = insert(_ALLOCATIONS)


def tail_take(batch_id: ColumnElement[int]) -> Update:
    """The take of parameter `grams` from the tail of batch `batch_id` (a bind parameter or an
    expression over an enclosing statement's CTEs); returns the batch's new cursor and its id, or no
    row when the batch has free ranges or too few grams."""
    return _take_from_tail_update(batch_id).returning(_BATCHES.c.id)


def slice_taken(reservation_id: ColumnElement[int], taken: CTE, joined: CTE | None = None) -> Insert:
    """PostgreSQL: the allocation row of the slice `taken` (a CTE of `tail_take`) for the reservation;
    returns the slice's end. `reservation_id` is a bind parameter, or a column of the CTE `joined`
    (one row at most)."""
    rows = select(
        reservation_id,
        taken.c.id,
        taken.c.cursor_g - bindparam("grams"),
        taken.c.cursor_g,
        literal_column(f"'{AllocationState.RESERVED.value}'"),
    )
    if joined is not None:
        rows = rows.select_from(joined.join(taken, true()))
    return (
        insert(_ALLOCATIONS)
        .from_select(["reservation_id", "batch_id", "start_g", "end_g", "state"], rows)
        .returning(_ALLOCATIONS.c.end_g)
    )


# The take and its allocation row in one statement.
_TAKE_FROM_TAIL_RECORDED = slice_taken(
    bindparam("reservation_id", type_=_ALLOCATIONS.c.reservation_id.type),
    tail_take(bindparam("batch_id")).cte("taken"),
)


def take(session: Session, reservation_id: int, planned: list[PlannedTake]) -> None:
    """Take the planned grams (conditional UPDATEs in batch-id order) and record their slices.

    The batch rows stay locked until the caller commits, so callers insert everything else first
    and call this last. Raises PlanStale when a batch no longer has its planned grams.
    """
    session.flush()  # whatever the caller added goes in before the locks are taken
    connection = session.connection()
    recorded_here = connection.dialect.name == "postgresql"
    unrecorded: list[tuple[int, int, int]] = []  # slices whose allocation rows are still to insert
    for planned_take in planned:
        batch_id, grams = planned_take.batch_id, planned_take.grams
        parameters = {"batch_id": batch_id, "grams": grams}
        if recorded_here:
            statement = _TAKE_FROM_TAIL_RECORDED
            parameters["reservation_id"] = reservation_id
        else:
            statement = _TAKE_FROM_TAIL
        end = connection.execute(statement, parameters).scalar()
        if end is not None:
            if not recorded_here:
                unrecorded.append((batch_id, end - grams, end))
            continue
        if connection.execute(_TAKE, parameters).rowcount != 1:
            raise PlanStale
        unrecorded += [(batch_id, start, end) for start, end in _carve(session, batch_id, grams)]
    if unrecorded:
        connection.execute(
            _INSERT_ALLOCATIONS,
            [
                {
                    "reservation_id": reservation_id,
                    "batch_id": batch_id,
                    "start_g": start,
                    "end_g": end,
                    "state": AllocationState.RESERVED,
                }
                for batch_id, start, end in unrecorded
            ],
        )


def _carve(session: Session, batch_id: int, grams: int) -> list[tuple[int, int]]:
    """Concrete gram ranges of a locked batch: returned grams first, then the never-allocated tail."""
    pieces: list[tuple[int, int]] = []
    need = grams
    while need:
        ranges = session.scalars(
            select(FreeRange)
            .where(FreeRange.batch_id == batch_id)
            .order_by(FreeRange.start_g)
            .limit(FREE_RANGE_PAGE)
        ).all()
        if not ranges:
            break
        for free in ranges:
            take = min(need, free.end_g - free.start_g)
            pieces.append((free.start_g, free.start_g + take))
            if take == free.end_g - free.start_g:
                session.delete(free)
            else:
                free.start_g += take
            need -= take
            if not need:
                break
        session.flush()
    if need:
        cursor = session.execute(
            update(Batch)
            .where(Batch.id == batch_id)
            .values(cursor_g=Batch.cursor_g + need)
            .returning(Batch.cursor_g)
        ).scalar_one()
        pieces.append((cursor - need, cursor))
    return _merge(pieces)


def _merge(pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(pieces):
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _claim(session: Session, reservation_id: int, to: ReservationStatus, at_field: str) -> Reservation:
    """Move a reserved reservation to `to`, exactly once even under concurrent calls."""
    reservation = session.scalars(
        update(Reservation)
        .where(Reservation.id == reservation_id, Reservation.status == ReservationStatus.RESERVED)
        .values(status=to, **{at_field: utcnow()})
        .returning(Reservation),
        execution_options={"populate_existing": True, "synchronize_session": False},
    ).one_or_none()
    if reservation is not None:
        return reservation
    found = session.get(Reservation, reservation_id, populate_existing=True)
    if found is None:
        raise NotFound(f"Reservation {reservation_id} does not exist.")
    raise InvalidState(
        f"Reservation {reservation_id} is {found.status.value}, not reserved.", status=found.status.value
    )


def _grams_by_batch(allocations: Iterable[Allocation]) -> list[tuple[int, int]]:
    totals: dict[int, int] = defaultdict(int)
    for allocation in allocations:
        totals[allocation.batch_id] += allocation.grams
    return sorted(totals.items())


def confirm_in(session: Session, reservation_id: int) -> Reservation:
    """Reserved grams become sold (payment arrived). Raises InvalidState unless still reserved."""
    reservation, sold = confirm_slices_in(session, reservation_id)
    count_sold_in(session, sold)
    return reservation


def confirm_slices_in(session: Session, reservation_id: int) -> tuple[Reservation, list[tuple[int, int]]]:
    """The first half of `confirm_in`: the reservation and its slices become sold; gives the
    reservation and the (batch id, grams) that `count_sold_in` must then move to sold.

    The batch rows are every buyer's hot spot, so a caller with more to write in the same
    transaction (fulfilment: certificate, points, ledger) writes it between the two halves: the batch
    rows are then locked only from the second half to the commit.
    """
    reservation = _claim(session, reservation_id, ReservationStatus.CONFIRMED, "confirmed_at")
    sold_slices = session.scalars(
        update(Allocation)
        .where(Allocation.reservation_id == reservation_id)
        .values(state=AllocationState.SOLD)
        .returning(Allocation),
        execution_options={"populate_existing": True, "synchronize_session": False},
    ).all()
    session.expire(reservation, ["allocations"])
    return reservation, _grams_by_batch(sold_slices)


def count_sold_in(session: Session, sold: list[tuple[int, int]]) -> None:
    """The second half of `confirm_in`: each batch's reserved grams become sold, in batch-id order."""
    for batch_id, grams in sold:
        session.execute(
            update(Batch)
            .where(Batch.id == batch_id)
            .values(reserved_g=Batch.reserved_g - grams, sold_g=Batch.sold_g + grams)
        )


def release_in(session: Session, reservation_id: int) -> Reservation:
    """Reserved grams return to the pool (expiry, cancellation, failed payment)."""
    reservation = _claim(session, reservation_id, ReservationStatus.RELEASED, "released_at")
    allocations = list(reservation.allocations)
    for batch_id, grams in _grams_by_batch(allocations):
        session.execute(
            update(Batch)
            .where(Batch.id == batch_id)
            .values(reserved_g=Batch.reserved_g - grams, available_g=Batch.available_g + grams)
        )
    _free(session, allocations)
    return reservation


def return_sold_in(session: Session, reservation_id: int, grams: int) -> list[tuple[int, int, int]]:
    """Give `grams` of a confirmed reservation back to the pool (a refund), newest slices first.

    Returns the (batch_id, start_g, end_g) ranges returned. Retired grams cannot come back: the
    batch's CHECK (retired_g <= sold_g) refuses it, and callers check retirement first.
    """
    reservation = session.get(Reservation, reservation_id, with_for_update=True, populate_existing=True)
    if reservation is None:
        raise NotFound(f"Reservation {reservation_id} does not exist.")
    if reservation.status != ReservationStatus.CONFIRMED:
        raise InvalidState(f"Reservation {reservation_id} is {reservation.status.value}, not confirmed.")
    if grams <= 0 or grams > reservation.grams - reservation.returned_g:
        raise ValidationFailed(
            "Cannot return more grams than are sold.",
            errors={"grams": [f"at most {reservation.grams - reservation.returned_g}"]},
        )
    returned: list[tuple[int, int, int]] = []
    for allocation, start, end in plan_return(reservation.allocations, grams):
        returned.append((allocation.batch_id, start, end))
        if start == allocation.start_g:
            session.delete(allocation)
        else:
            allocation.end_g = start
    totals: dict[int, int] = defaultdict(int)
    for batch_id, start, end in returned:
        totals[batch_id] += end - start
    for batch_id, batch_grams in sorted(totals.items()):
        session.execute(
            update(Batch)
            .where(Batch.id == batch_id)
            .values(sold_g=Batch.sold_g - batch_grams, available_g=Batch.available_g + batch_grams)
        )
    for batch_id, start, end in returned:
        session.add(FreeRange(batch_id=batch_id, start_g=start, end_g=end))
    reservation.returned_g += grams
    session.flush()
    return returned


def plan_return(allocations: Iterable[Allocation], grams: int) -> list[tuple[Allocation, int, int]]:
    """The sold grams a return of `grams` gives back, newest slices first: (allocation, start_g, end_g)."""
    plan: list[tuple[Allocation, int, int]] = []
    need = grams
    for allocation in sorted(allocations, key=lambda a: (a.batch_id, a.start_g), reverse=True):
        if not need:
            break
        take = min(need, allocation.grams)
        plan.append((allocation, allocation.end_g - take, allocation.end_g))
        need -= take
    return plan


def _free(session: Session, allocations: list[Allocation]) -> None:
    for allocation in allocations:
        session.add(
            FreeRange(batch_id=allocation.batch_id, start_g=allocation.start_g, end_g=allocation.end_g)
        )
    if allocations:
        session.execute(delete(Allocation).where(Allocation.id.in_([a.id for a in allocations])))
    session.flush()


def serial_slices(session: Session, allocations: Iterable[Allocation]) -> list[SerialSlice]:
    """Split allocations at tonne boundaries into registry serials with gram offsets."""
    slices: list[SerialSlice] = []
    batches: dict[int, Batch] = {}
    for allocation in sorted(allocations, key=lambda a: (a.batch_id, a.start_g)):
        batch = batches.get(allocation.batch_id) or session.get(Batch, allocation.batch_id)
        batches[allocation.batch_id] = batch
        position = allocation.start_g
        while position < allocation.end_g:
            tonne = position // GRAMS_PER_TONNE
            tonne_end = min(allocation.end_g, (tonne + 1) * GRAMS_PER_TONNE)
            slices.append(
                SerialSlice(
                    batch_id=batch.id,
                    serial=batch.serial(tonne),
                    from_g=position - tonne * GRAMS_PER_TONNE,
                    to_g=tonne_end - 1 - tonne * GRAMS_PER_TONNE,
                )
            )
            position = tonne_end
    return slices


# Units of work of their own, for callers that only need the primitive.


def reserve(grams: int, selector: Selector, ttl_s: int) -> int:
    """Reserve grams for `ttl_s` seconds; returns the reservation id."""
    with unit_of_work() as session:
        return reserve_in(session, grams, selector, utcnow() + timedelta(seconds=ttl_s)).id


def confirm(reservation_id: int) -> None:
    with unit_of_work() as session:
        confirm_in(session, reservation_id)


def release(reservation_id: int) -> None:
    with unit_of_work() as session:
        release_in(session, reservation_id)
