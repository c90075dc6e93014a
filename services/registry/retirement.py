"""Registry retirement (注销): gather whole sold tonnes, file them at the registry, record its answer.

A tonne (grams [i × 1,000,000, (i + 1) × 1,000,000) of a batch, serial `batch.serial(i)`) can be
retired once every one of its grams is in sold allocations and it is in no retirement that is not
cancelled. Sold allocations may span tonne boundaries, so the grams sold in each tonne are summed
in SQL with a recursive CTE that cuts every allocation at the tonnes it touches.

A retirement is made as a draft of such tonnes (all of one credit kind, that is one registry);
from then on its tonnes are locked: a refund that would give back grams of them is refused
(`services.settlement.refunds`), so they stay fully sold. The admin files the list at the registry
(submitted), then records the registry's answer (confirmed: its reference, URL and date), which
adds the tonnes to `batches.retired_g` and to the public ledger; or cancels the retirement before
that, which unlocks them. Every write is one unit of work with its audit entry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    CTE,
    Select,
    and_,
    case,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    GRAMS_PER_TONNE,
    Allocation,
    AllocationState,
    Batch,
    Certificate,
    CertificateStatus,
    CreditKind,
    Order,
    Project,
    Refund,
    RefundStatus,
    RetiredTonne,
    Retirement,
    RetirementStatus,
    utcnow,
)
from models.database import read_session, unit_of_work
from services.kernel import audit, beijing_time
from services.kernel.errors import Conflict, InvalidState, NotFound, ValidationFailed
from services.kernel.export_cells import csv_document
from services.kernel.paging import objects_page, rows_page, total_of, window
from services.kernel.web_urls import WEB_MESSAGE, is_web_url
from services.ledger.recording import tonnes_retired_in

M = GRAMS_PER_TONNE
S = RetirementStatus

TRANSITIONS: dict[RetirementStatus, frozenset[RetirementStatus]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.CANCELLED}),
    S.SUBMITTED: frozenset({S.CONFIRMED, S.CANCELLED}),
    S.CONFIRMED: frozenset(),
    S.CANCELLED: frozenset(),
}
MAX_TONNES_PER_RETIREMENT = 100_000
LOCK_CHUNK = 500


@dataclass(frozen=True)
class TonneFilter:
    """Which batches to look for retirable tonnes in."""

    kind_code: str | None = None
    project_id: int | None = None
    batch_ids: tuple[int, ...] | None = None


# -- Tonnes: sold grams per tonne, in SQL --


def sold_pieces(batches: Select[Any] | None = None, exclude_processing_refunds: bool = False) -> CTE:
    """Every sold allocation cut at tonne boundaries: (batch_id, start_g, end_g, tonne_index) rows.

    An allocation [start, end) yields one row for each tonne it touches; the grams of the row in
    that tonne are `piece_grams(...)`. With `exclude_processing_refunds`, allocations of an order
    whose refund is under way are left out (their grams may be about to return to the pool).
    """
    base = select(
        Allocation.batch_id,
        Allocation.start_g,
        Allocation.end_g,
        (Allocation.start_g // M).label("tonne_index"),
    ).where(Allocation.state == AllocationState.SOLD)
    if batches is not None:
        base = base.where(Allocation.batch_id.in_(batches))
    if exclude_processing_refunds:
        base = base.where(
            ~exists(
                select(Refund.id)
                .join(Order, Order.id == Refund.order_id)
                .where(
                    Order.reservation_id == Allocation.reservation_id,
                    Refund.status == RefundStatus.PROCESSING,
                )
            )
        )
    pieces = base.cte("sold_pieces", recursive=True)
    return pieces.union_all(
        select(pieces.c.batch_id, pieces.c.start_g, pieces.c.end_g, pieces.c.tonne_index + 1).where(
            (pieces.c.tonne_index + 1) * M < pieces.c.end_g
        )
    )


def overlap_expr(start: Any, end: Any, tonne_index: Any) -> Any:
    """SQL: how many grams of [start, end) lie in tonne `tonne_index` (both ends clipped to it)."""
    low = case((start > tonne_index * M, start), else_=tonne_index * M)
    high = case((end < (tonne_index + 1) * M, end), else_=(tonne_index + 1) * M)
    return high - low


def _candidate_batches(tonnes: TonneFilter) -> Select[Any]:
    query = select(Batch.id).join(Project, Project.id == Batch.project_id).where(Batch.sold_g >= M)
    if tonnes.kind_code is not None:
        query = query.where(Project.kind_code == tonnes.kind_code)
    if tonnes.project_id is not None:
        query = query.where(Batch.project_id == tonnes.project_id)
    if tonnes.batch_ids is not None:
        query = query.where(Batch.id.in_(tonnes.batch_ids))
    return query


def retirable_tonnes(tonnes: TonneFilter) -> Select[Any]:
    """(batch_id, tonne_index) of every fully sold tonne in no active retirement, oldest first."""
    pieces = sold_pieces(_candidate_batches(tonnes), exclude_processing_refunds=True)
    locked = exists(
        select(RetiredTonne.id).where(
            RetiredTonne.active,
            RetiredTonne.batch_id == pieces.c.batch_id,
            RetiredTonne.tonne_index == pieces.c.tonne_index,
        )
    )
    return (
        select(pieces.c.batch_id, pieces.c.tonne_index)
        .where(~locked)
        .group_by(pieces.c.batch_id, pieces.c.tonne_index)
        .having(func.sum(overlap_expr(pieces.c.start_g, pieces.c.end_g, pieces.c.tonne_index)) == M)
        .order_by(pieces.c.batch_id, pieces.c.tonne_index)
    )


def tonnes_not_fully_sold(
    session: Session, retirement_id: int | None = None
) -> list[tuple[int, int, int, int]]:
    """Active retired tonnes (of one retirement, or all) whose grams are not all sold.

    Gives (retirement_id, batch_id, tonne_index, sold grams in the tonne).
    """
    sold_g = func.coalesce(
        func.sum(overlap_expr(Allocation.start_g, Allocation.end_g, RetiredTonne.tonne_index)), 0
    )
    query = (
        select(RetiredTonne.retirement_id, RetiredTonne.batch_id, RetiredTonne.tonne_index, sold_g)
        .outerjoin(
            Allocation,
            and_(
                Allocation.batch_id == RetiredTonne.batch_id,
                Allocation.state == AllocationState.SOLD,
                Allocation.start_g < (RetiredTonne.tonne_index + 1) * M,
                Allocation.end_g > RetiredTonne.tonne_index * M,
            ),
        )
        .where(RetiredTonne.active)
        .group_by(
            RetiredTonne.id, RetiredTonne.retirement_id, RetiredTonne.batch_id, RetiredTonne.tonne_index
        )
        .having(sold_g != M)
        .order_by(RetiredTonne.batch_id, RetiredTonne.tonne_index)
    )
    if retirement_id is not None:
        query = query.where(RetiredTonne.retirement_id == retirement_id)
    rows = session.execute(query)
    return [(r, b, t, int(g)) for r, b, t, g in rows]


def serial_runs(session: Session, retirement_id: int) -> dict[int, list[tuple[int, int]]]:
    """The tonnes of a retirement as runs of consecutive indices per batch: {batch_id: [(first, last)]}.

    Consecutive indices share `tonne_index - row_number()` (the gaps-and-islands method).
    """
    position = func.row_number().over(partition_by=RetiredTonne.batch_id, order_by=RetiredTonne.tonne_index)
    islands = (
        select(
            RetiredTonne.batch_id,
            RetiredTonne.tonne_index,
            (RetiredTonne.tonne_index - position).label("island"),
        )
        .where(RetiredTonne.retirement_id == retirement_id)
        .subquery()
    )
    first = func.min(islands.c.tonne_index)
    runs: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for batch_id, low, high in session.execute(
        select(islands.c.batch_id, first, func.max(islands.c.tonne_index))
        .group_by(islands.c.batch_id, islands.c.island)
        .order_by(islands.c.batch_id, first)
    ):
        runs[batch_id].append((int(low), int(high)))
    return runs


# -- Reading --


def list_retirable(
    *,
    page: int,
    page_size: int,
    kind_code: str | None = None,
    project_id: int | None = None,
    batch_id: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Fully sold tonnes waiting for retirement, oldest batch first, with their serials."""
    session = read_session()
    query = retirable_tonnes(
        TonneFilter(kind_code, project_id, (batch_id,) if batch_id is not None else None)
    )
    rows, total = rows_page(session, query, page, page_size)
    batches = _batches(session, {batch_id for batch_id, _ in rows})
    items = [_tonne_view(batches[batch_id], tonne) for batch_id, tonne in rows]
    session.rollback()
    return items, int(total)


