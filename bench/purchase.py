"""Purchase benchmark: `python -m bench.purchase`.

Runs gunicorn + PostgreSQL + Redis with WeChat Pay APIv3 faked at the wire in a separate process
(RSA-signed answers), logs in N simulated users, and measures in one run:
  1. the reference: an endpoint that does one conditional UPDATE of one row per request;
  2. order creation (reserve grams, record the order, prepay at WeChat Pay);
  3. whole purchases: create, then a signed, encrypted payment callback, fulfilment included.
The three alternate in slices (`--rounds`), after a warm-up, so that a machine whose speed drifts
affects them alike.
Afterwards it checks the pool: no gram oversold, every paid order fulfilled, the audit clean.
The last line is JSON: orders_per_s, purchases_per_s, p50_ms, p99_ms, reference_per_s, ratio, oversold_g.

`--driver wrk` drives the load with wrk (a load driver in C) instead of Python threads, and
alternates, in the same run: (a) the lean reference, a bare Flask app of bench/lean_app.py (one
psycopg connection per worker, one conditional UPDATE and one INSERT) under the same gunicorn
settings and database server; (b) the project's `POST /api/v1/_reference/touch` through its full
stack; (c) `POST /api/v1/orders` (one_yuan, one unit), the users' tokens rotated by a Lua script.
Its last line is JSON with lean, reference and orders, each {per_s, p50_ms, p99_ms, ratio} where
ratio is to the lean reference.

`--smoke` shrinks every size, so that a run takes seconds (the test suite runs it).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import create_engine, func, select

from bench import lean_app, profile
from bench.harness import (
    DEFAULT_MAINTENANCE_URL,
    DEFAULT_REDIS_URL,
    WRK_DONE,
    CpuMeter,
    LoadResult,
    StackError,
    WrkResult,
    children_of,
    database_name,
    drive,
    drop_database,
    emit,
    ensure_wrk,
    fresh_database,
    gunicorn,
    gunicorn_process,
    migrate,
    processes_named,
    run_wrk,
    sandbox_logins,
    service_env,
    wrk_script,
)

APPID = "wxbench0000000001"
MCHID = "1900000109"
APIV3_KEY = "0123456789abcdefghijklmnopqrstuv"
API_KEY = "vutsrqponmlkjihgfedcba9876543210"


def _serve_fake(merchant, platform, port_pipe) -> None:
    from tests.fakes.wechatpay_server import FakeWeChatPay

    fake = FakeWeChatPay(
        appid=APPID, mchid=MCHID, apiv3_key=APIV3_KEY, api_key=API_KEY, merchant=merchant, platform=platform
    )
    fake.start()
    port_pipe.send(fake._server.server_address[1])
    while True:
        time.sleep(3600)


def start_fake_wechatpay():
    """WeChat Pay's fake in its own process (so its RSA work does not share our GIL); gives (process, fake)."""
    from tests.fakes.wechatpay_server import FakeWeChatPay, MerchantKeys, PlatformKeys

    merchant, platform = MerchantKeys.generate(MCHID), PlatformKeys.generate()
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_fake, args=(merchant, platform, child), daemon=True)
    process.start()
    port = parent.recv()
    # A local twin of the fake, used only for its settings and to sign callbacks as WeChat Pay would.
    twin = FakeWeChatPay(
        appid=APPID, mchid=MCHID, apiv3_key=APIV3_KEY, api_key=API_KEY, merchant=merchant, platform=platform
    )
    twin._server = SimpleNamespace(server_address=("127.0.0.1", port))
    return process, twin


def signed_callback(fake, out_trade_no: str, amount_fen: int, openid: str):
    import datetime as dt

    from tests.fakes.wechatpay_server import BEIJING, _rfc3339

    resource = {
        "mchid": MCHID,
        "appid": APPID,
        "out_trade_no": out_trade_no,
        "transaction_id": "4200" + secrets.token_hex(12),
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": _rfc3339(dt.datetime.now(BEIJING).replace(microsecond=0)),
        "payer": {"openid": openid},
        "amount": {
            "total": amount_fen,
            "payer_total": amount_fen,
            "currency": "CNY",
            "payer_currency": "CNY",
        },
    }
    event = fake._event("TRANSACTION.SUCCESS", "transaction", "支付成功", resource, None)
    return fake._signed_callback(event, timestamp=None, age_s=0, forge_signature=False, use_certificate=False)


