"""Benchmark: reconcile a 1,000,000-line WeChat Pay trade bill against 1,000,000 orders on PostgreSQL.

    python -m bench.reconcile [--orders 1000000] [--refunds 10000] [--keep] [--smoke]

1. Creates a fresh database `carbon_bench_reconcile` on the server of `BENCH_DATABASE_URL` (its
   maintenance database; default postgresql://root@127.0.0.1:5432/test) and runs `alembic upgrade head`.
2. In a child process: loads the orders (one user row is all the foreign keys need) and refunds with
   `COPY`, and writes a bill file of the same day listing them, with discrepancies of every kind
   planted and counted.
3. In another child process: reconciles the file through `services.reconciliation.reconciliation.run_for_file`,
   the function `flask reconcile file` calls, and measures its own peak RSS
   (`getrusage(RUSAGE_SELF).ru_maxrss`), so that generating the data never counts. As a reference
   measured in the same run, that process then only parses the file, without the database.

Prints its figures; the last line is one JSON object: lines, seconds, peak_rss_mb, planted, found.
The bill file and the database are removed at the end (`--keep` keeps them). `--smoke` shrinks the
sizes (2,000 orders, 40 refunds; a smoke run has a database of its own) so that a run takes seconds.
The COPY column lists are completed from the tables' actual columns (`copy_columns`), so that a
migration adding a required column does not break the benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "carbon_bench_reconcile"
DEFAULT_MAINTENANCE_URL = "postgresql://root@127.0.0.1:5432/test"
BILL_DATE = date(2026, 11, 21)
EVERY = 50_000  # one planted payment discrepancy of each kind per this many orders
REFUND_EVERY = 500  # one planted refund discrepancy of each kind per this many refunds

HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
SUMMARY_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _fee(fen: int) -> int:
    return (fen * 6 + 500) // 1000


def _url(maintenance_url: str, name: str) -> str:
    return maintenance_url.rsplit("/", 1)[0] + "/" + name


def _sqlalchemy_url(url: str) -> str:
    from config import normalise_database_url

    return normalise_database_url(url)


# -- 1. the database --


def drop_database(maintenance_url: str, name: str = DB_NAME) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(_sqlalchemy_url(maintenance_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def create_database(maintenance_url: str, name: str = DB_NAME) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(_sqlalchemy_url(maintenance_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = _url(maintenance_url, name)
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = _sqlalchemy_url(url)
    cfg.attributes["configure_logging"] = False
    command.upgrade(cfg, "head")
    return url


# -- 2. the data and the bill (child process) --


def _clock(i: int, n: int) -> str:
    second = i * 86_400 // max(n, 1)
    return f"{BILL_DATE} {second // 3600:02d}:{second % 3600 // 60:02d}:{second % 60:02d}"


# What a column that is NOT NULL, has no default and is not named by a COPY gets, by its type.
FILL_BY_TYPE = {
    "boolean": "false",
    "smallint": "0",
    "integer": "0",
    "bigint": "0",
    "numeric": "0",
    "double precision": "0",
    "real": "0",
    "character varying": "",
    "text": "",
    "character": "",
    "json": "{}",
    "jsonb": "{}",
    "date": f"{BILL_DATE}",
    "timestamp with time zone": f"{BILL_DATE} 00:00:00+08",
    "timestamp without time zone": f"{BILL_DATE} 00:00:00",
}


def copy_columns(conn, table: str, named: str) -> tuple[str, str]:
    """The column list of a COPY into `table` that names `named` (comma-separated), completed with
    every column the table requires and `named` leaves out (NOT NULL, no default, not generated),
    and the tab-separated text that fills them, to end each line with (empty when none is missing).

    Built from the table's actual columns, so that a migration adding a required column does not
    break the benchmark; a required column of a type without a neutral value stops it, by name.
    """
    given = [name.strip() for name in named.split(",")]
    rows = conn.execute(
        "SELECT column_name, data_type, is_nullable = 'NO' AND column_default IS NULL"
        " AND is_identity = 'NO' AND is_generated = 'NEVER'"
        " FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s"
        " ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    unknown = sorted(set(given) - {name for name, _, _ in rows})
    if unknown:
        raise SystemExit(f"bench.reconcile: {table} has no column {', '.join(unknown)}")
    missing = [(name, kind) for name, kind, required in rows if required and name not in given]
    fills = []
    for name, kind in missing:
        if kind not in FILL_BY_TYPE:
            raise SystemExit(f"bench.reconcile: no value to fill {table}.{name} ({kind}) with")
        fills.append(FILL_BY_TYPE[kind])
    columns = ", ".join(given + [name for name, _ in missing])
    return columns, "".join("\t" + value for value in fills)


def insert_row(conn, table: str, values: dict[str, object]) -> int:
    """Insert one row of `values` into `table`, its other required columns filled; gives its id."""
    columns, fill = copy_columns(conn, table, ", ".join(values))
    extra = fill.split("\t")[1:] if fill else []
    params = [*values.values(), *extra]
    marks = ", ".join(["%s"] * len(params))
    return conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING id", params).fetchone()[
        0
    ]


def generate(url: str, path: Path, orders: int, refunds: int) -> dict:
    import psycopg

    started = time.perf_counter()
    planted: Counter[str] = Counter()
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=False) as conn:
        user_id = insert_row(
            conn,
            "users",
            {"role": "user", "username": "bench-buyer", "display_name": "bench", "is_active": True},
        )
        refund_step = max(orders // max(refunds, 1), 1)
        columns, fill = copy_columns(
            conn,
            "orders",
            "out_trade_no, user_id, channel, status, grams, amount_fen, refunded_fen, refunded_g, units, "
            "holder_name, provider, transaction_id, expires_at, paid_at, fulfilled_at, created_at",
        )
        with conn.cursor() as cur, cur.copy(f"COPY orders ({columns}) FROM STDIN") as copy:
            block: list[str] = []
            for i in range(orders):
                units = 1 + i % 5
                refunded = i % refund_step == 3 and i // refund_step < refunds
                paid = _clock(i, orders) + "+08"
                block.append(
                    f"CO{BILL_DATE:%Y%m%d}{i:012d}\t{user_id}\tone_yuan\t"
                    f"{'partially_refunded' if refunded else 'fulfilled'}\t{units * 10_000}\t{units * 100}\t"
                    f"{100 if refunded else 0}\t{10_000 if refunded else 0}\t{units}\t\twechatpay_v3\t"
                    f"4200{i:020d}\t{paid}\t{paid}\t{paid}\t{paid}{fill}\n"
                )
                if len(block) >= 20_000:
                    copy.write("".join(block))
                    block = []
            # Orders paid at WeChat Pay whose notification never arrived: open here, no transaction.
            for j in range(orders // EVERY):
                paid = _clock(j, orders) + "+08"
                block.append(
                    f"CM{BILL_DATE:%Y%m%d}{j:012d}\t{user_id}\tone_yuan\tawaiting_payment\t10000\t100\t0\t0\t1\t\t"
                    f"wechatpay_v3\t\\N\t{paid}\t\\N\t\\N\t{paid}{fill}\n"
                )
            copy.write("".join(block))
        first_id = conn.execute(
            "SELECT id FROM orders WHERE out_trade_no = %s", (f"CO{BILL_DATE:%Y%m%d}{0:012d}",)
        ).fetchone()[0]
        columns, fill = copy_columns(
            conn,
            "refunds",
            "order_id, out_refund_no, refund_id, grams, amount_fen, status, reason, automatic, offline, "
            "created_at, completed_at",
        )
        with conn.cursor() as cur, cur.copy(f"COPY refunds ({columns}) FROM STDIN") as copy:
            block = []
            for k in range(refunds):
                i = k * refund_step + 3
                at = _clock(i, orders) + "+08"
                block.append(
                    f"{first_id + i}\tRF{i:020d}\t5030{i:020d}\t10000\t100\tsucceeded\tbench\tfalse\tfalse\t"
                    f"{at}\t{at}{fill}\n"
                )
            copy.write("".join(block))
        conn.commit()
        conn.execute("ANALYZE orders")
        conn.execute("ANALYZE refunds")
        conn.commit()
    loaded = time.perf_counter() - started

    rows = settled = refunded_total = fees = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\r\n")
        block = []

        def row(values: list[str]) -> None:
            block.append("`" + ",`".join(values) + "\r\n")

        def payment(i: int, no: str, tx: str, fen: int) -> None:
            nonlocal rows, settled, fees
            rows, settled, fees = rows + 1, settled + fen, fees + _fee(fen)
            row([
                _clock(i, orders), "wxd678efh567hg6787", "1900000109", "0", "", tx, no,
                "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "JSAPI", "SUCCESS", "OTHERS", "CNY", _yuan(fen), "0.00", "0", "0",
                "0.00", "0.00", "", "", "一元碳汇", "", _yuan(_fee(fen)), "0.60%", _yuan(fen), "0.00", "",
            ])  # fmt: skip

        def refund(i: int, no: str, tx: str, refund_no: str, refund_id: str, fen: int) -> None:
            nonlocal rows, refunded_total, fees
            rows, refunded_total, fees = rows + 1, refunded_total + fen, fees - _fee(fen)
            row([
                _clock(i, orders), "wxd678efh567hg6787", "1900000109", "0", "", tx, no,
                "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "JSAPI", "REFUND", "OTHERS", "CNY", "0.00", "0.00", refund_id,
                refund_no, _yuan(fen), "0.00", "ORIGINAL", "SUCCESS", "一元碳汇", "", _yuan(-_fee(fen)), "0.60%",
                "0.00", _yuan(fen), "",
            ])  # fmt: skip

        for i in range(orders):
            no, tx, fen = f"CO{BILL_DATE:%Y%m%d}{i:012d}", f"4200{i:020d}", (1 + i % 5) * 100
            kind = i % EVERY
            if kind == 7:
                planted["missing_at_wechat"] += 1
                continue
            if kind == 11:
                planted["amount_differs"] += 1
                fen += 1
            elif kind == 13:
                planted["status_differs"] += 1
                tx = f"4201{i:020d}"
            payment(i, no, tx, fen)
            if i % refund_step == 3 and i // refund_step < refunds:
                k = i // refund_step
                if k % REFUND_EVERY == 17:
                    planted["refund_missing_at_wechat"] += 1
                else:
                    amount = 100
                    if k % REFUND_EVERY == 19:
                        planted["refund_amount_differs"] += 1
                        amount = 99
                    refund(i, no, tx, f"RF{i:020d}", f"5030{i:020d}", amount)
                if k % REFUND_EVERY == 23:  # refunded by hand on the merchant platform
                    planted["refund_missing_here"] += 1
                    refund(i, no, tx, f"RH{i:020d}", f"5031{i:020d}", 100)
            if kind == 29:  # paid at WeChat Pay under an order number unknown here
                planted["missing_here"] += 1
                payment(i, f"CX{BILL_DATE:%Y%m%d}{i:012d}", f"4202{i:020d}", 100)
            if len(block) >= 20_000:
                out.write("".join(block))
                block = []
        for j in range(orders // EVERY):
            planted["missing_here"] += 1
            payment(j, f"CM{BILL_DATE:%Y%m%d}{j:012d}", f"4203{j:020d}", 100)
        out.write("".join(block))
        planted["totals_mismatch"] += 1  # 应结订单总金额 off by one fen
        planted["fee_mismatch"] += 1
        totals = [
            str(rows),
            _yuan(settled + 1),
            _yuan(refunded_total),
            "0.00",
            _yuan(fees + 1),
            _yuan(settled),
        ]
        totals.append(_yuan(refunded_total))
        out.write(SUMMARY_HEADER + "\r\n" + "`" + ",`".join(totals) + "\r\n")
    return {
        "planted": dict(planted),
        "lines": rows + 3,
        "bytes": path.stat().st_size,
        "load_seconds": round(loaded, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }


# -- 3. the reconciliation (child process) --


def reconcile(url: str, path: Path) -> dict:
    from models import RunSource, database
    from services.reconciliation.reconciliation import run_for_file
    from services.reconciliation.trade_bill import TradeBillReader, text_lines

    database.configure(_sqlalchemy_url(url), pool_size=2)
    size = path.stat().st_size
    started = time.perf_counter()
    with path.open("rb") as stream:
        run = run_for_file(
            None,
            stream,
            provider_name="wechatpay_v3",
            filename=path.name,
            bill_date=BILL_DATE,
            source=RunSource.FILE,
            bytes_total=size,
        )
    seconds = time.perf_counter() - started
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    from sqlalchemy import text

    with database.get_engine().connect() as conn:
        stored = dict(
            conn.execute(
                text(
                    "SELECT kind, count(*) FROM reconciliation_discrepancies WHERE run_id = :id GROUP BY kind"
                ),
                {"id": run.id},
            ).all()
        )
    started = time.perf_counter()
    with path.open("rb") as stream:
        parsed = sum(1 for _ in TradeBillReader(text_lines(stream)))
    parse_seconds = time.perf_counter() - started
    return {
        "status": run.status.value,
        "lines": run.lines_read,
        "rows": parsed,
        "matched": run.matched,
        "found": stored,
        "seconds": round(seconds, 2),
        "parse_seconds": round(parse_seconds, 2),
        "peak_rss_mb": round(peak_rss_mb, 1),
    }


# -- the orchestration --


def _child(*args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "bench.reconcile", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"bench.reconcile {args[0]} failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", nargs="?", default="all", choices=["all", "generate", "reconcile"])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--refunds", type=int, default=10_000)
    parser.add_argument("--url", help="(children) the benchmark database")
    parser.add_argument("--file", help="(children) the bill file")
    parser.add_argument("--keep", action="store_true", help="keep the bill file and the database")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds: does it run at all")
    args = parser.parse_args()
    if args.smoke:
        args.orders, args.refunds = 2_000, 40
    if args.phase == "generate":
        print(json.dumps(generate(args.url, Path(args.file), args.orders, args.refunds)))
        return
    if args.phase == "reconcile":
        print(json.dumps(reconcile(args.url, Path(args.file))))
        return

    maintenance = os.environ.get("BENCH_DATABASE_URL", DEFAULT_MAINTENANCE_URL)
    name = f"{DB_NAME}_smoke_{os.getpid()}" if args.smoke else DB_NAME
    print(f"database {name}: creating and migrating ...", flush=True)
    url = create_database(maintenance, name)
    workdir = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    bill = workdir / f"trade-bill-{BILL_DATE}.csv"
    try:
        made = _child("generate", "--url", url, "--file", str(bill), "--orders", str(args.orders),
                      "--refunds", str(args.refunds))  # fmt: skip
        print(
            f"generated: {args.orders:,} orders and {args.refunds:,} refunds loaded by COPY in "
            f"{made['load_seconds']} s; bill of {made['lines']:,} lines, {made['bytes'] / 1e6:.0f} MB, "
            f"in {made['seconds']} s all told",
            flush=True,
        )
        done = _child("reconcile", "--url", url, "--file", str(bill))
    finally:
        if args.keep:
            print(f"bill kept in {bill}, database {name} kept")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            drop_database(maintenance, name)
    planted, found = made["planted"], done["found"]
    print(
        f"reconciled: run {done['status']}, {done['lines']:,} lines ({done['rows']:,} rows) in {done['seconds']} s "
        f"= {done['rows'] / done['seconds']:,.0f} rows/s; {done['matched']:,} matched"
    )
    print(
        f"reference: parsing alone took {done['parse_seconds']} s; reconciling costs "
        f"{done['seconds'] / done['parse_seconds']:.1f}× parsing"
    )
    print(f"peak RSS of the reconciling process: {done['peak_rss_mb']} MB (getrusage ru_maxrss)")
    print(f"{'kind':<26}{'planted':>9}{'found':>9}")
    for kind in sorted(set(planted) | set(found)):
        print(f"{kind:<26}{planted.get(kind, 0):>9}{found.get(kind, 0):>9}")
    verdict = "found == planted" if planted == found else "found != planted"
    print(f"{verdict}; goals: under 60 s ({done['seconds']} s), under 500 MB ({done['peak_rss_mb']} MB)")
    print(
        json.dumps(
            {
                "lines": done["lines"],
                "seconds": done["seconds"],
                "peak_rss_mb": done["peak_rss_mb"],
                "planted": sum(planted.values()),
                "found": sum(found.values()),
            }
        )
    )


if __name__ == "__main__":
    main()
