"""Driving the real stack from tests: gunicorn on a free port, buyers over real HTTP, a tally of answers.

`live_service` starts the project's gunicorn (`gunicorn.conf.py`, `wsgi:app` unless told otherwise)
with the service's environment (`bench.harness.service_env`) pointing at the given PostgreSQL and
Redis and, through `settings`, at the loopback WeChat Pay. A `Buyer` logs in with a sandbox code
and buys the way the mini-program and WeChat Pay do: place the order, pay at WeChat Pay, and WeChat
Pay posts its signed callback. Every answer goes into a `Tally`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.harness import ROOT, Gunicorn, gunicorn_process, service_env
from tests.fakes.wechatpay_server import Callback, FakeWeChatPay

TIMEOUT_S = 30


@contextmanager
def live_service(
    database_url: str,
    redis_url: str,
    log_dir: Path,
    *,
    workers: int = 2,
    app: str = "wsgi:app",
    **settings: Any,
) -> Iterator[Gunicorn]:
    """gunicorn serving the project against `database_url` and `redis_url`; `settings` are env values."""
    env = service_env(database_url, redis_url, **{name: str(value) for name, value in settings.items()})
    with gunicorn_process(env, workers=workers, app=app, log_path=log_dir / "gunicorn.log") as server:
        yield server


@dataclass
class Tally:
    """Answers by status (or by exception name when none came), and 503s that carried Retry-After."""

    statuses: Counter = field(default_factory=Counter)
    retry_after: int = 0
    first_503: float | None = None
    last_503: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, answer: requests.Response | Exception) -> None:
        key = answer.status_code if isinstance(answer, requests.Response) else type(answer).__name__
        with self._lock:
            self.statuses[key] += 1
            if key == 503:
                now = time.monotonic()
                self.first_503 = self.first_503 or now
                self.last_503 = now
                self.retry_after += bool(answer.headers.get("Retry-After"))

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def succeeded(self) -> int:
        return sum(n for key, n in self.statuses.items() if isinstance(key, int) and key < 400)

    def count(self, status: int | str) -> int:
        return self.statuses[status]


@dataclass
class Purchase:
    """One buyer's attempt: the order (when placed), whether WeChat Pay took the money, whether the
    service acknowledged WeChat Pay's callback (else WeChat Pay sends it again later)."""

    out_trade_no: str | None = None
    amount_fen: int = 0
    paid: bool = False
    acknowledged: bool = False
    finished_at: float = 0.0


class Buyer:
    """A mini-program user with a bearer token and a connection of their own."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.headers = {"Authorization": f"Bearer {token}"}

    @classmethod
    def log_in(cls, base: str, code: str) -> Buyer:
        answer = requests.post(f"{base}/api/v1/auth/login", json={"code": code}, timeout=TIMEOUT_S)
        answer.raise_for_status()
        return cls(base, answer.json()["token"])

    def call(
        self,
        tally: Tally | None,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response | Exception:
        """One request with the buyer's token; the answer, or the exception when none came."""
        return _answered(
            tally,
            lambda: self.session.request(
                method,
                self.base + path,
                headers={**self.headers, **(headers or {})},
                timeout=TIMEOUT_S,
                **kwargs,
            ),
        )

    def place(
        self, tally: Tally | None, units: int = 1, key: str | None = None
    ) -> requests.Response | Exception:
        return self.call(
            tally,
            "POST",
            "/api/v1/orders",
            headers={"Idempotency-Key": key or uuid.uuid4().hex},
            json={"product": "one_yuan", "units": units},
        )

    def buy(self, fake: FakeWeChatPay, tally: Tally, units: int = 1) -> Purchase:
        """Place an order, pay it at WeChat Pay, let WeChat Pay deliver the callback."""
        purchase = Purchase()
        placed = self.place(tally, units)
        if isinstance(placed, requests.Response) and placed.status_code == 201:
            order = placed.json()["order"]
            purchase.out_trade_no, purchase.amount_fen = order["out_trade_no"], order["amount_fen"]
            fake.pay(purchase.out_trade_no)
            purchase.paid = True
            answer = deliver(self.base, fake.payment_callback(purchase.out_trade_no), tally)
            purchase.acknowledged = isinstance(answer, requests.Response) and answer.status_code == 200
        purchase.finished_at = time.monotonic()
        return purchase

    def close(self) -> None:
        self.session.close()


