"""Liveness (the process answers) and readiness (the database and Redis answer)."""

from __future__ import annotations

from api.blueprint import Blueprint
from api.health.schemas import HealthSchema
from services.reporting.health import check_readiness

blp = Blueprint("health", __name__, url_prefix="/health", description="Liveness and readiness probes")


@blp.route("/live")
@blp.response(200, HealthSchema)
def live():
    """The process is up."""
    return {"status": "ok", "checks": {}}


@blp.route("/ready")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="A dependency is down")
def ready():
    """The database and Redis both answer."""
    checks = check_readiness()
    ok = all(value == "ok" for value in checks.values())
    return {"status": "ok" if ok else "unavailable", "checks": checks}, (200 if ok else 503)