def stock(url: str, tonnes: int) -> None:
    """One FFCER project with a few batches holding `tonnes` in all, each in the public ledger as
    every batch entering the pool is (so the audit afterwards finds the ledger whole)."""
    from datetime import date

    from sqlalchemy.orm import Session

    from config import normalise_database_url
    from models import GRAMS_PER_TONNE, Batch, CreditKind, Project, ProjectOwner
    from services.ledger.recording import batches_issued_in

    engine = create_engine(normalise_database_url(url))
    with Session(engine) as session:
        session.add(CreditKind(code="FFCER", name="FFCER", price_fen_per_t=10_000))
        owner = ProjectOwner(name="林农陈某")
        project = Project(code="BENCH", name="顺昌竹林碳汇", kind_code="FFCER", owner=owner)
        session.add(project)
        session.flush()
        per_batch = tonnes // 4
        batches = []
        for i in range(4):
            start = 1 + i * per_batch
            batches.append(
                Batch(
                    project_id=project.id,
                    vintage=2019 + i,
                    serial_prefix="FFCER-B-",
                    serial_start=start,
                    serial_end=start + per_batch - 1,
                    quantity_t=per_batch,
                    issued_on=date(2023, 1, 1),
                    issued_g=per_batch * GRAMS_PER_TONNE,
                    available_g=per_batch * GRAMS_PER_TONNE,
                )
            )
        session.add_all(batches)
        session.flush()
        batches_issued_in(session, batches)
        session.commit()
    engine.dispose()


def pool_figures(url: str) -> dict[str, int]:
    from config import normalise_database_url
    from models import Batch, Order, OrderStatus

    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        issued, available, reserved, sold = conn.execute(
            select(
                func.sum(Batch.issued_g),
                func.sum(Batch.available_g),
                func.sum(Batch.reserved_g),
                func.sum(Batch.sold_g),
            )
        ).one()
        paid_not_fulfilled = conn.scalar(
            select(func.count())
            .select_from(Order)
            .where(
                Order.transaction_id.is_not(None),
                Order.status.not_in([OrderStatus.FULFILLED.value, OrderStatus.REFUNDED.value]),
            )
        )
        fulfilled_g = conn.scalar(
            select(func.coalesce(func.sum(Order.grams), 0)).where(Order.status == OrderStatus.FULFILLED.value)
        )
        fulfilled_orders = conn.scalar(
            select(func.count()).select_from(Order).where(Order.status == OrderStatus.FULFILLED.value)
        )
    engine.dispose()
    return {
        "issued_g": int(issued),
        "oversold_g": max(0, int(sold) + int(reserved) - int(issued))
        + abs(int(available) + int(reserved) + int(sold) - int(issued)),
        "sold_g": int(sold),
        "fulfilled_g": int(fulfilled_g),
        "paid_not_fulfilled": int(paid_not_fulfilled),
        "fulfilled_orders": int(fulfilled_orders),
    }


