"""Redis and PostgreSQL servers of a test's own, so that stopping or restarting one disturbs nobody else.

`PrivateRedis` runs `redis-server` on a free loopback port (no persistence: a restart comes back
empty, as a lost Redis does); `PrivateSentinel` runs a Redis Sentinel watching one. `PrivatePostgres`
runs a throw-away cluster (`initdb`, trust auth on 127.0.0.1) with a `carbon` database, and can make
a synchronous streaming replica of itself; as root, the servers run as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.harness import free_port

PG_BIN = max(glob.glob("/usr/lib/postgresql/*/bin"), default="", key=lambda p: int(p.split("/")[-2]))


def wait_for_port(port: int, timeout_s: float = 10) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class PrivateRedis:
    """A `redis-server` on a free port; `extra` are more command-line options (e.g. `--replicaof`)."""

    def __init__(self, *extra: str) -> None:
        self.port = free_port()
        self.extra = extra
        self.directory = Path(tempfile.mkdtemp(prefix="carbon-redis-"))  # where a replica keeps its copy
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        """Kill the server (it may start again, empty); its files stay until `remove`."""
        self.process = _killed(self.process)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class PrivateSentinel:
    """A Redis Sentinel (`redis-server --sentinel`) watching one master under `name`, alone (quorum 1)."""

    def __init__(self, name: str, master: PrivateRedis, down_after_ms: int = 1000) -> None:
        self.name = name
        self.master = master
        self.down_after_ms = down_after_ms
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="carbon-sentinel-"))
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        config = self.directory / "sentinel.conf"  # Sentinel rewrites its file: it must be its own
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.directory}\n"
            f"sentinel monitor {self.name} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel down-after-milliseconds {self.name} {self.down_after_ms}\n"
            f"sentinel failover-timeout {self.name} 10000\n"
        )
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", str(config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        self.process = _killed(self.process)
        shutil.rmtree(self.directory, ignore_errors=True)


def _killed(process: subprocess.Popen | None) -> None:
    """Kill `process` (if any) and reap it; gives None, for the attribute that held it."""
    if process is not None:
        process.kill()
        process.wait()


def _as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


class PrivatePostgres:
    """A PostgreSQL cluster of its own on a free port, with a `carbon` database."""

    def __init__(self) -> None:
        # Not under pytest's tmp dir: the server runs as `postgres`, which may not enter root's directories.
        self.data = Path(tempfile.mkdtemp(prefix="carbon-pg-"))
        self.port = free_port()

    @staticmethod
    def available() -> bool:
        return bool(PG_BIN) and (os.geteuid() != 0 or shutil.which("runuser") is not None)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://root@127.0.0.1:{self.port}/carbon"

    def _run(self, *command: str) -> None:
        subprocess.run(_as_postgres(*command), check=True, capture_output=True, timeout=120)

    def _ctl(self, *action: str) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            f"{PG_BIN}/pg_ctl",
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.data / "log"),
            "-o",
            options,
            *action,
        )

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self._run(f"{PG_BIN}/initdb", "-D", str(self.data), "-U", "root", "--auth=trust")
        self._ctl("start")
        self._run(f"{PG_BIN}/createdb", *self._connection(), "carbon")

    def restart(self) -> None:
        """A fast restart: open connections are terminated, transactions in flight roll back."""
        self._ctl("-m", "fast", "restart")

    def _connection(self) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", "root"]

    def sql(self, statement: str) -> str:
        """Run one SQL statement with psql in the `carbon` database; its output, unaligned."""
        command = [f"{PG_BIN}/psql", *self._connection(), "-d", "carbon", "-At", "-c", statement]
        done = subprocess.run(_as_postgres(*command), check=True, capture_output=True, text=True, timeout=60)
        return done.stdout.strip()

    def standby(self) -> PrivatePostgres:
        """A streaming replica of this server (`pg_basebackup -R`), started, its commits made synchronous."""
        replica = PrivatePostgres()
        if os.geteuid() == 0:
            shutil.chown(replica.data, "postgres", "postgres")
        # A fast checkpoint: the default spreads it out and makes the copy wait.
        backup = ["-D", str(replica.data), "-R", "-X", "stream", "--checkpoint=fast"]
        self._run(f"{PG_BIN}/pg_basebackup", *self._connection(), *backup)
        replica._ctl("start")
        self.sql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        self.sql("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 30
        while self.sql("SELECT sync_state FROM pg_stat_replication") != "sync":
            if time.monotonic() > deadline:
                raise RuntimeError("the standby did not become a synchronous replica")
            time.sleep(0.1)
        return replica

    def crash(self) -> None:
        """Stop at once, as a crash does (no checkpoint; the data directory stays)."""
        self._run(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")

    def promote(self) -> None:
        """A standby becomes a primary and takes writes."""
        self._ctl("promote")

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-m", "immediate", "stop"),
            capture_output=True,
        )
        shutil.rmtree(self.data, ignore_errors=True)
