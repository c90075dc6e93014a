"""Reconciliation runs: read a day's trade bill, match it, store what differs.

A run is recorded first (running), then the bill is read a chunk of rows at a time; each chunk is
one transaction that writes its discrepancies in bulk and the run's progress counts, so another
request can watch a long run advance. The orders and refunds the bill did not list are looked for
once the rows are exhausted, then the summary row is held against the sums of the rows and the run
is marked done with its totals. A run that cannot finish (a malformed line, WeChat Pay out of
reach) is marked failed with the reason; the discrepancies it had written stay, for what they are.

The bill comes from the configured payment provider (`run_for_date`; APIv3 checks its SHA1 digest)
or from a file (`run_for_file`: an admin's upload, or the command line).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, BinaryIO

from sqlalchemy import insert, select, update

from models import (
    DiscrepancyKind,
    ReconciliationDiscrepancy,
    ReconciliationRun,
    RunSource,
    RunStatus,
    utcnow,
)
from models.database import get_engine, read_session, unit_of_work
from payments.errors import GatewayError, NotFoundAtProvider, PaymentError
from payments.interface import PaymentProvider
from services.kernel import audit
from services.kernel.errors import Conflict, DomainError, NotFound, UpstreamError, ValidationFailed
from services.kernel.paging import objects_page
from services.reconciliation.reconciliation_matching import CHUNK_ROWS, BillMatcher
from services.reconciliation.trade_bill import (
    BillFormatError,
    BillRow,
    ByteCounter,
    TradeBillReader,
    text_lines,
)

log = logging.getLogger(__name__)

# What WeChat Pay answers for a day without any trade: an empty bill, not a failure.
NO_BILL_CODES = frozenset({"NO_STATEMENT_EXIST", "NO_BILL"})

Progress = Callable[[int], None]  # called with the bytes read so far


def start_run(
    *,
    actor_id: int | None,
    source: RunSource,
    provider_name: str,
    bill_date: date | None = None,
    filename: str = "",
    bytes_total: int | None = None,
) -> int:
    """Record a new running run (and, for an admin, its audit entry); its id."""
    with unit_of_work() as session:
        run = ReconciliationRun(
            bill_date=bill_date,
            source=source,
            provider=provider_name,
            filename=filename[:255],
            status=RunStatus.RUNNING,
            started_by=actor_id,
            bytes_total=bytes_total,
            created_at=utcnow(),
        )
        session.add(run)
        session.flush()
        audit.record(
            session,
            actor_id,
            "reconciliation.start",
            "reconciliation_run",
            run.id,
            None,
            {
                "bill_date": str(bill_date) if bill_date else None,
                "source": source.value,
                "filename": filename,
            },
        )
        return run.id


def run_for_date(actor_id: int | None, bill_date: date, provider: PaymentProvider) -> ReconciliationRun:
    """Download the day's bill through `provider` and reconcile it."""
    run_id = start_run(
        actor_id=actor_id, source=RunSource.PROVIDER, provider_name=provider.name, bill_date=bill_date
    )
    try:
        content = provider.trade_bill(bill_date)
    except NotFoundAtProvider as exc:
        if exc.code not in NO_BILL_CODES:
            _fail(run_id, f"WeChat Pay refused the bill: {exc.message}")
            raise Conflict(f"WeChat Pay refused the bill of {bill_date}: {exc.message}") from exc
        content = b""  # no trade at all that day
    except GatewayError as exc:
        _fail(run_id, f"WeChat Pay could not be reached: {exc.message}")
        raise UpstreamError(f"The bill of {bill_date} could not be downloaded: {exc.message}") from exc
    except PaymentError as exc:
        _fail(run_id, f"WeChat Pay refused the bill: {exc.message}")
        raise Conflict(f"WeChat Pay refused the bill of {bill_date}: {exc.message}") from exc
    with unit_of_work() as session:
        session.execute(
            update(ReconciliationRun).where(ReconciliationRun.id == run_id).values(bytes_total=len(content))
        )
    return reconcile(run_id, io.BytesIO(content), provider.name, bill_date)


def run_for_file(
    actor_id: int | None,
    stream: BinaryIO | Iterable[bytes],
    *,
    provider_name: str,
    filename: str = "",
    bill_date: date | None = None,
    source: RunSource = RunSource.UPLOAD,
    bytes_total: int | None = None,
    progress: Progress | None = None,
) -> ReconciliationRun:
    """Reconcile a bill file (any iterable of byte lines); without `bill_date`, the first row's date."""
    run_id = start_run(
        actor_id=actor_id,
        source=source,
        provider_name=provider_name,
        bill_date=bill_date,
        filename=filename,
        bytes_total=bytes_total,
    )
    return reconcile(run_id, stream, provider_name, bill_date, progress)