def audit_violations(env: dict[str, str]) -> int:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "flask", "credits", "audit"],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
    )
    return 0 if done.returncode == 0 else max(1, done.stdout.count("\n"))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--users", type=int, default=16, help="simulated users (client threads with --driver threads)"
    )
    parser.add_argument(
        "--duration", type=float, default=15, help="seconds of load per endpoint, all rounds together"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating slices per endpoint, so all see the same machine"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--tonnes", type=int, default=2_000, help="credits in the pool")
    parser.add_argument(
        "--provider",
        choices=["wechatpay_v3", "sandbox"],
        default="wechatpay_v3",
        help="wechatpay_v3: prepay over the wire to the faked WeChat Pay and signed callbacks (default); "
        "sandbox: no WeChat round trip, to see the service's own share",
    )
    parser.add_argument(
        "--driver",
        choices=["threads", "wrk"],
        default="threads",
        help="threads: Python client threads (default); wrk: wrk against a lean reference, the reference "
        "endpoint and order creation",
    )
    parser.add_argument("--connections", type=int, default=16, help="(wrk) open connections")
    parser.add_argument("--wrk-threads", type=int, default=2, help="(wrk) wrk's own threads")
    parser.add_argument(
        "--profile", action="store_true", help="(wrk) sample the workers with py-spy in the first round"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds: does it run at all")
    args = parser.parse_args()
    if args.smoke:
        args.users, args.duration, args.rounds, args.workers = 2, 1, 1, 1
        args.tonnes, args.connections, args.wrk_threads = 100, 2, 1
    return args


def main() -> None:
    args = parse_args()
    wrk = None
    if args.driver == "wrk":
        wrk = ensure_wrk()
        if wrk is None:
            raise SystemExit("wrk is not installed and could not be (apt-get install wrk, as root)")
    maintenance = os.environ.get("BENCH_DATABASE_URL", DEFAULT_MAINTENANCE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    name = database_name("carbon_bench_purchase", args.smoke)
    url = fresh_database(maintenance, name)
    fake_process, fake = start_fake_wechatpay()
    keys = Path(tempfile.mkdtemp(prefix="bench-wechatpay-"))
    env = service_env(
        url,
        redis_url,
        BENCH_REFERENCE_ENDPOINT="true",
        DATABASE_POOL_SIZE="4",
        **{k: str(v) for k, v in fake.settings(keys, "wechatpay_v3").items()},
    )
    if args.provider == "sandbox":
        env["PAYMENT_PROVIDER"] = "sandbox"
    try:
        migrate(env)
        stock(url, args.tonnes)
        if wrk is not None:
            wechatpay = fake if args.provider != "sandbox" else None
            figures = wrk_rounds(args, wrk, env, url, wechatpay, fake_process.pid)
        else:
            figures = thread_rounds(args, env, fake)
        pool = pool_figures(url)
        violations = audit_violations(env)
    finally:
        fake_process.kill()
        if args.smoke:
            drop_database(maintenance, name)
    print(f"pool: {pool}  audit violations: {violations}")
    figures.update(
        oversold_g=pool["oversold_g"],
        paid_not_fulfilled=pool["paid_not_fulfilled"],
        audit_violations=violations,
    )
    emit(figures)


def _line(name: str, result: LoadResult | WrkResult) -> str:
    return (
        f"{name:10s} {result.ok:7d} in {result.seconds:5.1f} s = {result.per_second:8.1f}/s  "
        f"p50 {result.percentile_ms(0.5):6.1f} ms  p99 {result.percentile_ms(0.99):7.1f} ms  "
        f"errors {result.errors}"
    )


def thread_rounds(args: argparse.Namespace, env: dict[str, str], fake) -> dict[str, object]:
    """Python client threads: the reference, order creation and whole purchases, in alternating slices."""
    warmup_s = 0.3 if args.smoke else 2
    with gunicorn(env, args.workers) as base:
        tokens = sandbox_logins(base, args.users, "bench")
        headers = [{"Authorization": f"Bearer {token}"} for token in tokens]

        def reference(session, _index):
            return session.post(f"{base}/api/v1/_reference/touch", timeout=10)

        def create(session, index):
            return session.post(
                f"{base}/api/v1/orders",
                json={"product": "one_yuan", "units": 1},
                headers=headers[index],
                timeout=30,
            )

        def purchase(session, index):
            placed = create(session, index)
            if placed.status_code != 201:
                return placed
            order = placed.json()["order"]
            if args.provider == "sandbox":
                return session.post(
                    f"{base}/api/v1/sandbox/orders/{order['out_trade_no']}/pay",
                    headers=headers[index],
                    timeout=30,
                )
            callback = signed_callback(fake, order["out_trade_no"], order["amount_fen"], f"bench-{index}")
            return session.post(
                f"{base}/api/v1/payments/wechatpay_v3/notify",
                data=callback.body,
                headers={"Content-Type": "application/json", **callback.headers},
                timeout=30,
            )

        drive(reference, args.users, warmup_s)
        drive(create, args.users, warmup_s, expected_status=201)
        ref, orders, purchases = LoadResult(), LoadResult(), LoadResult()
        slice_s = args.duration / args.rounds
        for _ in range(args.rounds):
            ref.add(drive(reference, args.users, slice_s))
            orders.add(drive(create, args.users, slice_s, expected_status=201))
            purchases.add(drive(purchase, args.users, slice_s))

    for name, result in (("reference", ref), ("orders", orders), ("purchases", purchases)):
        print(_line(name, result))
    return {
        "driver": "threads",
        "provider": args.provider,
        "users": args.users,
        "workers": args.workers,
        "reference_per_s": round(ref.per_second, 1),
        "orders_per_s": round(orders.per_second, 1),
        "purchases_per_s": round(purchases.per_second, 1),
        "p50_ms": round(orders.percentile_ms(0.5), 1),
        "p99_ms": round(orders.percentile_ms(0.99), 1),
        "purchase_p50_ms": round(purchases.percentile_ms(0.5), 1),
        "purchase_p99_ms": round(purchases.percentile_ms(0.99), 1),
        "ratio": round(orders.per_second / ref.per_second, 3) if ref.per_second else 0.0,
        "errors": sum(ref.errors.values()) + sum(orders.errors.values()) + sum(purchases.errors.values()),
    }


def wrk_rounds(
    args: argparse.Namespace, wrk: str, env: dict[str, str], url: str, fake=None, fake_pid: int | None = None
) -> dict[str, object]:
    """wrk against the lean reference, the project's reference endpoint, order creation and (with
    WeChat Pay's fake) the payment callbacks of those orders, alternating."""
    lean_app.create_tables(url)
    lean_env = {**env, "LEAN_DATABASE_URL": url}
    scripts = Path(tempfile.mkdtemp(prefix="bench-wrk-"))
    post = scripts / "post.lua"
    post.write_text(wrk_script("POST"))
    try:
        with (
            gunicorn_process(lean_env, args.workers, app="bench.lean_app:app") as lean,
            gunicorn_process(env, args.workers) as service,
        ):
            tokens = sandbox_logins(service.base, args.users, "bench")
            create = scripts / "orders.lua"
            create.write_text(
                wrk_script(
                    "POST",
                    body=json.dumps({"product": "one_yuan", "units": 1}),
                    headers={"Content-Type": "application/json"},
                    tokens=tokens,
                )
            )
            targets = {
                "lean": (f"{lean.base}/order", post),
                "reference": (f"{service.base}/api/v1/_reference/touch", post),
                "orders": (f"{service.base}/api/v1/orders", create),
            }
            for target, script in targets.values() if not args.smoke else ():  # warm-up
                run_wrk(wrk, target, script, args.connections, 1, threads=args.wrk_threads)
            results = {name: WrkResult() for name in (*targets, "callbacks")}
            # Where each endpoint's CPU goes: its own gunicorn workers, PostgreSQL, WeChat Pay's fake.
            groups = {"postgres": lambda: processes_named("postgres")}
            if fake_pid is not None:
                groups["wechatpay_fake"] = lambda: [fake_pid]

            def app_workers(server):
                return lambda: children_of(server.process.pid)

            meters = {
                name: CpuMeter({"app": app_workers(lean if name == "lean" else service), **groups})
                for name in results
            }
            round_s = args.duration / args.rounds
            profiles = {}
            notify = f"{service.base}/api/v1/payments/wechatpay_v3/notify"
            called_back: set[str] = set()
            fulfilled = 0
            for round_index in range(args.rounds):
                for name, (target, script) in targets.items():
                    sampled = args.profile and round_index == 0 and name != "lean"
                    recorder = profile.start(service.process.pid, round_s) if sampled else None
                    meters[name].start()
                    run_wrk(wrk, target, script, args.connections, round_s, results[name], args.wrk_threads)
                    meters[name].stop()
                    if recorder is not None:
                        profiles[name] = profile.finish(*recorder)
                if fake is None:
                    continue
                # Whole purchases: every order this run made so far is paid, by a signed callback each.
                callbacks = scripts / "callbacks.lua"
                callbacks.write_text(callback_script(fake, open_orders(url, called_back)))
                sampled = args.profile and round_index == 0
                recorder = profile.start(service.process.pid, round_s) if sampled else None
                meters["callbacks"].start()
                run_wrk(
                    wrk, notify, callbacks, args.connections, round_s, results["callbacks"], args.wrk_threads
                )
                meters["callbacks"].stop()
                if recorder is not None:
                    profiles["callbacks"] = profile.finish(*recorder)
                fulfilled = pool_figures(url)["fulfilled_orders"]
    except StackError as exc:
        raise SystemExit(str(exc)) from exc
    finally:
        for script in scripts.iterdir():
            script.unlink()
        scripts.rmdir()

    for name, sampled in profiles.items():
        profile.print_profile(name, sampled)
    lean_per_s = results["lean"].per_second
    callbacks = results.pop("callbacks")
    figures: dict[str, object] = {
        "driver": "wrk",
        "provider": args.provider,
        "connections": args.connections,
        "users": args.users,
        "workers": args.workers,
        "rounds": args.rounds,
        "round_s": max(1, round(args.duration / args.rounds)),
        "errors": sum(sum(result.errors.values()) for result in results.values()),
    }
    for name, result in results.items():
        print(_line(name, result))
        figures[name] = {
            "per_s": round(result.per_second, 1),
            "p50_ms": round(result.percentile_ms(0.5), 1),
            "p99_ms": round(result.percentile_ms(0.99), 1),
            "ratio": round(result.per_second / lean_per_s, 3) if lean_per_s else 0.0,
            "requests": result.requests,
            "failed": result.failed,
            "cpu_ms": meters[name].per_request_ms(result.ok),
        }
    if callbacks.seconds:
        # Orders paid and fulfilled per second of callback load, counted in the database (a callback
        # WeChat Pay delivers again is acknowledged, not fulfilled twice).
        fulfilled_per_s = fulfilled / callbacks.seconds
        print(_line("callbacks", callbacks) + f"  fulfilled {fulfilled_per_s:.1f}/s")
        orders_per_s = results["orders"].per_second
        # A purchase is one order and one callback on the same machine: their times add up.
        purchases = 1 / (1 / orders_per_s + 1 / fulfilled_per_s) if orders_per_s and fulfilled_per_s else 0.0
        figures["callbacks"] = {
            "per_s": round(callbacks.per_second, 1),
            "fulfilled_per_s": round(fulfilled_per_s, 1),
            "p50_ms": round(callbacks.percentile_ms(0.5), 1),
            "p99_ms": round(callbacks.percentile_ms(0.99), 1),
            "requests": callbacks.requests,
            "failed": callbacks.failed,
            # CPU per order fulfilled (a callback answered for an order already paid costs little).
            "cpu_ms": meters["callbacks"].per_request_ms(fulfilled),
        }
        figures["purchases"] = {
            "per_s": round(purchases, 1),
            "ratio": round(purchases / lean_per_s, 3) if lean_per_s else 0.0,
        }
    return figures


def open_orders(url: str, called_back: set[str]) -> list[tuple[str, int, str]]:
    """(out_trade_no, amount_fen, payer openid) of the orders awaiting payment not yet called back."""
    from config import normalise_database_url
    from models import Order, OrderStatus, User

    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Order.out_trade_no, Order.amount_fen, User.openid)
                .join(User, User.id == Order.user_id)
                .where(Order.status == OrderStatus.AWAITING_PAYMENT)
                .order_by(Order.id)
            ).all()
    finally:
        engine.dispose()
    fresh = [(number, amount, openid) for number, amount, openid in rows if number not in called_back]
    called_back.update(number for number, _, _ in fresh)
    return fresh


