"""Shared pieces of the benchmarks: a fresh PostgreSQL database, gunicorn on it, a bounded load loop.

Benchmarks run against the real stack (gunicorn + PostgreSQL + Redis) on this machine only
(127.0.0.1), and each stops by itself after its configured duration.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgresql://root@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_database(name: str) -> str:
    """Drop and create database `name` next to BENCH_DATABASE_URL's, migrate it; gives its URL."""
    from config import normalise_database_url

    base = os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG)
    admin = create_engine(normalise_database_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = base.rsplit("/", 1)[0] + "/" + name
    subprocess.run(
        [sys.executable, "-m", "alembic", "-x", f"url={normalise_database_url(url)}", "upgrade", "head"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return url


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


@contextmanager
def gunicorn(env: Mapping[str, str], workers: int, threads: int = 1) -> Iterator[str]:
    """Serve `wsgi:app` with `env` on a free loopback port; gives the base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "wsgi:app",
            "-c",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/health/ready", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + (process.stderr.read() if process.stderr else ""))
            time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not become ready in 30 s")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class LoadResult:
    count: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0


def run_load(
    step: Callable[[int, requests.Session], None], threads: int, duration_s: float, max_steps: int = 10**9
) -> LoadResult:
    """Call `step(thread_index, session)` from `threads` threads until `duration_s` passes; a step that
    raises counts as an error. Bounded in time and in count."""
    result = LoadResult()
    lock = threading.Lock()
    stop_at = time.monotonic() + duration_s
    start_barrier = threading.Barrier(threads + 1)

    def worker(index: int) -> None:
        session = requests.Session()
        start_barrier.wait()
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                step(index, session)
            except Exception as exc:
                with lock:
                    result.errors += 1
                    if len(result.error_samples) < 5:
                        result.error_samples.append(repr(exc)[:300])
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if result.count >= max_steps:
                    return
                result.count += 1
                result.latencies_ms.append(elapsed)

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    start_barrier.wait()
    began = time.monotonic()
    for thread in pool:
        thread.join(timeout=duration_s + 60)
    result.seconds = time.monotonic() - began
    return result


def emit(figures: Mapping[str, object]) -> None:
    """The benchmark's last line: one JSON object of figures."""
    print(json.dumps(figures, ensure_ascii=False, sort_keys=True))
