"""Event accounting benchmark: `python -m bench.event`.

Runs gunicorn + PostgreSQL + Redis, loads the factor library (`flask factors load`), makes a user the organiser of an organisation, plans an event in
Fuzhou and uploads a list of N attendees (default 10,000; random origin cities, modes and return
trips) through the API, then reads the event back with its totals. It measures the wall time of
upload + read, and the peak resident memory (VmHWM) of the gunicorn worker processes.
The last line is JSON: attendees, seconds, peak_rss_mb (and groups, travel_grams).
`--smoke` shrinks every size, so that a run takes seconds (the test suite runs it).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from bench.harness import (
    DEFAULT_MAINTENANCE_URL,
    DEFAULT_REDIS_URL,
    database_name,
    drop_database,
    emit,
    flask,
    fresh_database,
    gunicorn_process,
    migrate,
    service_env,
)


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


MODES = ("flight", "hsr", "car", "metro")
CITIES = Path(__file__).resolve().parents[1] / "data" / "factors" / "cities.csv"


def attendee_csv(count: int, seed: int = 7) -> bytes:
    """A CSV of `count` attendees from the cities of the factor library's city table."""
    import csv

    with CITIES.open(encoding="utf-8") as rows:
        cities = [row["city"] for row in csv.DictReader(rows)]
    rng = random.Random(seed)
    out = io.StringIO()
    out.write("name,origin_city,mode,return\n")
    for i in range(count):
        out.write(f"参会者{i},{rng.choice(cities)},{rng.choice(MODES)},{rng.choice(('yes', 'no'))}\n")
    return out.getvalue().encode("utf-8")


def make_organiser(url: str, user_id: int) -> int:
    """An organisation owned by the user, with the user as its organiser; gives its id."""
    from config import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    with engine.begin() as conn:
        org_id = conn.execute(
            text(
                "INSERT INTO organisations (name, kind, owner_id, created_at) "
                "VALUES ('Bench events', 'event_organiser', :u, now()) RETURNING id"
            ),
            {"u": user_id},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO organisation_members (organisation_id, user_id, created_at) VALUES (:o, :u, now())"
            ),
            {"o": org_id, "u": user_id},
        )
    engine.dispose()
    return org_id


def peak_rss_mb(pids: list[int]) -> float:
    """The largest VmHWM (peak resident set) among the processes, in MB."""
    peak_kb = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except OSError:
            continue
    return round(peak_kb / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attendees", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds: does it run at all")
    args = parser.parse_args()
    if args.smoke:
        args.attendees, args.workers = 200, 1

    maintenance = os.environ.get("BENCH_DATABASE_URL", DEFAULT_MAINTENANCE_URL)
    name = database_name("carbon_bench_event", args.smoke)
    url = fresh_database(maintenance, name)
    try:
        run(args, url)
    finally:
        if args.smoke:
            drop_database(maintenance, name)


def run(args: argparse.Namespace, url: str) -> None:
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    flush_redis(redis_url)
    env = service_env(url, redis_url, DATABASE_POOL_SIZE="2")
    migrate(env)
    print(flask(env, "factors", "load").strip())
    body = attendee_csv(args.attendees)
    with gunicorn_process(env, args.workers) as server:
        base = server.base
        login = requests.post(f"{base}/api/v1/auth/login", json={"code": "bench-organiser"}, timeout=10)
        login.raise_for_status()
        org_id = make_organiser(url, login.json()["user"]["id"])
        flush_redis(redis_url)  # the cached principal learns of its new membership
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        created = requests.post(
            f"{base}/api/v1/organisations/{org_id}/events",
            json={
                "name": "Bench forum",
                "start_date": "2026-10-10",
                "end_date": "2026-10-12",
                "venue_city": "福州",
            },
            headers=headers,
            timeout=10,
        )
        created.raise_for_status()
        event_id = created.json()["event"]["id"]
        workers = server.worker_pids()

        began = time.monotonic()
        uploaded = requests.post(
            f"{base}/api/v1/events/{event_id}/attendees?phase=actual",
            files={"file": ("attendees.csv", body, "text/csv")},
            headers=headers,
            timeout=60,
        )
        uploaded.raise_for_status()
        detail = requests.get(f"{base}/api/v1/events/{event_id}", headers=headers, timeout=30)
        detail.raise_for_status()
        seconds = time.monotonic() - began
        rss = peak_rss_mb(workers)

    result = uploaded.json()
    assert result["attendees"] == args.attendees, result
    assert detail.json()["totals"]["actual"] == result["grams"]
    print(
        f"{args.attendees} attendees → {result['groups']} groups, {result['grams'] / 1e6:,.3f} t CO2e "
        f"in {seconds:.3f} s (upload + read); peak worker RSS {rss} MB"
    )
    emit(
        {
            "attendees": args.attendees,
            "seconds": round(seconds, 3),
            "peak_rss_mb": rss,
            "groups": result["groups"],
            "travel_grams": result["grams"],
        }
    )


if __name__ == "__main__":
    main()
