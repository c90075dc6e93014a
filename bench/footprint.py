"""Footprint calculation benchmark: `python -m bench.footprint`.

Creates a fresh PostgreSQL database, migrates it and loads the factor library, starts gunicorn on
it with real Redis, logs users in (sandbox login), then alternates timed slices of concurrent
footprint calculations and of the reference endpoint (one conditional UPDATE of one row) under
the same concurrency. Prints its figures and ends with one JSON line:
`{"calcs_per_s", "p99_ms", "reference_per_s", "ratio"}` where ratio = calcs_per_s / reference_per_s.
`--smoke` shrinks every size, so that a run takes seconds (the test suite runs it).
"""

from __future__ import annotations

import argparse
import json
import os

import requests

from bench import harness

DATABASE_NAME = "carbon_bench_footprint"

# A typical month: home energy, car fuel, metro, a round-trip flight and some food.
BODY = {
    "period_type": "month",
    "province": "fujian",
    "home": {"electricity_kwh": 230, "natural_gas_m3": 12},
    "transport": {
        "fuel": [{"fuel": "gasoline", "amount": 40, "unit": "L"}],
        "metro_km": 120,
        "high_speed_rail_km": 300,
        "flights": [{"from": "fuzhou", "to": "beijing", "round_trip": True}],
    },
    "diet": {"food": [{"item": "pork", "kg": 2}, {"item": "rice", "kg": 6}]},
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=float, default=15.0, help="Seconds of load per endpoint (default 15)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="Alternating slices per endpoint (default 3)")
    parser.add_argument("--concurrency", type=int, default=8, help="Client threads (default 8)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--users", type=int, default=16, help="Users logged in (default 16)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="Seconds of warm-up per endpoint (default 2)"
    )
    parser.add_argument("--keep-database", action="store_true", help="Leave the benchmark database behind")
    parser.add_argument("--smoke", action="store_true", help="Tiny sizes, a few seconds: does it run at all")
    args = parser.parse_args()
    if args.smoke:
        args.duration, args.rounds, args.warmup = 1, 1, 0.2
        args.concurrency, args.workers, args.users = 2, 1, 2
    return args


def main() -> None:
    args = parse_args()
    maintenance_url = os.environ.get("BENCH_DATABASE_URL", harness.DEFAULT_MAINTENANCE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", harness.DEFAULT_REDIS_URL)
    name = harness.database_name(DATABASE_NAME, args.smoke)
    database_url = harness.fresh_database(maintenance_url, name)
    env = harness.service_env(database_url, redis_url, BENCH_REFERENCE_ENDPOINT="true")
    try:
        harness.migrate(env)
        print(harness.flask(env, "factors", "load").strip())
        with harness.gunicorn(env, workers=args.workers) as base:
            tokens = harness.sandbox_logins(base, args.users, "bench-footprint")
            calc_url, touch_url = f"{base}/api/v1/footprints/calculate", f"{base}/api/v1/_reference/touch"

            def calculate(session: requests.Session, index: int) -> requests.Response:
                headers = {"Authorization": f"Bearer {tokens[index % len(tokens)]}"}
                return session.post(calc_url, json=BODY, headers=headers, timeout=30)

            def touch(session: requests.Session, _index: int) -> requests.Response:
                return session.post(touch_url, timeout=30)

            check = requests.post(
                calc_url, json=BODY, headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=30
            )
            if check.status_code != 201:
                raise SystemExit(f"calculation failed: {check.status_code} {check.text}")
            print(f"one calculation: {check.json()['total_g']:,} g")

            harness.drive(calculate, args.concurrency, args.warmup, 201)
            harness.drive(touch, args.concurrency, args.warmup, 200)
            calcs, reference = harness.LoadResult(), harness.LoadResult()
            slice_s = args.duration / args.rounds
            for _ in range(args.rounds):
                calcs.add(harness.drive(calculate, args.concurrency, slice_s, 201))
                reference.add(harness.drive(touch, args.concurrency, slice_s, 200))
    finally:
        if not args.keep_database:
            harness.drop_database(maintenance_url, name)

    ratio = calcs.per_second / reference.per_second if reference.per_second else 0.0
    print(
        f"gunicorn workers {args.workers}, client threads {args.concurrency}, {args.duration:g} s per endpoint"
    )
    for name, result in (("calculate", calcs), ("reference", reference)):
        print(
            f"{name:>10}: {result.ok:6d} ok, {result.per_second:8.1f}/s, p50 {result.percentile_ms(0.5):6.1f} ms, "
            f"p99 {result.percentile_ms(0.99):6.1f} ms, errors {result.errors or 0}"
        )
    print(f"     ratio: {ratio:.3f} (goal >= 0.6)")
    print(
        json.dumps(
            {
                "calcs_per_s": round(calcs.per_second, 1),
                "p99_ms": round(calcs.percentile_ms(0.99), 1),
                "reference_per_s": round(reference.per_second, 1),
                "ratio": round(ratio, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
