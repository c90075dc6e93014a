"""Benchmark of the public ledger on PostgreSQL: 1,000,000 appends, signing, and proofs.

    python -m bench.ledger [--entries 1000000] [--singles 2000] [--proofs 2000] [--keep-database] [--smoke]

1. Creates a fresh database `carbon_bench_ledger` on the server of `BENCH_DATABASE_URL` (default
   postgresql://root@127.0.0.1:5432/test) and runs `alembic upgrade head`; the service starts on it
   through the app factory, as the CLI does.
2. Bulk append: `--entries` certificate entries (canonical JSON of a realistic size), 10,000 per
   transaction, through the statement every append uses (`services.ledger.tree_store.write_in`).
3. Single appends as fulfilment makes them: `--singles` transactions of one entry each, each written
   by the before-commit hook (counter upsert + insert in one statement, then COMMIT). The lean
   reference, measured alternately in the same run: one INSERT of the same row into a table without
   counter, index or hook, and COMMIT, on one psycopg connection. ratio = reference time / append time.
4. Signing: the first head (every subtree hash of the log stored, the root computed from them, Ed25519),
   then one more after 1,000 appends (the job's usual work).
5. `--proofs` inclusion and as many consistency proofs at random sizes and indices through the
   functions the API calls, each checked against the signed root (RFC 9162), timed; and the number
   of stored hashes each reads (O(log n)).

Prints its figures; the last line is one JSON object: entries, bulk_append_s, bulk_append_per_s,
single_append_p50_ms, single_append_p99_ms, reference_p50_ms, ratio, sign_s, sign_next_s,
inclusion_p50_ms, inclusion_p99_ms, consistency_p50_ms, consistency_p99_ms, hashes_per_proof_max,
proofs_verified. `--smoke` shrinks every size (a run takes seconds; its database is its own).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from bench import harness

DATABASE_NAME = "carbon_bench_ledger"
BULK_CHUNK = 10_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="Entries appended in bulk")
    parser.add_argument("--singles", type=int, default=2_000, help="Single-entry transactions timed")
    parser.add_argument("--proofs", type=int, default=2_000, help="Proofs of each kind timed")
    parser.add_argument("--keep-database", action="store_true", help="Leave the benchmark database behind")
    parser.add_argument("--smoke", action="store_true", help="Tiny sizes, a few seconds: does it run at all")
    args = parser.parse_args()
    if args.smoke:
        args.entries, args.singles, args.proofs = 3_000, 40, 40
    return args


def entry(index: int) -> dict:
    """A certificate entry like the ones fulfilment writes (two serial slices)."""
    tonne = index // 100
    return {
        "type": "certificate_issued",
        "time": 1_796_000_000 + index,
        "certificate": f"CI2026{index:010d}",
        "holder": f"{index * 2654435761 % 2**64:016x}{index:016x}",
        "grams": 10_000,
        "slices": [
            {
                "batch": 1 + tonne // 1_000,
                "serial": f"FFCER-350721-01-{tonne:07d}",
                "from_g": 0,
                "to_g": 4_999,
            },
            {
                "batch": 1 + tonne // 1_000,
                "serial": f"FFCER-350721-01-{tonne:07d}",
                "from_g": 5_000,
                "to_g": 9_999,
            },
        ],
        "replaces": None,
    }


def ms(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3)


def main() -> None:
    args = parse_args()
    harness.run_in_fresh_database(
        DATABASE_NAME, args.smoke, args.keep_database, lambda url: run(args, url), width=22
    )


def run(args: argparse.Namespace, database_url: str) -> dict[str, object]:
    import psycopg

    from api import create_app
    from models.database import unit_of_work
    from services.ledger import canonical, merkle, public_log, tree_heads, tree_store
    from services.ledger.tree_store import Pending

    app = create_app(
        "default", overrides={"DATABASE_URL": database_url, "REDIS_URL": "", "INPROCESS_JOBS": False}
    )
    with app.app_context():
        texts = (canonical.encode(entry(i)) for i in range(args.entries))
        began = time.perf_counter()
        done = 0
        while done < args.entries:
            chunk = []
            for text in texts:
                chunk.append(Pending("certificate_issued", None, text, merkle.leaf_hash(text.encode())))
                if len(chunk) == BULK_CHUNK:
                    break
            with unit_of_work() as session:
                tree_store.write_in(session, chunk)
            done += len(chunk)
        bulk_s = time.perf_counter() - began
        print(f"appended {done:,} entries in {bulk_s:.1f} s")

        conninfo = database_url.replace("postgresql+psycopg://", "postgresql://")
        lean = psycopg.connect(conninfo)
        lean.execute("CREATE TABLE bench_plain (entry text NOT NULL, leaf_hash bytea NOT NULL)")
        lean.commit()
        appends, reference = [], []
        for i in range(args.singles):
            body = entry(args.entries + i)
            text = canonical.encode(body)
            started = time.perf_counter()
            with unit_of_work() as session:
                tree_store.append_in(session, body)
            appends.append(time.perf_counter() - started)
            started = time.perf_counter()
            lean.execute(
                "INSERT INTO bench_plain (entry, leaf_hash) VALUES (%s, %s)",
                (text, merkle.leaf_hash(text.encode())),
            )
            lean.commit()
            reference.append(time.perf_counter() - started)
        lean.close()
        size = args.entries + args.singles

        began = time.perf_counter()
        first = tree_heads.sign_if_grown()
        sign_s = time.perf_counter() - began
        assert first.signed and first.tree_size == size, first
        with unit_of_work() as session:
            for i in range(1_000):
                tree_store.append_in(session, entry(size + i))
        began = time.perf_counter()
        tree_heads.sign_if_grown()
        sign_next_s = time.perf_counter() - began
        size += 1_000

        head = public_log.latest_head()
        root = bytes.fromhex(head["root_hash"])
        rng = random.Random(6962)
        inclusion, consistency, reads = [], [], []
        verified = 0
        for _ in range(args.proofs):
            index = rng.randrange(size)
            started = time.perf_counter()
            proof = public_log.inclusion_proof(index, size)
            inclusion.append(time.perf_counter() - started)
            reads.append(len(merkle.nodes_for(merkle.inclusion_ranges(index, size))))
            with unit_of_work() as session:
                leaf = tree_store.read_nodes(session, [(0, index)])[(0, index)]
            path = [bytes.fromhex(h) for h in proof["audit_path"]]
            verified += merkle.verify_inclusion(index, size, leaf, path, root)

            older = rng.randrange(1, size)
            started = time.perf_counter()
            proof = public_log.consistency_proof(older, size)
            consistency.append(time.perf_counter() - started)
            reads.append(len(merkle.nodes_for(merkle.consistency_ranges(older, size))))
            with unit_of_work() as session:
                older_root = tree_store.root_in(session, older)
            hashes = [bytes.fromhex(h) for h in proof["proof"]]
            verified += merkle.verify_consistency(older, size, older_root, root, hashes)
    if verified != 2 * args.proofs:
        raise SystemExit(f"only {verified} of {2 * args.proofs} proofs verified")
    single = statistics.median(appends)
    return {
        "entries": size,
        "bulk_append_s": round(bulk_s, 2),
        "bulk_append_per_s": round(args.entries / bulk_s),
        "single_append_p50_ms": ms(appends, 0.5),
        "single_append_p99_ms": ms(appends, 0.99),
        "reference_p50_ms": ms(reference, 0.5),
        "ratio": round(statistics.median(reference) / single, 3) if single else 0.0,
        "sign_s": round(sign_s, 2),
        "sign_next_s": round(sign_next_s, 3),
        "inclusion_p50_ms": ms(inclusion, 0.5),
        "inclusion_p99_ms": ms(inclusion, 0.99),
        "consistency_p50_ms": ms(consistency, 0.5),
        "consistency_p99_ms": ms(consistency, 0.99),
        "hashes_per_proof_max": max(reads),
        "proofs_verified": verified,
    }


if __name__ == "__main__":
    main()