def _batches(session: Session, ids: Iterable[int]) -> dict[int, Batch]:
    ids = set(ids)
    if not ids:
        return {}
    rows = session.scalars(select(Batch).where(Batch.id.in_(ids))).all()
    return {batch.id: batch for batch in rows}


def _tonne_view(batch: Batch, tonne_index: int) -> dict[str, Any]:
    return {
        "serial": batch.serial(tonne_index),
        "batch_id": batch.id,
        "tonne_index": tonne_index,
        "kind": batch.project.kind_code,
        "project_code": batch.project.code,
        "project_name": batch.project.name,
        "vintage": batch.vintage,
        "batch_registry_ref": batch.registry_ref,
    }


def _retirement(session: Session, retirement_id: int, lock: bool = False) -> Retirement:
    query = select(Retirement).where(Retirement.id == retirement_id)
    if lock:
        query = query.with_for_update()
    retirement = session.scalar(query.execution_options(populate_existing=True))
    if retirement is None:
        raise NotFound(f"Retirement {retirement_id} does not exist.")
    return retirement


def _view(session: Session, retirement: Retirement) -> dict[str, Any]:
    runs = serial_runs(session, retirement.id)
    batches = _batches(session, runs)
    return {
        "id": retirement.id,
        "status": retirement.status.value,
        "kind": retirement.kind_code,
        "tonnes": retirement.tonnes,
        "grams": retirement.tonnes * M,
        "note": retirement.note,
        "created_by": retirement.created_by,
        "created_at": retirement.created_at,
        "submission_ref": retirement.submission_ref,
        "submitted_at": retirement.submitted_at,
        "registry_ref": retirement.registry_ref,
        "registry_url": retirement.registry_url,
        "retired_on": retirement.retired_on,
        "confirmed_at": retirement.confirmed_at,
        "cancelled_at": retirement.cancelled_at,
        "cancel_reason": retirement.cancel_reason,
        "batches": [
            {
                "batch_id": batch_id,
                "project_code": batches[batch_id].project.code,
                "vintage": batches[batch_id].vintage,
                "tonnes": sum(last - first + 1 for first, last in batch_runs),
                "serials": [
                    {
                        "first": batches[batch_id].serial(first),
                        "last": batches[batch_id].serial(last),
                        "tonnes": last - first + 1,
                    }
                    for first, last in batch_runs
                ],
            }
            for batch_id, batch_runs in sorted(runs.items())
        ],
    }


