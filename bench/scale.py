"""Benchmark: every admin and public read over a history of N orders, on PostgreSQL.

    python -m bench.scale [--orders 1000000] [--calls 5] [--purchases 20] [--keep-database] [--smoke]

1. Creates a fresh database `carbon_bench_scale` on the server of `BENCH_DATABASE_URL` (default
   postgresql://root@127.0.0.1:5432/test) and runs `alembic upgrade head`.
2. Loads N orders over two years by COPY (`bench.scale_data`: lines, reservations and sold slices,
   order events, certificates, points, refunds and refund lines), writes the public ledger as its
   backfill would, and builds the rollups from that history (`flask rollups rebuild`'s function,
   timed: what an upgrade's backfill costs). VACUUM ANALYZE.
3. `--purchases` orders placed and paid through the API (sandbox payments), one of them refunded:
   their rollup deltas are not compacted while the reads are timed, as between two worker runs.
4. Times each read through the Flask test client, the median of `--calls` calls after one warm-up:
   the admin dashboard (30 days; 12 months), the sales report (by day; month and project; kind and
   owner), its totals and its CSV and XLSX exports, the payouts of last month (list, summary, CSV),
   the public transparency report (uncached), and one buyer's order list at its deepest page,
   read by `before` (keyset) and, for comparison, by `page` (offset).
5. Runs `flask credits audit` (streams; prints its time per million orders), compacts the deltas
   (`flask rollups compact`) and checks the rollups against the history (`flask rollups check`);
   as a reference, times one scan of the history that the rollups replace (`history_scan_ms`).

Prints its figures; the last line is one JSON object: orders, the reads' medians in ms (`*_ms`),
max_read_ms, audit_s, audit_s_per_million_orders, audit_violations, rollups_equal, backfill_s,
history_scan_ms and the load's counts and times. `--smoke` loads 3,000 orders and calls each read
twice (a run takes seconds; its database is its own).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import timedelta
from typing import Any

from bench import harness, scale_data

DATABASE_NAME = "carbon_bench_scale"
ADMIN_PASSWORD = "bench scale admin password"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="Orders in the history")
    parser.add_argument("--calls", type=int, default=5, help="Timed calls of each read (the median is kept)")
    parser.add_argument("--purchases", type=int, default=20, help="Orders placed and paid through the API")
    parser.add_argument("--keep-database", action="store_true", help="Leave the benchmark database behind")
    parser.add_argument("--smoke", action="store_true", help="Tiny sizes, a few seconds: does it run at all")
    args = parser.parse_args()
    if args.smoke:
        args.orders, args.calls, args.purchases = 3_000, 2, 3
    return args


def main() -> None:
    args = parse_args()
    harness.run_in_fresh_database(
        DATABASE_NAME, args.smoke, args.keep_database, lambda url: run(args, url), width=32
    )


def _vacuum(url: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _timed(action: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def run(args: argparse.Namespace, database_url: str) -> dict[str, object]:
    from api import create_app
    from models.database import db_session

    app = create_app(
        "default",
        overrides={
            "DATABASE_URL": database_url,
            "REDIS_URL": "",
            "INPROCESS_JOBS": False,
            "RATELIMIT_ENABLED": False,
            "TRANSPARENCY_CACHE_S": 0,
        },
    )
    figures: dict[str, object] = {"orders": args.orders}
    end = scale_data.history_end()
    users = max(20, args.orders // 20)
    with app.app_context():
        start = end - timedelta(days=scale_data.SPAN_DAYS)
        batches = scale_data.catalogue(db_session(), args.orders, start)
        db_session.remove()
    loaded = scale_data.load(database_url, args.orders, users, batches, end)
    figures.update(
        users=users, **{k: v for k, v in loaded.items() if k != "split"}, split_orders=loaded["split"]
    )
    print(f"loaded {args.orders:,} orders by COPY in {loaded['load_s']} s", flush=True)
    entries, seconds = _timed(lambda: scale_data.ledger(app))
    figures.update(ledger_entries=entries, ledger_s=round(seconds, 1))
    print(f"ledger: {entries:,} entries in {seconds:.1f} s", flush=True)
    with app.app_context():
        from services.reporting.rollup_rebuild import rebuild

        rebuilt, seconds = _timed(rebuild)
        db_session.remove()
    figures.update(backfill_s=round(seconds, 1), rollup_rows=rebuilt.sales_rows)
    print(f"rollups built from the history in {seconds:.1f} s ({rebuilt.sales_rows:,} day rows)", flush=True)
    _vacuum(database_url)
    with app.app_context():
        client = app.test_client()
        admin, buyer, deep = _logins(client)
        figures["purchases"] = _purchases(client, buyer, admin, args.purchases)
        reads = _reads(client, admin, deep)
        for name, (path, query, headers) in reads.items():
            figures[f"{name}_ms"] = _median_ms(client, path, query, headers, args.calls)
            print(f"{name}: {figures[f'{name}_ms']} ms", flush=True)
        figures["max_read_ms"] = max(v for k, v in figures.items() if k.endswith("_ms"))
        figures.update(_audit(app, args.orders))
        figures["history_scan_ms"] = _history_scan_ms()
        runner = app.test_cli_runner()
        compacted, seconds = _timed(lambda: runner.invoke(args=["rollups", "compact"]))
        assert compacted.exit_code == 0, compacted.output
        figures["compact_s"] = round(seconds, 2)
        checked = runner.invoke(args=["rollups", "check"])
        figures["rollups_equal"] = checked.exit_code == 0
        if checked.exit_code:
            print(checked.output[-3000:])
    return figures


def _logins(client: Any) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """An admin, a new buyer (sandbox login) and the buyer of every 50th order of the history."""
    from models import User
    from models.database import unit_of_work
    from services.accounts.accounts import create_admin
    from services.accounts.tokens import issue_token_in

    create_admin("bench-admin", ADMIN_PASSWORD)
    admin = client.post(
        "/api/v1/auth/admin-login", json={"username": "bench-admin", "password": ADMIN_PASSWORD}
    ).json["token"]
    buyer = client.post("/api/v1/auth/login", json={"code": "bench-scale-buyer"}).json["token"]
    with unit_of_work() as session:
        deep = issue_token_in(session, session.get(User, scale_data.DEEP_USER), 3600).token
    return tuple({"Authorization": f"Bearer {token}"} for token in (admin, buyer, deep))  # type: ignore[return-value]


def _purchases(client: Any, buyer: dict[str, str], admin: dict[str, str], count: int) -> int:
    done = []
    for _ in range(count):
        placed = client.post("/api/v1/orders", json={"product": "one_yuan", "units": 2}, headers=buyer)
        assert placed.status_code == 201, placed.json
        number = placed.json["order"]["out_trade_no"]
        paid = client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=buyer)
        assert paid.status_code == 200 and paid.json["status"] == "fulfilled", paid.json
        done.append(number)
    if done:
        refund = client.post(
            f"/api/v1/admin/orders/{done[0]}/refunds",
            json={"grams": 10_000, "reason": "bench"},
            headers=admin,
        )
        assert refund.status_code == 201, refund.json
    return len(done)


def _reads(client: Any, admin: dict[str, str], deep: dict[str, str]) -> dict[str, tuple]:
    from services.kernel import beijing_time

    last_month = f"{beijing_time.add_months(beijing_time.today(), -1):%Y-%m}"
    total = client.get("/api/v1/orders", query_string={"page_size": 1}, headers=deep)
    count = int(json.loads(total.headers["X-Pagination"])["total"])
    page_size = 20
    deepest = max(1, (count - 1) // page_size + 1)
    before = client.get(
        "/api/v1/orders", query_string={"page": deepest - 1, "page_size": page_size}, headers=deep
    ).json
    mark = before[-1]["out_trade_no"] if before and deepest > 1 else None
    sales = "/api/v1/admin/reports/sales"
    return {
        "dashboard": ("/api/v1/admin/dashboard", {}, admin),
        "dashboard_months": ("/api/v1/admin/dashboard", {"period": "month", "buckets": 12}, admin),
        "sales_report": (sales, {"group_by": "day"}, admin),
        "sales_report_month_project": (sales, {"group_by": "month,project", "page_size": 100}, admin),
        "sales_report_kind_owner": (sales, {"group_by": "kind,owner", "page_size": 100}, admin),
        "sales_totals": (f"{sales}/totals", {}, admin),
        "sales_export_csv": (f"{sales}/export", {"group_by": "month,project", "format": "csv"}, admin),
        "sales_export_xlsx": (f"{sales}/export", {"group_by": "month,project", "format": "xlsx"}, admin),
        "payouts": ("/api/v1/admin/payouts", {"month": last_month, "page_size": 100}, admin),
        "payouts_summary": ("/api/v1/admin/payouts/summary", {"month": last_month}, admin),
        "payouts_export": ("/api/v1/admin/payouts/export", {"month": last_month}, admin),
        "transparency": ("/api/v1/transparency", {}, {}),
        "my_orders_deep_keyset": (
            "/api/v1/orders",
            {"page_size": page_size} | ({"before": mark} if mark else {}),
            deep,
        ),
        "my_orders_deep_offset": ("/api/v1/orders", {"page": deepest, "page_size": page_size}, deep),
    }


def _median_ms(client: Any, path: str, query: dict, headers: dict, calls: int) -> float:
    times = []
    for attempt in range(calls + 1):
        started = time.perf_counter()
        response = client.get(path, query_string=query, headers=headers)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, (
            path,
            response.status_code,
            response.get_data(as_text=True)[:500],
        )
        if attempt:  # the first call warms up
            times.append(elapsed)
    return round(1000 * statistics.median(times), 1)


def _audit(app: Any, orders: int) -> dict[str, object]:
    result, seconds = _timed(lambda: app.test_cli_runner().invoke(args=["credits", "audit"]))
    lines = result.output.strip().splitlines()
    violations = sum(1 for line in lines if line.startswith("["))
    print(next((line for line in lines if "per million" in line), ""), flush=True)
    if violations:
        print("\n".join(lines[:20]))
    return {
        "audit_s": round(seconds, 1),
        "audit_s_per_million_orders": round(seconds * 1_000_000 / max(orders, 1), 1),
        "audit_violations": violations,
    }


def _history_scan_ms() -> float:
    """One aggregate over the whole history (the rollups' own source): what a read without them scans."""
    from sqlalchemy import func, select

    from models.database import is_postgres, read_session
    from services.reporting.rollup_rebuild import sales_detail

    session = read_session()
    detail = sales_detail(is_postgres()).subquery()
    started = time.perf_counter()
    session.execute(select(func.count()).select_from(detail)).scalar()
    elapsed = time.perf_counter() - started
    session.rollback()
    return round(1000 * elapsed, 1)


if __name__ == "__main__":
    main()
