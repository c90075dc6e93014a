"""Every benchmark of bench/ still runs: its `--smoke` mode (tiny sizes, seconds) on the real stack.

Each bench runs as a subprocess, as a person would run it, against this worker's PostgreSQL server
(it makes and drops a database of its own there) and Redis database, and must exit 0 with a last
line of stdout that is one JSON object holding the figures its docstring promises. (`pg_app` is
asked for only so that the session's database is set up and torn down as everywhere else.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from bench.harness import ensure_wrk
from bench.reconcile import copy_columns

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
RATE = {"per_s", "p50_ms", "p99_ms", "ratio"}

# (bench module, extra arguments, keys its last line must hold)
BENCHES = {
    "footprint": ("bench.footprint", [], {"calcs_per_s", "p99_ms", "reference_per_s", "ratio"}),
    "event": ("bench.event", [], {"attendees", "seconds", "peak_rss_mb", "groups", "travel_grams"}),
    "reconcile": ("bench.reconcile", [], {"lines", "seconds", "peak_rss_mb", "planted", "found"}),
    "ledger": (
        "bench.ledger",
        [],
        {
            "entries",
            "bulk_append_per_s",
            "single_append_p50_ms",
            "ratio",
            "sign_s",
            "inclusion_p99_ms",
            "consistency_p99_ms",
            "hashes_per_proof_max",
            "proofs_verified",
        },
    ),
    "purchase": (
        "bench.purchase",
        [],
        {"orders_per_s", "purchases_per_s", "p50_ms", "p99_ms", "reference_per_s", "ratio", "oversold_g"},
    ),
    "scale": (
        "bench.scale",
        [],
        {
            "orders",
            "dashboard_ms",
            "sales_report_ms",
            "sales_export_csv_ms",
            "payouts_ms",
            "transparency_ms",
            "my_orders_deep_keyset_ms",
            "max_read_ms",
            "audit_s_per_million_orders",
            "audit_violations",
            "rollups_equal",
        },
    ),
    "purchase-wrk": (
        "bench.purchase",
        ["--driver", "wrk"],
        {"lean", "reference", "orders", "oversold_g", "errors", "connections", "workers"},
    ),
}


def run_smoke(module: str, extra: list[str], pg_url: str, redis_url: str) -> dict:
    env = {**os.environ, "BENCH_DATABASE_URL": pg_url, "BENCH_REDIS_URL": redis_url}
    done = subprocess.run(
        [sys.executable, "-m", module, "--smoke", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (
        f"{module} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    last = done.stdout.strip().splitlines()[-1]
    figures = json.loads(last)
    assert isinstance(figures, dict), last
    return figures


@pytest.mark.parametrize("bench", list(BENCHES))
@pytest.mark.usefixtures("pg_app")
def test_bench_smoke_mode_runs_and_ends_with_its_figures(bench: str, pg_url: str, redis_url: str) -> None:
    module, extra, keys = BENCHES[bench]
    if bench == "purchase-wrk" and ensure_wrk() is None:
        pytest.skip("wrk is not installed and cannot be here (apt-get install wrk needs root)")
    figures = run_smoke(module, extra, pg_url, redis_url)
    assert keys <= figures.keys(), sorted(figures)
    if bench == "reconcile":
        assert figures["found"] == figures["planted"] > 0
    if bench.startswith("purchase"):
        assert figures["oversold_g"] == 0
        assert figures["errors"] == 0
        assert figures["audit_violations"] == 0  # the pool audit, the public ledger's check included
    if bench == "purchase":
        assert figures["orders_per_s"] > 0 and figures["purchases_per_s"] > 0
    if bench == "scale":
        assert figures["rollups_equal"] is True and figures["audit_violations"] == 0
        assert figures["orders"] > 0 and figures["max_read_ms"] > 0
    if bench == "ledger":
        assert figures["entries"] > 0 and figures["proofs_verified"] > 0
        assert figures["hashes_per_proof_max"] <= 2 * figures["entries"].bit_length()
    if bench == "purchase-wrk":
        for name in ("lean", "reference", "orders"):
            assert figures[name].keys() >= RATE
            assert figures[name]["per_s"] > 0
        assert figures["lean"]["ratio"] == 1.0


@pytest.mark.usefixtures("pg_app")
def test_copy_columns_fills_every_required_column_a_copy_leaves_out(pg_url: str) -> None:
    conninfo = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        try:
            conn.execute(
                "CREATE TABLE bench_copy_probe (id bigserial PRIMARY KEY, named integer NOT NULL,"
                " flag boolean NOT NULL, label varchar(8) NOT NULL, at timestamptz NOT NULL,"
                " optional text, defaulted integer NOT NULL DEFAULT 3)"
            )
            columns, fill = copy_columns(conn, "bench_copy_probe", "named")
            assert columns == "named, flag, label, at"
            with conn.cursor() as cur, cur.copy(f"COPY bench_copy_probe ({columns}) FROM STDIN") as copy:
                copy.write(f"7{fill}\n")
            assert conn.execute("SELECT named, flag, label, defaulted FROM bench_copy_probe").fetchall() == [
                (7, False, "", 3)
            ]
            conn.execute("ALTER TABLE bench_copy_probe ADD COLUMN shape point NOT NULL DEFAULT '(0,0)'")
            conn.execute("ALTER TABLE bench_copy_probe ALTER COLUMN shape DROP DEFAULT")
            with pytest.raises(SystemExit, match=r"bench_copy_probe\.shape"):
                copy_columns(conn, "bench_copy_probe", "named")
        finally:
            conn.rollback()
