"""What refunds, certificates and the audit ask of the tonnes held by registry retirements.

A tonne is *locked* while it is in a retirement that is not cancelled (draft, submitted or
confirmed): its grams can no longer be refunded, so it stays fully sold until the registry has
retired it. It is *retired* once that retirement is confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from models import GRAMS_PER_TONNE, Allocation, AllocationState, RetiredTonne, Retirement, RetirementStatus
from services.pool.reservations import plan_return

GramRange = tuple[int, int, int]  # (batch_id, start_g, end_g), end exclusive
T = TypeVar("T")
CHUNK = 500  # conditions per query, well below SQLite's limit of bound parameters


@dataclass(frozen=True)
class RegistryRetirement:
    """The registry's record of a retired tonne."""

    retirement_id: int
    registry_ref: str
    registry_url: str
    retired_on: date


def tonnes_of(start_g: int, end_g: int) -> range:
    """Indices of the tonnes that the grams [start_g, end_g) touch."""
    return range(start_g // GRAMS_PER_TONNE, (end_g - 1) // GRAMS_PER_TONNE + 1)


def overlap_g(start_g: int, end_g: int, tonne_index: int) -> int:
    """How many of the grams [start_g, end_g) lie in the tonne `tonne_index`."""
    low = max(start_g, tonne_index * GRAMS_PER_TONNE)
    high = min(end_g, (tonne_index + 1) * GRAMS_PER_TONNE)
    return max(0, high - low)


def locked_grams(session: Session, ranges: Iterable[GramRange]) -> int:
    """Grams of `ranges` lying in tonnes of a retirement that is not cancelled."""
    ranges = [r for r in ranges if r[2] > r[1]]
    if not ranges:
        return 0
    locked: set[tuple[int, int]] = set()
    for chunk in _chunks(ranges):
        touched = [
            and_(
                RetiredTonne.batch_id == batch_id,
                RetiredTonne.tonne_index.between(start // GRAMS_PER_TONNE, (end - 1) // GRAMS_PER_TONNE),
            )
            for batch_id, start, end in chunk
        ]
        query = select(RetiredTonne.batch_id, RetiredTonne.tonne_index).where(
            RetiredTonne.active, or_(*touched)
        )
        locked.update((batch_id, tonne) for batch_id, tonne in session.execute(query))
    if not locked:
        return 0
    return sum(
        overlap_g(start, end, tonne)
        for batch_id, start, end in ranges
        for tonne in tonnes_of(start, end)
        if (batch_id, tonne) in locked
    )


def locked_grams_of_refund(session: Session, reservation_id: int | None, grams: int) -> int:
    """Grams that refunding `grams` of a sale would take out of tonnes held by a retirement."""
    if reservation_id is None or grams <= 0:
        return 0
    allocations = session.scalars(
        select(Allocation).where(
            Allocation.reservation_id == reservation_id, Allocation.state == AllocationState.SOLD
        )
    ).all()
    return locked_grams(
        session,
        ((allocation.batch_id, start, end) for allocation, start, end in plan_return(allocations, grams)),
    )


def registry_retirements(
    session: Session, claims: Iterable[tuple[int, str]]
) -> dict[str, RegistryRetirement]:
    """For the (batch_id, serial) pairs given, the registry record of each one retired, by serial."""
    wanted = set(claims)
    if not wanted:
        return {}
    found: dict[str, RegistryRetirement] = {}
    for chunk in _chunks(sorted({serial for _batch, serial in wanted})):
        rows = session.execute(
            select(
                RetiredTonne.batch_id,
                RetiredTonne.serial,
                Retirement.id,
                Retirement.registry_ref,
                Retirement.registry_url,
                Retirement.retired_on,
            )
            .join(Retirement, Retirement.id == RetiredTonne.retirement_id)
            .where(
                RetiredTonne.active,
                Retirement.status == RetirementStatus.CONFIRMED,
                RetiredTonne.serial.in_(chunk),
            )
        )
        for batch_id, serial, retirement_id, ref, url, retired_on in rows:
            if (batch_id, serial) in wanted:
                found[serial] = RegistryRetirement(retirement_id, ref, url, retired_on)
    return found


def _chunks(items: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
