"""RQ tasks. Each runs on the runtime its worker process starts once (`bootstrap.start`), and returns a summary."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from functools import wraps
from typing import Any

import bootstrap
from bootstrap import Runtime

log = logging.getLogger(__name__)
_runtime: Runtime | None = None


def _started() -> Runtime:
    """This worker process's runtime, started once (settings from the environment)."""
    global _runtime
    if _runtime is None:
        _runtime = bootstrap.start()
    return _runtime


def use(runtime: Runtime) -> None:
    """Run this process's tasks on a runtime already started (the web process of the embedded default)."""
    global _runtime
    _runtime = runtime


def on_runtime(func: Callable[[], Any]) -> Callable[[], dict[str, Any]]:
    """Run a task on the process's runtime, end its database session, answer its summary."""

    @wraps(func)
    def wrapper() -> dict[str, Any]:
        from models.database import db_session

        _started()
        try:
            result = func()
        finally:
            db_session.remove()
        summary = asdict(result) if is_dataclass(result) else {"result": result}
        log.info("job %s: %s", func.__name__, summary)
        return summary

    return wrapper


def _context():
    runtime = _started()
    return runtime.payment_provider, runtime.order_policy


@on_runtime
def expire_orders():
    from services.settlement.order_jobs import expire_due_orders

    provider, policy = _context()
    return expire_due_orders(provider, policy)


@on_runtime
def sync_orders():
    from services.settlement.order_jobs import query_silent_orders

    provider, policy = _context()
    return query_silent_orders(provider, policy)


@on_runtime
def finish_refunds():
    from services.settlement.order_jobs import finish_refunds as finish

    provider, policy = _context()
    return finish(provider, policy)


@on_runtime
def release_points():
    from services.points import points

    return points.release_pending()


@on_runtime
def expire_points():
    from services.points import points

    return points.expire_due()


@on_runtime
def carry_out_account_deletions():
    from services.personal_data.erasure import carry_out_due

    return carry_out_due(_started().order_policy.ended_sync_days)


@on_runtime
def sign_ledger_head():
    from services.ledger.tree_heads import sign_if_grown

    return sign_if_grown()


@on_runtime
def compact_rollups():
    from services.reporting.rollup_compaction import compact

    return compact()


@on_runtime
def recheck_texts():
    from services.accounts.content_check import recheck_due

    return recheck_due()


@on_runtime
def send_subscribe_messages():
    from services.notifications.message_sending import scan_and_send

    return scan_and_send()
