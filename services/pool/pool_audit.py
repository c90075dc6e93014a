"""The pool audit: scans the whole database for broken gram accounting.

Checks (design rule 3): per batch, issued = available + reserved + sold and retired <= sold; the
counters equal what the allocations and free ranges say; no two slices of a batch overlap and
none lies beyond the batch's cursor; each reservation holds exactly its grams in the right state;
no two batches share a registry serial. Other parts of the service add their own checks with
`register_check` (e.g. every sold gram belongs to exactly one order line); the composition root
(`bootstrap`) imports those modules, so this one imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import case, func, literal, select, union_all
from sqlalchemy.orm import Session

from models import (
    GRAMS_PER_TONNE,
    Allocation,
    AllocationState,
    Batch,
    FreeRange,
    Reservation,
    ReservationStatus,
)
from models.database import read_session


@dataclass(frozen=True)
class Violation:
    rule: str
    subject: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.subject}: {self.message}"


AuditCheck = Callable[[Session], Iterable[Violation]]
_extra_checks: list[AuditCheck] = []


def register_check(check: AuditCheck) -> AuditCheck:
    """Add a check to every audit run (usable as a decorator)."""
    if check not in _extra_checks:
        _extra_checks.append(check)
    return check


def audit_pool(session: Session, pool_only: bool = False) -> Iterator[Violation]:
    """Yield every violation found; an empty result means the books balance.

    `pool_only` skips the registered checks of sales (for reservations made without an order).
    """
    yield from _batch_counters(session)
    yield from _batch_slices(session)
    yield from _reservations(session)
    yield from _serial_overlaps(session)
    if not pool_only:
        for check in _extra_checks:
            yield from check(session)


def _batch_counters(session: Session) -> Iterator[Violation]:
    allocated = {
        (batch_id, state): total
        for batch_id, state, total in session.execute(
            select(
                Allocation.batch_id, Allocation.state, func.sum(Allocation.end_g - Allocation.start_g)
            ).group_by(Allocation.batch_id, Allocation.state)
        )
    }
    free = dict(
        session.execute(
            select(FreeRange.batch_id, func.sum(FreeRange.end_g - FreeRange.start_g)).group_by(
                FreeRange.batch_id
            )
        ).all()
    )
    for batch in session.scalars(select(Batch).order_by(Batch.id)).yield_per(500):
        subject = f"batch {batch.id}"
        if batch.issued_g != batch.quantity_t * GRAMS_PER_TONNE:
            yield Violation("issued", subject, f"issued_g {batch.issued_g} != {batch.quantity_t} t")
        if batch.available_g + batch.reserved_g + batch.sold_g != batch.issued_g:
            yield Violation(
                "conservation",
                subject,
                f"available {batch.available_g} + reserved {batch.reserved_g} + sold {batch.sold_g} "
                f"!= issued {batch.issued_g}",
            )
        if batch.retired_g > batch.sold_g:
            yield Violation("retired", subject, f"retired {batch.retired_g} > sold {batch.sold_g}")
        for counter, value in (
            ("available", batch.available_g),
            ("reserved", batch.reserved_g),
            ("sold", batch.sold_g),
            ("retired", batch.retired_g),
        ):
            if value < 0:
                yield Violation("negative", subject, f"{counter} is {value}")
        reserved = allocated.get((batch.id, AllocationState.RESERVED), 0) or 0
        sold = allocated.get((batch.id, AllocationState.SOLD), 0) or 0
        if reserved != batch.reserved_g:
            yield Violation(
                "reserved-slices", subject, f"reserved_g {batch.reserved_g} but slices hold {reserved}"
            )
        if sold != batch.sold_g:
            yield Violation("sold-slices", subject, f"sold_g {batch.sold_g} but slices hold {sold}")
        unallocated = (free.get(batch.id) or 0) + batch.issued_g - batch.cursor_g
        if unallocated != batch.available_g:
            yield Violation(
                "available-slices",
                subject,
                f"available_g {batch.available_g} but free grams are {unallocated}",
            )


def _batch_slices(session: Session) -> Iterator[Violation]:
    slices = union_all(
        select(
            Allocation.batch_id, Allocation.start_g, Allocation.end_g, literal("allocation").label("what")
        ),
        select(FreeRange.batch_id, FreeRange.start_g, FreeRange.end_g, literal("free range").label("what")),
    ).subquery()
    rows = session.execute(
        select(slices.c.batch_id, slices.c.start_g, slices.c.end_g, slices.c.what, Batch.cursor_g)
        .join(Batch, Batch.id == slices.c.batch_id)
        .order_by(slices.c.batch_id, slices.c.start_g)
    ).yield_per(5000)
    previous_batch, previous_end = None, 0
    for batch_id, start, end, what, cursor in rows:
        if batch_id != previous_batch:
            previous_batch, previous_end = batch_id, 0
        if start < previous_end:
            yield Violation(
                "overlap",
                f"batch {batch_id}",
                f"{what} [{start}, {end}) overlaps grams before {previous_end}",
            )
        if end > cursor:
            yield Violation(
                "beyond-cursor", f"batch {batch_id}", f"{what} [{start}, {end}) beyond cursor {cursor}"
            )
        previous_end = max(previous_end, end)


def _reservations(session: Session) -> Iterator[Violation]:
    held = (
        select(
            Allocation.reservation_id,
            func.sum(Allocation.end_g - Allocation.start_g).label("grams"),
            func.sum(case((Allocation.state == AllocationState.RESERVED, 1), else_=0)).label(
                "reserved_slices"
            ),
            func.sum(case((Allocation.state == AllocationState.SOLD, 1), else_=0)).label("sold_slices"),
        )
        .group_by(Allocation.reservation_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Reservation.id,
            Reservation.status,
            Reservation.grams,
            Reservation.returned_g,
            held.c.grams,
            held.c.reserved_slices,
            held.c.sold_slices,
        )
        .outerjoin(held, held.c.reservation_id == Reservation.id)
        .order_by(Reservation.id)
    ).yield_per(5000)
    for rid, status, grams, returned, held_g, reserved_slices, sold_slices in rows:
        held_g, reserved_slices, sold_slices = held_g or 0, reserved_slices or 0, sold_slices or 0
        subject = f"reservation {rid}"
        if status == ReservationStatus.RESERVED and (held_g != grams or sold_slices):
            yield Violation(
                "reservation", subject, f"reserved {grams} g but holds {held_g} g ({sold_slices} sold slices)"
            )
        elif status == ReservationStatus.CONFIRMED and (held_g != grams - returned or reserved_slices):
            yield Violation(
                "reservation",
                subject,
                f"confirmed {grams - returned} g but holds {held_g} g ({reserved_slices} unsold slices)",
            )
        elif status == ReservationStatus.RELEASED and held_g:
            yield Violation("reservation", subject, f"released but still holds {held_g} g")


def _serial_overlaps(session: Session) -> Iterator[Violation]:
    rows = session.execute(
        select(Batch.id, Batch.serial_prefix, Batch.serial_start, Batch.serial_end).order_by(
            Batch.serial_prefix, Batch.serial_start
        )
    )
    previous: tuple[int, str, int] | None = None
    for batch_id, prefix, start, end in rows:
        if previous and previous[1] == prefix and start <= previous[2]:
            yield Violation(
                "serial-overlap",
                f"batch {batch_id}",
                f"serials from {prefix}{start} overlap batch {previous[0]}",
            )
        if previous is None or previous[1] != prefix or end > previous[2]:
            previous = (batch_id, prefix, end)


def run_audit(pool_only: bool = False) -> Iterator[Violation]:
    """Audit in a read-only transaction of its own."""
    session = read_session()
    try:
        yield from audit_pool(session, pool_only)
    finally:
        session.rollback()
