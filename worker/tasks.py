"""RQ tasks. Each runs inside an app context built once per worker process, and returns a summary."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from functools import wraps
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)
_app: Flask | None = None


def _flask_app() -> Flask:
    global _app
    if _app is None:
        from api import create_app

        _app = create_app()
    return _app


def in_app_context(func: Callable[[], Any]) -> Callable[[], dict[str, Any]]:
    @wraps(func)
    def wrapper() -> dict[str, Any]:
        from models.database import db_session

        with _flask_app().app_context():
            try:
                result = func()
            finally:
                db_session.remove()
        summary = asdict(result) if is_dataclass(result) else {"result": result}
        log.info("job %s: %s", func.__name__, summary)
        return summary

    return wrapper


def _context():
    from api.context import order_policy, payment_provider

    return payment_provider(), order_policy()


@in_app_context
def expire_orders():
    from services.sales.order_jobs import expire_due_orders

    provider, policy = _context()
    return expire_due_orders(provider, policy)


@in_app_context
def sync_orders():
    from services.sales.order_jobs import query_silent_orders

    provider, policy = _context()
    return query_silent_orders(provider, policy)


@in_app_context
def finish_refunds():
    from services.sales.order_jobs import finish_refunds as finish

    provider, policy = _context()
    return finish(provider, policy)


@in_app_context
def release_points():
    from services.points import points

    return points.release_pending()


@in_app_context
def expire_points():
    from services.points import points

    return points.expire_due()