class PurchaseRun:
    """Buyers purchasing in a loop, each in a thread; answers are tallied by the phase they began in."""

    def __init__(self, buyers: list[Buyer], fake: FakeWeChatPay) -> None:
        self.buyers, self.fake = buyers, fake
        self.tallies: dict[str, Tally] = {}
        self.purchases: list[Purchase] = []
        self.phase = ""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, phase: str) -> None:
        self.enter(phase)
        self._stop.clear()
        self._threads = [threading.Thread(target=self._shop, args=(b,), daemon=True) for b in self.buyers]
        for thread in self._threads:
            thread.start()

    def enter(self, phase: str) -> None:
        self.phase = phase
        self.tallies.setdefault(phase, Tally())

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def redeliver(self, base: str) -> tuple[list[Purchase], Counter]:
        """As WeChat Pay does until it is acknowledged: the callback of every paid, unacknowledged
        purchase again; those purchases, and the statuses of the answers."""
        unacknowledged = [p for p in self.purchases if p.paid and not p.acknowledged]
        answers = Counter(
            deliver(base, self.fake.payment_callback(p.out_trade_no)).status_code for p in unacknowledged
        )
        return unacknowledged, answers

    def _shop(self, buyer: Buyer) -> None:
        while not self._stop.is_set():
            self.purchases.append(buyer.buy(self.fake, self.tallies[self.phase]))


def deliver(
    base: str,
    callback: Callback,
    tally: Tally | None = None,
    provider: str = "wechatpay_v3",
    path: str = "notify",
) -> requests.Response | Exception:
    """POST a signed WeChat Pay callback to the service (`notify` or `refund-notify`), as WeChat Pay does."""
    return _answered(
        tally,
        lambda: requests.post(
            f"{base}/api/v1/payments/{provider}/{path}",
            data=callback.body,
            headers={"Content-Type": "application/json", **callback.headers},
            timeout=TIMEOUT_S,
        ),
    )


def _answered(tally: Tally | None, send: Callable[[], requests.Response]) -> requests.Response | Exception:
    """Send; the answer, or the exception when none came; counted in `tally` if given."""
    try:
        answer: requests.Response | Exception = send()
    except requests.RequestException as exc:
        answer = exc
    if tally is not None:
        tally.record(answer)
    return answer


def in_threads(work: Callable[..., Any], arguments: Iterable[tuple], timeout_s: float = 120) -> list[Any]:
    """Run `work(*args)` for each tuple of `arguments` at once, one thread each; their results in order."""
    arguments = list(arguments)
    results: list[Any] = [None] * len(arguments)
    errors: list[BaseException] = []

    def run(index: int, args: tuple) -> None:
        try:
            results[index] = work(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, a), daemon=True) for i, a in enumerate(arguments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout_s)
    if errors:
        raise errors[0]
    return results


def wait_until(check: Callable[[], bool], timeout_s: float = 30, interval_s: float = 0.05) -> float:
    """Poll `check` until it holds; the seconds it took. Fails the test when it never holds."""
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > timeout_s:
            raise AssertionError(f"still not true after {timeout_s} s")
        time.sleep(interval_s)
    return time.monotonic() - began


def status_of(url: str) -> int | str:
    try:
        return requests.get(url, timeout=5).status_code
    except requests.RequestException as exc:
        return type(exc).__name__


def flask_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Run `flask --app wsgi ARGS` (a command of the project) in the service's environment."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def report_figures(record_property: Callable[[str, object], None], name: str, **figures: Any) -> None:
    """Print the figures of a fault test on one line, and keep them for the run's summary."""
    line = f"{name}: " + json.dumps(figures, ensure_ascii=False, sort_keys=False)
    print(line)
    record_property("figures", line)