def callback_script(fake, orders: list[tuple[str, int, str]]) -> str:
    """A wrk Lua script sending each order's signed payment callback once, the wrk threads taking
    turns through the list; past its end a thread delivers callbacks again, as WeChat Pay may."""
    entries = []
    for out_trade_no, amount_fen, openid in orders:
        callback = signed_callback(fake, out_trade_no, amount_fen, openid)
        headers = {"Content-Type": "application/json", **callback.headers}
        lua_headers = ",".join(
            f"[{json.dumps(k)}]={json.dumps(v, ensure_ascii=False)}" for k, v in headers.items()
        )
        body = json.dumps(callback.body.decode(), ensure_ascii=False)
        entries.append(f"{{{body},{{{lua_headers}}}}}")
    return (
        "local callbacks = {" + ",\n".join(entries) + "}\n"
        "local made = 0\n"
        "function setup(thread) thread:set('offset', made); made = made + 1 end\n"
        "local n = 0\n"
        "function request()\n"
        "  local i = ((offset or 0) + n * 2) % #callbacks + 1\n"
        "  n = n + 1\n"
        "  return wrk.format('POST', nil, callbacks[i][2], callbacks[i][1])\n"
        "end\n" + WRK_DONE
    )


if __name__ == "__main__":
    main()
