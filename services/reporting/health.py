"""Readiness checks of the service's dependencies."""

from __future__ import annotations

from sqlalchemy import text

from models.database import get_engine
from services.kernel.redis_store import get_redis


def check_readiness() -> dict[str, str]:
    """Ping the database and Redis; each check says `ok` or what failed."""
    checks: dict[str, str] = {}
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    return checks
