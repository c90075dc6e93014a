"""Shared pieces of the benchmarks: a fresh PostgreSQL database, gunicorn, sandbox logins, a load loop.

Every benchmark runs against the real stack (gunicorn + PostgreSQL + Redis) on this machine only,
with bounded request loops, and reports speeds as a ratio to a reference endpoint measured in the
same run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from config import normalise_database_url

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MAINTENANCE_URL = "postgresql://root@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_database(maintenance_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `maintenance_url`; gives its URL."""
    admin = create_engine(normalise_database_url(maintenance_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return maintenance_url.rsplit("/", 1)[0] + "/" + name


def drop_database(maintenance_url: str, name: str) -> None:
    admin = create_engine(normalise_database_url(maintenance_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def service_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The service's environment: default profile, the given servers, rate limits off, the caps on one
    buyer's unpaid orders at their highest (a few simulated users place every order), quiet logs."""
    env = dict(os.environ)
    env.update(
        CARBON_PROFILE="default",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        RATELIMIT_ENABLED="false",
        MAX_OPEN_ORDERS_PER_USER="10000",
        MAX_RESERVED_GRAMS_PER_USER=str(10**15),
        LOG_LEVEL="WARNING",
        FLASK_APP="wsgi",
    )
    env.pop("GUNICORN_ACCESSLOG", None)
    env.update(extra)
    return env


def run_checked(args: list[str], env: dict[str, str]) -> str:
    """Run a command of the project (alembic, flask) in its root; its output, or exit with it."""
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def migrate(env: dict[str, str]) -> None:
    run_checked([sys.executable, "-m", "alembic", "upgrade", "head"], env)


def flask(env: dict[str, str], *args: str) -> str:
    return run_checked([sys.executable, "-m", "flask", *args], env)


class StackError(RuntimeError):
    """A part of the local stack (gunicorn, a server) did not start or stopped unexpectedly."""


def children_of(pid: int) -> list[int]:
    """The ids of the live processes whose parent is `pid` (read from /proc; zombies left out)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # After the parenthesised command name: the state, then the parent pid.
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if int(parent) == pid and state != "Z":
            children.append(int(entry.name))
    return sorted(children)


_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> tuple[str, list[str]] | None:
    """(command name, the fields after it) of /proc/<pid>/stat; None when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    return name, stat.rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds process `pid` has used so far; None when it is gone."""
    found = _stat_fields(pid)
    if found is None:
        return None
    # utime and stime are fields 14 and 15 of stat: 12 and 13 after the state (field 3).
    return (int(found[1][11]) + int(found[1][12])) / _TICKS_PER_S


def processes_named(name: str) -> list[int]:
    """The live processes whose command name is `name` (PostgreSQL's backends: "postgres")."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and fields[0] == name:
                found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU seconds spent by named groups of processes between `start()` and `stop()`.

    A process that ends meanwhile (a recycled worker, a PostgreSQL backend) loses what it spent in
    the round; one that starts counts from its birth."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self.spent: dict[str, float] = {name: 0.0 for name in groups}
        self._before: dict[str, dict[int, float]] = {}

    def start(self) -> None:
        self._before = {name: self._sample(pids()) for name, pids in self.groups.items()}

    def stop(self) -> None:
        for name, pids in self.groups.items():
            before = self._before[name]
            for pid, after in self._sample(pids()).items():
                self.spent[name] += after - before.get(pid, 0.0)

    @staticmethod
    def _sample(pids: list[int]) -> dict[int, float]:
        found = {pid: cpu_seconds(pid) for pid in pids}
        return {pid: spent for pid, spent in found.items() if spent is not None}

    def per_request_ms(self, requests: int) -> dict[str, float]:
        """Each group's CPU milliseconds per request."""
        return {
            name: round(1000 * spent / requests, 2) if requests else 0.0 for name, spent in self.spent.items()
        }


@dataclass
class Gunicorn:
    """A running gunicorn master: its base URL, process, log file (its stderr) and environment."""

    base: str
    process: subprocess.Popen
    log_path: Path
    workers: int
    env: dict[str, str]

    def worker_pids(self) -> list[int]:
        return children_of(self.process.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_workers(self, without: int | None = None, timeout_s: float = 30) -> list[int]:
        """Wait until all `workers` workers run, `without` (a dead worker) among them; their pids."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) >= self.workers and without not in pids:
                return pids
            time.sleep(0.05)
        raise StackError(f"gunicorn has {len(self.worker_pids())} of {self.workers} workers")


@contextmanager
def gunicorn_process(
    env: dict[str, str],
    workers: int = 4,
    threads: int = 1,
    port: int | None = None,
    app: str = "wsgi:app",
    log_path: Path | None = None,
) -> Iterator[Gunicorn]:
    """Run `gunicorn APP -c gunicorn.conf.py` on a free loopback port until the block ends.

    Its log goes to a file (a pipe nobody reads would fill up and block the workers).
    """
    port = port or free_port()
    own_log = log_path is None
    if log_path is None:
        descriptor, name = tempfile.mkstemp(prefix="gunicorn-", suffix=".log")
        os.close(descriptor)
        log_path = Path(name)
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "-c",
        "gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    server = Gunicorn(f"http://127.0.0.1:{port}", process, log_path, workers, env)
    try:
        _wait_ready(server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if own_log:
            log_path.unlink(missing_ok=True)


@contextmanager
def gunicorn(
    env: dict[str, str], workers: int = 4, threads: int = 1, port: int | None = None
) -> Iterator[str]:
    """Run `gunicorn wsgi:app -c gunicorn.conf.py` on a free loopback port; yields its base URL."""
    try:
        with gunicorn_process(env, workers, threads, port) as server:
            yield server.base
    except StackError as exc:
        sys.exit(str(exc))


def _wait_ready(server: Gunicorn, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise StackError(f"gunicorn exited with {server.process.returncode}:\n{server.log()}")
        try:
            if requests.get(server.base + "/health/ready", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise StackError(f"gunicorn did not become ready in time:\n{server.log()[-4000:]}")


def sandbox_logins(base: str, count: int, prefix: str) -> list[str]:
    """Log `count` mini-program users in with sandbox codes; gives their bearer tokens."""
    tokens = []
    with requests.Session() as session:
        for index in range(count):
            response = session.post(
                f"{base}/api/v1/auth/login", json={"code": f"{prefix}-{index}"}, timeout=10
            )
            response.raise_for_status()
            tokens.append(response.json()["token"])
    return tokens


@dataclass
class LoadResult:
    """Requests completed in a window, their latencies (seconds) and the failures."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile_ms(self, fraction: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    def add(self, other: LoadResult) -> None:
        self.seconds += other.seconds
        self.latencies += other.latencies
        for key, count in other.errors.items():
            self.errors[key] = self.errors.get(key, 0) + count


# One request of a load: given the thread's session and index, sends it; True when it succeeded.
Request = Callable[[requests.Session, int], "requests.Response"]


def drive(send: Request, concurrency: int, duration_s: float, expected_status: int = 200) -> LoadResult:
    """Run `send` in `concurrency` threads, each with its own session, for `duration_s` seconds."""
    result = LoadResult()
    lock = threading.Lock()
    start_barrier = threading.Barrier(concurrency + 1)
    stop_at: list[float] = []

    def worker(index: int) -> None:
        latencies: list[float] = []
        errors: dict[str, int] = {}
        with requests.Session() as session:
            start_barrier.wait()
            while time.monotonic() < stop_at[0]:
                began = time.perf_counter()
                try:
                    response = send(session, index)
                    status = response.status_code
                except Exception as exc:  # counted, not lost with the thread: the run reports it
                    status = type(exc).__name__
                elapsed = time.perf_counter() - began
                if status == expected_status:
                    latencies.append(elapsed)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1
        with lock:
            result.latencies.extend(latencies)
            for key, count in errors.items():
                result.errors[key] = result.errors.get(key, 0) + count

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    stop_at.append(began + duration_s)
    start_barrier.wait()
    for thread in threads:
        thread.join(timeout=duration_s + 60)
    result.seconds = time.monotonic() - began
    return result


def emit(figures: dict[str, object]) -> None:
    """A benchmark's last line: one JSON object of figures."""
    import json

    print(json.dumps(figures, ensure_ascii=False, sort_keys=True))


def database_name(base: str, smoke: bool) -> str:
    """The benchmark's database name; a smoke run gets one of its own, so that it can run beside others."""
    return f"{base}_smoke_{os.getpid()}" if smoke else base


# -- wrk, a load driver in C (so that the client's own cost stays small beside the server's) --


def ensure_wrk() -> str | None:
    """The path of `wrk`; installed with apt-get first when missing and running as root. None if neither."""
    import shutil

    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "timeout": 300}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        if subprocess.run(install, env=env, check=False, **quiet).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=False, **quiet)
            subprocess.run(install, env=env, check=False, **quiet)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return shutil.which("wrk")


# Reports a run as one line: its counts, then latency quantiles on a fixed grid (microseconds), so
# that the rounds of one endpoint can be merged afterwards into one distribution.
WRK_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  local q = {}
  for i = 1, 400 do q[i] = string.format("%d", latency:percentile(i / 4)) end
  io.write(string.format('WRK_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"quantiles_us":[%s]}\\n', summary.requests,
    summary.duration, e.connect, e.read, e.write, e.status, e.timeout, table.concat(q, ",")))
end
"""


def wrk_script(
    method: str = "POST",
    body: str | None = None,
    headers: dict[str, str] | None = None,
    tokens: list[str] | None = None,
) -> str:
    """A wrk Lua script: one request, its bearer token rotated over `tokens` when given."""
    import json

    lines = [f"wrk.method = {json.dumps(method)}"]
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(body)}")
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    if tokens:
        # Each wrk thread starts at its own place in the list and steps through it.
        lines += [
            "local tokens = {" + ",".join(json.dumps(token) for token in tokens) + "}",
            "local made = 0",
            "function setup(thread) thread:set('offset', made); made = made + 1 end",
            "local n = 0",
            "function request()",
            "  n = n + 1",
            "  local i = ((offset or 0) * 7919 + n) % #tokens + 1",
            "  wrk.headers['Authorization'] = 'Bearer ' .. tokens[i]",
            "  return wrk.format()",
            "end",
        ]
    return "\n".join(lines) + "\n" + WRK_DONE


@dataclass
class WrkResult:
    """The rounds of one endpoint under wrk: requests, failures, seconds and latency quantiles."""

    requests: int = 0
    failed: int = 0
    seconds: float = 0.0
    # (latency in seconds, weight in requests) pairs: each round's quantile grid, weighted by its size.
    samples: list[tuple[float, float]] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return self.requests - self.failed

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile_ms(self, fraction: float) -> float:
        total = sum(weight for _, weight in self.samples)
        if not total:
            return 0.0
        seen = 0.0
        for latency, weight in sorted(self.samples):
            seen += weight
            if seen >= fraction * total:
                return latency * 1000
        return self.samples[-1][0] * 1000


def run_wrk(
    wrk: str,
    url: str,
    script: Path,
    connections: int,
    duration_s: float,
    result: WrkResult | None = None,
    threads: int = 2,
) -> WrkResult:
    """One wrk run against `url`, added to `result`. Non-2xx/3xx answers and socket errors count as failed."""
    import json

    result = result or WrkResult()
    args = [
        wrk,
        f"-t{max(1, min(threads, connections))}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=duration_s + 120, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise StackError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    figures = json.loads(line.removeprefix("WRK_JSON "))
    failed = {key: figures[key] for key in ("status", "read", "write", "timeout", "connect") if figures[key]}
    result.requests += figures["requests"]
    result.failed += figures["status"]
    result.seconds += figures["duration_us"] / 1e6
    for key, count in failed.items():
        result.errors[key] = result.errors.get(key, 0) + count
    quantiles = figures["quantiles_us"]
    weight = figures["requests"] / len(quantiles)
    result.samples += [(q / 1e6, weight) for q in quantiles]
    return result


def run_in_fresh_database(
    database_name_base: str, smoke: bool, keep: bool, run: Callable[[str], dict[str, object]], width: int = 24
) -> None:
    """Migrate a database of its own, `run(database_url)` in it, print the figures and end with their
    JSON line; the database is dropped afterwards unless `keep`."""
    maintenance_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_MAINTENANCE_URL)
    name = database_name(database_name_base, smoke)
    database_url = fresh_database(maintenance_url, name)
    try:
        migrate(service_env(database_url, ""))
        figures = run(database_url)
    finally:
        if not keep:
            drop_database(maintenance_url, name)
    for key, value in figures.items():
        print(f"{key:>{width}}: {value}")
    emit(figures)