def reconcile(
    run_id: int,
    stream: BinaryIO | Iterable[bytes],
    provider_name: str,
    bill_date: date | None,
    progress: Progress | None = None,
) -> ReconciliationRun:
    """Read the bill in `stream` into the run `run_id`; the finished run."""
    counter = ByteCounter()
    reader = TradeBillReader(text_lines(stream, counter))
    matcher = BillMatcher(provider_name)
    written = 0
    lines = 0

    def save(session: Any, found: list[dict[str, Any]], **counts: Any) -> None:
        nonlocal written
        if found:
            for item in found:
                item["run_id"] = run_id
            session.execute(insert(ReconciliationDiscrepancy), found)
        written += len(found)
        session.execute(
            update(ReconciliationRun)
            .where(ReconciliationRun.id == run_id)
            .values(discrepancies=written, matched=matcher.matched, **counts)
        )

    def write(found: list[dict[str, Any]]) -> None:
        with unit_of_work() as session:
            save(session, found)

    def flush(chunk: list[BillRow]) -> None:
        with unit_of_work() as session:  # one transaction per chunk: its lookups, findings, progress
            save(
                session,
                matcher.match(session.connection(), chunk),
                bytes_read=counter.bytes,
                lines_read=chunk[-1].line_no,
                trade_rows=matcher.sums.payments,
                refund_rows=matcher.sums.refunds,
            )
        if progress is not None:
            progress(counter.bytes)

    try:
        chunk: list[BillRow] = []
        day = bill_date.isoformat() if bill_date else ""
        for row in reader:
            if not day:
                bill_date, day = row.trade_date, row.trade_time[:10]
                with unit_of_work() as session:
                    session.execute(
                        update(ReconciliationRun)
                        .where(ReconciliationRun.id == run_id)
                        .values(bill_date=bill_date)
                    )
            elif not row.trade_time.startswith(day):
                raise BillFormatError(row.line_no, f"a row of {row.trade_time[:10]} in the bill of {day}")
            chunk.append(row)
            if len(chunk) >= CHUNK_ROWS:
                flush(chunk)
                lines = chunk[-1].line_no
                chunk = []
        if chunk:
            flush(chunk)
            lines = chunk[-1].line_no
        if bill_date is None:
            raise ValidationFailed(
                "The bill has no rows, so its date is unknown; give the date.",
                errors={"date": ["required for a bill without rows"]},
            )
        # A connection of its own: its cursor streams the day's orders while `write` commits.
        with get_engine().connect() as conn:
            matcher.unlisted(conn, bill_date, write)
        write(matcher.summary_checks(reader.summary))
        lines = reader.summary.line_no if reader.summary else lines
        with unit_of_work() as session:
            session.execute(
                update(ReconciliationRun)
                .where(ReconciliationRun.id == run_id)
                .values(
                    status=RunStatus.DONE,
                    finished_at=utcnow(),
                    bytes_read=counter.bytes,
                    lines_read=lines,
                    trade_rows=matcher.sums.payments,
                    refund_rows=matcher.sums.refunds,
                    matched=matcher.matched,
                    discrepancies=written,
                    totals=matcher.totals(reader.summary),
                )
            )
        if progress is not None:
            progress(counter.bytes)
    except DomainError as exc:
        _fail(run_id, exc.message)
        raise
    except Exception as exc:
        log.exception("reconciliation run %s failed", run_id)
        _fail(run_id, f"{type(exc).__name__}: {exc}")
        raise
    return get_run(run_id)


def _fail(run_id: int, reason: str) -> None:
    with unit_of_work() as session:
        session.execute(
            update(ReconciliationRun)
            .where(ReconciliationRun.id == run_id)
            .values(status=RunStatus.FAILED, finished_at=utcnow(), error=reason)
        )


def get_run(run_id: int) -> ReconciliationRun:
    session = read_session()
    run = session.get(ReconciliationRun, run_id, populate_existing=True)
    if run is None:
        raise NotFound(f"Reconciliation run {run_id} does not exist.")
    return run


def list_runs(
    *, page: int, page_size: int, bill_date: date | None = None, status: str | None = None
) -> tuple[list[ReconciliationRun], int]:
    """Runs, newest first."""
    conditions = []
    if bill_date is not None:
        conditions.append(ReconciliationRun.bill_date == bill_date)
    if status is not None:
        conditions.append(ReconciliationRun.status == status)
    session = read_session()
    return objects_page(
        session,
        select(ReconciliationRun).where(*conditions).order_by(ReconciliationRun.id.desc()),
        page,
        page_size,
    )


def list_discrepancies(
    run_id: int,
    *,
    page: int,
    page_size: int,
    kind: DiscrepancyKind | str | None = None,
    resolved: bool | None = None,
) -> tuple[list[ReconciliationDiscrepancy], int]:
    """A run's discrepancies in bill order (those found only here come last)."""
    get_run(run_id)
    D = ReconciliationDiscrepancy
    conditions = [D.run_id == run_id]
    if kind is not None:
        conditions.append(D.kind == kind)
    if resolved is True:
        conditions.append(D.resolution.is_not(None))
    elif resolved is False:
        conditions.append(D.resolution.is_(None))
    session = read_session()
    return objects_page(session, select(D).where(*conditions).order_by(D.id), page, page_size)
