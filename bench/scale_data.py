"""The data of `bench.scale`: N orders over two years, with everything a real history has, by COPY.

Orders come at an even pace over `SPAN_DAYS` days ending yesterday (Beijing time), so a larger N
is a busier history of the same length: 80 % one-yuan orders (1–5 units of 10 kg), the rest
credit orders (10–200 kg; channels credits, event and footprint offset). Of every 100: 5 expire
unpaid (their grams released), one is refunded in full and one in part (10 kg) three days after
payment; the rest are fulfilled. Grams are taken from the batches in turn (20 projects of three
kinds and ten owners, two batches each), so an order at a batch's end has lines in two batches,
sometimes of two projects. Every paid order has its reservation, sold slices, lines, order events,
certificate (superseded and reissued after a partial refund, void after a full one), points
earned (and reversed by a refund), refunds and refund lines; the grams given back are free ranges.
Every 50th order is one buyer's, whose list pages deep. The batches and valid certificates are
written to the public ledger as its own backfill would, so `flask credits audit` finds nothing.

Rows are written to tab-separated files first (one pass over the orders), then loaded with COPY
(`bench.reconcile.copy_columns` completes the column lists).
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.reconcile import copy_columns

SPAN_DAYS = 730
PROJECTS, BATCHES_PER_PROJECT, OWNERS = 20, 2, 10
KINDS = ("FFCER", "CCER", "SMCER")
PRICE = 10_000  # fen per tonne: 1 yuan per 10 kg
TONNE = 1_000_000
DEEP_USER = 1  # the buyer of every 50th order
TABLES = {
    "users": "id, role, openid, display_name, is_active, created_at",
    "reservations": "id, grams, returned_g, status, expires_at, confirmed_at, released_at, created_at",
    "orders": "id, out_trade_no, user_id, channel, status, grams, amount_fen, refunded_fen, refunded_g, units, "
    "project_id, holder_name, reservation_id, provider, transaction_id, expires_at, trade_closed_at, paid_at, "
    "fulfilled_at, created_at",
    "order_lines": "id, order_id, project_id, batch_id, grams, refunded_g, price_fen_per_t, amount_fen",
    "order_events": "order_id, from_status, to_status, note, at",
    "allocations": "reservation_id, batch_id, start_g, end_g, state",
    "free_ranges": "batch_id, start_g, end_g",
    "certificates": "id, number, verification_code, order_id, user_id, holder_name, grams, status, claims, "
    "issued_at, voided_at, replaced_by_id",
    "points_entries": "user_id, kind, points, reason, source_type, source_id, status, available_at, remaining, "
    "created_at",
    "refunds": "id, order_id, out_refund_no, refund_id, grams, amount_fen, status, reason, automatic, offline, "
    "created_at, completed_at",
    "refund_lines": "refund_id, order_line_id, grams, amount_fen",
}


@dataclass
class BatchInfo:
    id: int
    project_id: int
    prefix: str
    serial_start: int
    issued_g: int
    cursor: int = 0


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S+00")


def _null(value: Any) -> str:
    return "\\N" if value is None else str(value)


def order_grams(i: int) -> tuple[str, int | None, int]:
    """(channel, units, grams) of order i."""
    if i % 10 < 8:
        units = 1 + i % 5
        return "one_yuan", units, units * 10_000
    channel = ("credits", "event", "footprint_offset")[i % 3]
    return channel, None, 10_000 * (1 + i % 20)


def fate(i: int) -> str:
    r = i % 100
    return "expired" if r < 5 else "refunded" if r == 5 else "partial" if r == 6 else "fulfilled"


def catalogue(session: Any, orders: int, start: datetime) -> list[BatchInfo]:
    """Kinds, owners, projects and their batches, enough for every order and a tenth more."""
    from models import Batch, CreditKind, Project, ProjectOwner

    needed = sum(order_grams(i)[2] for i in range(orders) if fate(i) != "expired")
    batches = PROJECTS * BATCHES_PER_PROJECT
    tonnes = needed * 11 // 10 // TONNE // batches + 2
    for code in KINDS:
        session.add(CreditKind(code=code, name=code, price_fen_per_t=PRICE))
    owners = [ProjectOwner(name=f"林农{k:02d}") for k in range(OWNERS)]
    session.add_all(owners)
    session.flush()
    infos = []
    for p in range(PROJECTS):
        project = Project(
            code=f"SCALE-{p:02d}",
            name=f"碳汇项目 {p:02d}",
            kind_code=KINDS[p % 3],
            owner_id=owners[p % OWNERS].id,
        )
        session.add(project)
        session.flush()
        for b in range(BATCHES_PER_PROJECT):
            prefix = f"{KINDS[p % 3]}-{p:02d}-{b}-"
            batch = Batch(
                project_id=project.id,
                vintage=2020 + b,
                serial_prefix=prefix,
                serial_start=1,
                serial_end=tonnes,
                quantity_t=tonnes,
                issued_on=start.date(),
                issued_g=tonnes * TONNE,
                available_g=tonnes * TONNE,
                created_at=start - timedelta(days=30),
            )
            session.add(batch)
            session.flush()
            infos.append(BatchInfo(batch.id, project.id, prefix, 1, tonnes * TONNE))
    session.commit()
    return infos


class _Files:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.handles = {name: (folder / f"{name}.tsv").open("w", encoding="utf-8") for name in TABLES}

    def row(self, table: str, *values: Any) -> None:
        self.handles[table].write("\t".join(_null(v) for v in values) + "\n")

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def _take(batches: list[BatchInfo], at: int, grams: int) -> tuple[int, list[tuple[BatchInfo, int, int]]]:
    """Grams from the batches in turn from batch `at`: the new `at` and the (batch, start, end) taken."""
    taken = []
    while grams:
        batch = batches[at]
        part = min(grams, batch.issued_g - batch.cursor)
        if part == 0:
            at += 1
            continue
        taken.append((batch, batch.cursor, batch.cursor + part))
        batch.cursor += part
        grams -= part
    return at, taken


def _claims(batch: BatchInfo, start: int, end: int) -> list[dict[str, Any]]:
    claims = []
    for tonne in range(start // TONNE, (end - 1) // TONNE + 1):
        low, high = max(start, tonne * TONNE), min(end, (tonne + 1) * TONNE)
        claims.append(
            {
                "project_id": batch.project_id,
                "batch_id": batch.id,
                "serial": f"{batch.prefix}{batch.serial_start + tonne:07d}",
                "from_g": low - tonne * TONNE,
                "to_g": high - 1 - tonne * TONNE,
                "grams": high - low,
            }
        )
    return claims


def write_files(
    folder: Path, orders: int, users: int, batches: list[BatchInfo], end: datetime
) -> dict[str, int]:
    """One pass over the orders, writing every table's rows; gives what was written."""
    files = _Files(folder)
    span = timedelta(days=SPAN_DAYS)
    start = end - span
    step = span / max(orders, 1)
    for k in range(1, users + 1):
        files.row(
            "users", k, "user", f"scale-openid-{k}", f"买家{k}", "true", _ts(start + span * (k - 1) / users)
        )
    at = line_id = refund_id = certificate_id = 0
    counts = {"lines": 0, "refunds": 0, "certificates": 0, "split": 0}
    now = datetime.now(UTC) - timedelta(hours=1)
    for i in range(orders):
        order_id = reservation_id = i + 1
        user = DEEP_USER if i % 50 == 0 else 2 + (i * 7919) % max(users - 1, 1)
        channel, units, grams = order_grams(i)
        amount = grams // 100
        what = fate(i)
        created = start + step * i
        expires, paid = created + timedelta(minutes=15), created + timedelta(seconds=40)
        fulfilled = paid + timedelta(seconds=1)
        if what == "expired":
            taken = [(batches[at], batches[at].cursor, batches[at].cursor + grams)]  # released: nothing kept
            if taken[0][2] > batches[at].issued_g:
                taken = [(batches[at], 0, grams)]
        else:
            at, taken = _take(batches, at, grams)
        counts["split"] += len({b.project_id for b, _s, _e in taken}) > 1
        amounts = [amount * (e - s) // grams for _b, s, e in taken]
        amounts[-1] += amount - sum(amounts)
        refund_g = grams if what == "refunded" else 10_000 if what == "partial" else 0
        if what == "partial" and (taken[-1][2] - taken[-1][1] <= 10_000):
            what, refund_g = "fulfilled", 0
        refund_fen = amount if what == "refunded" else 100 if what == "partial" else 0
        done = min(paid + timedelta(days=3), now)
        status = {"expired": "expired", "refunded": "refunded", "partial": "partially_refunded"}.get(
            what, "fulfilled"
        )
        is_paid = what != "expired"
        files.row(
            "reservations", reservation_id, grams, refund_g, "released" if not is_paid else "confirmed",
            _ts(expires), _ts(fulfilled) if is_paid else None, None if is_paid else _ts(expires), _ts(created),
        )  # fmt: skip
        files.row(
            "orders", order_id, f"SC{i:020d}", user, channel, status, grams, amount, refund_fen, refund_g, units,
            taken[0][0].project_id if units is None else None, "", reservation_id, "wechatpay_v3",
            f"4200{i:020d}" if is_paid else None, _ts(expires), None if is_paid else _ts(expires),
            _ts(paid) if is_paid else None, _ts(fulfilled) if is_paid else None, _ts(created),
        )  # fmt: skip
        events = [(None, "created", created), ("created", "awaiting_payment", created)]
        events += (
            [("awaiting_payment", "expired", expires)]
            if not is_paid
            else [("awaiting_payment", "paid", paid), ("paid", "fulfilled", fulfilled)]
        )
        if what in ("refunded", "partial"):
            events.append(("fulfilled", status, done))
        for before, after, moment in events:
            files.row("order_events", order_id, before, after, "scale", _ts(moment))
        lines = []
        for index, ((batch, s, e), fen) in enumerate(zip(taken, amounts, strict=True)):
            line_id += 1
            last = index == len(taken) - 1
            returned = (e - s) if what == "refunded" else (refund_g if what == "partial" and last else 0)
            files.row(
                "order_lines", line_id, order_id, batch.project_id, batch.id, e - s, returned, PRICE, fen
            )
            lines.append((line_id, batch, s, e, fen, returned))
        counts["lines"] += len(lines)
        if not is_paid:
            continue
        claims, kept_claims = [], []
        for _lid, batch, s, e, _fen, returned in lines:
            claims += _claims(batch, s, e)
            if e - returned > s:
                files.row("allocations", reservation_id, batch.id, s, e - returned, "sold")
                kept_claims += _claims(batch, s, e - returned)
            if returned:
                files.row("free_ranges", batch.id, e - returned, e)
        certificate_id += 1
        first = certificate_id
        void = what == "refunded"
        files.row(
            "certificates", first, f"CI{i:012d}", f"V{i:014d}", order_id, user, "", grams,
            "void" if void else "superseded" if what == "partial" else "valid", json.dumps(claims),
            _ts(fulfilled), _ts(done) if what in ("refunded", "partial") else None,
            first + 1 if what == "partial" else None,
        )  # fmt: skip
        if what == "partial":
            certificate_id += 1
            files.row(
                "certificates", certificate_id, f"CR{i:012d}", f"W{i:014d}", order_id, user, "",
                grams - refund_g, "valid", json.dumps(kept_claims), _ts(done), None, None,
            )  # fmt: skip
        earned = grams // 1000
        files.row(
            "points_entries", user, "earn", earned, "purchase", "order", order_id, "available", _ts(fulfilled),
            earned, _ts(fulfilled),
        )  # fmt: skip
        if refund_g:
            files.row("points_entries", user, "reverse", -(refund_g // 1000), "refund", "order", order_id,
                      None, None, None, _ts(done))  # fmt: skip
            refund_id += 1
            files.row("refunds", refund_id, order_id, f"RS{i:020d}", f"50{i:022d}", refund_g, refund_fen,
                      "succeeded", "scale", "false", "false", _ts(done), _ts(done))  # fmt: skip
            for lid, _batch, _s, _e, fen, returned in lines:
                share = fen if what == "refunded" else (refund_fen if returned else 0)
                if returned or share:
                    files.row("refund_lines", refund_id, lid, returned, share)
            counts["refunds"] += 1
    files.close()
    counts["certificates"] = certificate_id
    return counts


def load(url: str, orders: int, users: int, batches: list[BatchInfo], end: datetime) -> dict[str, Any]:
    """Write the rows and COPY them in; the batches' counters and the sequences follow."""
    import psycopg

    began = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    counts = write_files(folder, orders, users, batches, end)
    written = time.perf_counter() - began
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        for table, named in TABLES.items():
            columns, fill = copy_columns(conn, table, named)
            path = folder / f"{table}.tsv"
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
                path.open(encoding="utf-8") as source,
            ):
                for line in source:
                    copy.write(line[:-1] + fill + "\n")
            (folder / f"{table}.tsv").unlink()
        for batch in batches:
            conn.execute(
                "UPDATE batches SET cursor_g = %s, sold_g = (SELECT coalesce(sum(end_g - start_g), 0)"
                " FROM allocations WHERE batch_id = %s), available_g = issued_g - (SELECT"
                " coalesce(sum(end_g - start_g), 0) FROM allocations WHERE batch_id = %s) WHERE id = %s",
                (batch.cursor, batch.id, batch.id, batch.id),
            )
        for table in ("users", "reservations", "orders", "order_lines", "certificates", "refunds"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        conn.commit()
    folder.rmdir()
    return {**counts, "write_s": round(written, 1), "load_s": round(time.perf_counter() - began, 1)}


def ledger(app: Any, chunk: int = 10_000) -> int:
    """The batches, then the valid certificates, into the public ledger (as its backfill writes them)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models import Batch, Certificate, CertificateStatus, Order, Project
    from models.database import get_engine, read_session, unit_of_work
    from services.ledger import canonical, keys, merkle, recording, tree_store
    from services.ledger.tree_store import Pending

    def pending(kind: str, ref: int, body: dict[str, Any]) -> Pending:
        text = canonical.encode(body)
        return Pending(kind, ref, text, merkle.leaf_hash(text.encode()))

    with app.app_context():
        session = read_session()
        rows = [
            pending(
                recording.BATCH_ISSUED, batch.id, recording.batch_entry(batch, code, kind, batch.created_at)
            )
            for batch, code, kind in session.execute(
                select(Batch, Project.code, Project.kind_code).join(Project).order_by(Batch.id)
            )
        ]
        session.rollback()
        with unit_of_work() as writer:
            tree_store.write_in(writer, rows)
        written = len(rows)
        reader = Session(get_engine())  # its own connection: the writes commit between its reads
        query = (
            select(Certificate, Order.user_id)
            .join(Order, Order.id == Certificate.order_id)
            .where(Certificate.status == CertificateStatus.VALID)
            .order_by(Certificate.id)
            .execution_options(yield_per=chunk)
        )
        block: list[Pending] = []
        for certificate, user_id in reader.execute(query):
            holder = keys.holder_pseudonym(user_id, None)
            body = recording.certificate_entry(certificate, holder, None, certificate.issued_at)
            block.append(pending(recording.CERTIFICATE_ISSUED, certificate.id, body))
            if len(block) == chunk:
                with unit_of_work() as writer:
                    tree_store.write_in(writer, block)
                written += len(block)
                block = []
        if block:
            with unit_of_work() as writer:
                tree_store.write_in(writer, block)
            written += len(block)
        reader.close()
    return written


def history_end() -> datetime:
    """The end of the history: the start of today in Beijing (so it ends yesterday)."""
    from services.kernel.beijing_time import day_start_utc, today

    return day_start_utc(today())


def day_of(moment: datetime) -> date:
    from services.kernel.beijing_time import beijing_date

    return beijing_date(moment)