def get_retirement(retirement_id: int) -> dict[str, Any]:
    """A retirement with its tonnes summed up per batch as serial ranges."""
    session = read_session()
    view = _view(session, _retirement(session, retirement_id))
    session.rollback()
    return view


def list_retirements(
    *, page: int, page_size: int, status: str | None = None, kind: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Retirements, newest first, optionally of one status or credit kind."""
    session = read_session()
    query = select(Retirement)
    if status is not None:
        query = query.where(Retirement.status == status)
    if kind is not None:
        query = query.where(Retirement.kind_code == kind)
    rows, total = objects_page(session, query.order_by(Retirement.id.desc()), page, page_size)
    items = [_view(session, retirement) for retirement in rows]
    session.rollback()
    return items, int(total)


def _tonne_rows(session: Session, retirement_id: int) -> Select[Any]:
    return (
        select(RetiredTonne)
        .where(RetiredTonne.retirement_id == retirement_id)
        .order_by(RetiredTonne.batch_id, RetiredTonne.tonne_index)
    )


def list_tonnes(retirement_id: int, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """The tonnes of a retirement, by batch and serial."""
    session = read_session()
    _retirement(session, retirement_id)
    query = _tonne_rows(session, retirement_id)
    rows, total = objects_page(session, query, page, page_size)
    batches = _batches(session, {row.batch_id for row in rows})
    items = [_tonne_view(batches[row.batch_id], row.tonne_index) for row in rows]
    session.rollback()
    return items, int(total)


def list_beneficiaries(retirement_id: int, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """Who each tonne is retired for: the orders and certificates holding its grams, grams per tonne."""
    session = read_session()
    _retirement(session, retirement_id)
    grams = func.sum(overlap_expr(Allocation.start_g, Allocation.end_g, RetiredTonne.tonne_index))
    query = (
        select(
            RetiredTonne.serial,
            RetiredTonne.batch_id,
            RetiredTonne.tonne_index,
            Order.out_trade_no,
            Certificate.number,
            grams.label("grams"),
        )
        .join(
            Allocation,
            and_(
                Allocation.batch_id == RetiredTonne.batch_id,
                Allocation.state == AllocationState.SOLD,
                Allocation.start_g < (RetiredTonne.tonne_index + 1) * M,
                Allocation.end_g > RetiredTonne.tonne_index * M,
            ),
        )
        .outerjoin(Order, Order.reservation_id == Allocation.reservation_id)
        .outerjoin(
            Certificate, and_(Certificate.order_id == Order.id, Certificate.status == CertificateStatus.VALID)
        )
        .where(RetiredTonne.retirement_id == retirement_id)
        .group_by(
            RetiredTonne.id,
            RetiredTonne.serial,
            RetiredTonne.batch_id,
            RetiredTonne.tonne_index,
            Order.out_trade_no,
            Certificate.number,
        )
    )
    total = total_of(session, query)
    rows = session.execute(
        window(
            query.order_by(RetiredTonne.batch_id, RetiredTonne.tonne_index, Order.out_trade_no),
            page,
            page_size,
        )
    )
    items = [
        {
            "serial": serial,
            "batch_id": batch_id,
            "tonne_index": tonne,
            "out_trade_no": out_trade_no,
            "certificate_number": number,
            "grams": int(g),
        }
        for serial, batch_id, tonne, out_trade_no, number, g in rows
    ]
    session.rollback()
    return items, int(total)


CSV_COLUMNS = (
    "serial",
    "kind",
    "project_code",
    "project_name",
    "vintage",
    "batch_registry_ref",
    "batch_id",
    "tonne_index",
    "tonnes_co2e",
)


def export_tonnes_csv(retirement_id: int) -> tuple[str, str]:
    """The tonne list of a retirement as CSV for the registry; gives (file name, text).

    The text starts with a byte-order mark so that spreadsheet programs read the Chinese names.
    """
    session = read_session()
    retirement = _retirement(session, retirement_id)
    batches: dict[int, Batch] = {}

    def rows() -> Iterable[list[Any]]:
        for row in session.scalars(_tonne_rows(session, retirement_id)).yield_per(1000):
            if row.batch_id not in batches:
                batches.update(_batches(session, [row.batch_id]))
            view = _tonne_view(batches[row.batch_id], row.tonne_index)
            yield [*(view[column] for column in CSV_COLUMNS[:-1]), 1]

    text = csv_document(CSV_COLUMNS, rows())
    name = f"retirement-{retirement.id}-{retirement.kind_code}-{retirement.tonnes}t.csv"
    session.rollback()
    return name, text


# -- Writing --


def create_draft(
    actor_id: int | None,
    *,
    kind_code: str,
    project_id: int | None = None,
    batch_ids: Iterable[int] | None = None,
    max_tonnes: int | None = None,
    note: str = "",
) -> dict[str, Any]:
    """Gather up to `max_tonnes` retirable tonnes of one credit kind into a draft; they are locked."""
    limit = min(max_tonnes or MAX_TONNES_PER_RETIREMENT, MAX_TONNES_PER_RETIREMENT)
    tonnes = TonneFilter(kind_code, project_id, tuple(batch_ids) if batch_ids is not None else None)
    with unit_of_work() as session:
        _check_filter(session, tonnes)
        candidates = [tuple(row) for row in session.execute(retirable_tonnes(tonnes).limit(limit))]
        if not candidates:
            raise Conflict(f"No fully sold {kind_code} tonne is waiting for retirement.")
        # Lock the orders holding these grams, then look again: a refund asked for meanwhile has
        # either committed (its tonnes now drop out) or waits for this retirement and is refused.
        _lock_orders(session, candidates)
        still = {tuple(row) for row in session.execute(retirable_tonnes(tonnes).limit(limit))}
        chosen = [tonne for tonne in candidates if tonne in still]
        if not chosen:
            raise Conflict(
                "Another retirement or a refund took these tonnes at the same time; try again."
                if still
                else f"No fully sold {kind_code} tonne is waiting for retirement."
            )
        retirement = Retirement(
            kind_code=kind_code,
            status=S.DRAFT,
            tonnes=len(chosen),
            note=note,
            created_by=actor_id,
            created_at=utcnow(),
        )
        session.add(retirement)
        session.flush()
        batches = _batches(session, {batch_id for batch_id, _ in chosen})
        try:
            session.execute(
                insert(RetiredTonne),
                [
                    {
                        "retirement_id": retirement.id,
                        "batch_id": batch_id,
                        "tonne_index": tonne,
                        "serial": batches[batch_id].serial(tonne),
                        "active": True,
                    }
                    for batch_id, tonne in chosen
                ],
            )
        except IntegrityError as exc:
            raise Conflict(
                "Another retirement took some of these tonnes at the same time; try again."
            ) from exc
        view = _view(session, retirement)
        audit.record(
            session,
            actor_id,
            "retirement.create",
            "retirement",
            retirement.id,
            None,
            {**audit.snapshot(retirement), "batches": view["batches"]},
        )
        return view


def _check_filter(session: Session, tonnes: TonneFilter) -> None:
    if session.get(CreditKind, tonnes.kind_code) is None:
        raise NotFound(f"No credit kind {tonnes.kind_code!r}.", errors={"kind": ["unknown credit kind"]})
    if tonnes.project_id is not None:
        project = session.get(Project, tonnes.project_id)
        if project is None:
            raise NotFound(f"Project {tonnes.project_id} does not exist.", errors={"project_id": ["unknown"]})
        if project.kind_code != tonnes.kind_code:
            raise ValidationFailed(
                f"Project {project.code} sells {project.kind_code}, not {tonnes.kind_code}.",
                errors={"project_id": [f"not a {tonnes.kind_code} project"]},
            )


def _lock_orders(session: Session, tonnes: list[tuple[int, int]]) -> None:
    """Lock (in id order) every order holding grams of these tonnes, against refunds being asked."""
    by_batch: dict[int, list[int]] = defaultdict(list)
    for batch_id, tonne in tonnes:
        by_batch[batch_id].append(tonne)
    spans = []
    for batch_id, indices in by_batch.items():
        indices.sort()
        first = previous = indices[0]
        for index in [*indices[1:], None]:
            if index is not None and index == previous + 1:
                previous = index
                continue
            spans.append(
                and_(
                    Allocation.batch_id == batch_id,
                    Allocation.start_g < (previous + 1) * M,
                    Allocation.end_g > first * M,
                )
            )
            if index is not None:
                first = previous = index
    order_ids: set[int] = set()
    for start in range(0, len(spans), LOCK_CHUNK):
        holders = select(Allocation.reservation_id).where(
            Allocation.state == AllocationState.SOLD, or_(*spans[start : start + LOCK_CHUNK])
        )
        order_ids.update(session.scalars(select(Order.id).where(Order.reservation_id.in_(holders))))
    ordered = sorted(order_ids)
    for start in range(0, len(ordered), LOCK_CHUNK):
        session.execute(
            select(Order.id)
            .where(Order.id.in_(ordered[start : start + LOCK_CHUNK]))
            .order_by(Order.id)
            .with_for_update()
        ).all()


def _move(session: Session, retirement_id: int, to: RetirementStatus) -> tuple[Retirement, dict[str, Any]]:
    retirement = _retirement(session, retirement_id, lock=True)
    if to not in TRANSITIONS[retirement.status]:
        raise InvalidState(
            f"Retirement {retirement_id} is {retirement.status.value}; it cannot become {to.value}.",
            status=retirement.status.value,
        )
    before = audit.snapshot(retirement) or {}
    retirement.status = to
    return retirement, before


def submit(
    actor_id: int | None, retirement_id: int, submission_ref: str = "", note: str | None = None
) -> dict[str, Any]:
    """The tonne list has been filed at the registry (draft → submitted)."""
    with unit_of_work() as session:
        retirement, before = _move(session, retirement_id, S.SUBMITTED)
        retirement.submission_ref = submission_ref
        retirement.submitted_at = utcnow()
        if note is not None:
            retirement.note = note
        session.flush()
        audit.record(
            session,
            actor_id,
            "retirement.submit",
            "retirement",
            retirement.id,
            before,
            audit.snapshot(retirement),
        )
        return _view(session, retirement)


def confirm(
    actor_id: int | None,
    retirement_id: int,
    *,
    registry_ref: str,
    retired_on: date,
    registry_url: str = "",
) -> dict[str, Any]:
    """The registry retired the tonnes (submitted → confirmed); they count in `batches.retired_g`."""
    if not registry_ref.strip():
        raise ValidationFailed("Give the registry's reference.", errors={"registry_ref": ["required"]})
    if registry_url and not is_web_url(registry_url):
        raise ValidationFailed(WEB_MESSAGE, errors={"registry_url": [WEB_MESSAGE]})
    today = beijing_time.today()
    if retired_on > today:
        raise ValidationFailed(
            "The retirement date cannot be in the future.", errors={"retired_on": [f"after {today}"]}
        )
    with unit_of_work() as session:
        retirement, before = _move(session, retirement_id, S.CONFIRMED)
        retirement.registry_ref = registry_ref.strip()
        retirement.registry_url = registry_url
        retirement.retired_on = retired_on
        retirement.confirmed_at = utcnow()
        short = tonnes_not_fully_sold(session, retirement.id)
        if short:
            raise Conflict(
                f"{len(short)} tonne(s) of retirement {retirement_id} are no longer fully sold; run the pool audit.",
                errors={"tonnes": [f"batch {b} tonne {t}: {g} g sold" for _r, b, t, g in short[:20]]},
            )
        counts = session.execute(
            select(RetiredTonne.batch_id, func.count())
            .where(RetiredTonne.retirement_id == retirement.id, RetiredTonne.active)
            .group_by(RetiredTonne.batch_id)
            .order_by(RetiredTonne.batch_id)
        )
        for batch_id, count in counts:
            session.execute(
                update(Batch).where(Batch.id == batch_id).values(retired_g=Batch.retired_g + count * M)
            )
        session.flush()
        tonnes_retired_in(session, retirement)  # the public ledger, in the same unit of work
        audit.record(
            session,
            actor_id,
            "retirement.confirm",
            "retirement",
            retirement.id,
            before,
            audit.snapshot(retirement),
        )
        return _view(session, retirement)


def cancel(actor_id: int | None, retirement_id: int, reason: str) -> dict[str, Any]:
    """Give up a retirement not yet confirmed; its tonnes are unlocked (refundable, retirable again)."""
    with unit_of_work() as session:
        retirement, before = _move(session, retirement_id, S.CANCELLED)
        retirement.cancelled_at = utcnow()
        retirement.cancel_reason = reason[:255]
        session.execute(
            update(RetiredTonne).where(RetiredTonne.retirement_id == retirement.id).values(active=False)
        )
        session.flush()
        audit.record(
            session,
            actor_id,
            "retirement.cancel",
            "retirement",
            retirement.id,
            before,
            audit.snapshot(retirement),
        )
        return _view(session, retirement)
