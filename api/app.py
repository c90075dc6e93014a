"""The application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_smorest import Api

from api import context
from api.auth import BEARER_SCHEME
from api.errors import ErrorSchema, register_error_handlers
from api.limits import limiter
from config import load_settings
from models import database
from services import redis_store

API_TITLE = "Carbon inclusion (碳普惠) API"


class CarbonApi(Api):
    ERROR_SCHEMA = ErrorSchema


def _blueprints(settings: dict[str, Any]) -> list[Any]:
    from api.health.routes import blp as health

    blueprints = [health]
    modules = list(BLUEPRINT_MODULES)
    if settings["BENCH_REFERENCE_ENDPOINT"]:
        modules.append(BENCH_REFERENCE_MODULE)
    for module in modules:
        blueprints.append(__import__(module, fromlist=["blp"]).blp)
    return blueprints


# Resource packages, each with a `routes.py` exposing `blp`.
BLUEPRINT_MODULES: list[str] = [
    "api.accounts.routes",
    "api.organisations.routes",
    "api.audit_log.routes",
    "api.catalogue.routes",
    "api.catalogue_admin.routes",
    "api.batches.routes",
    "api.orders.routes",
    "api.admin_orders.routes",
    "api.payments.routes",
    "api.certificates.routes",
    "api.points.routes",
    "api.footprints.routes",
    "api.factors.routes",
]
# Served only with the setting BENCH_REFERENCE_ENDPOINT (benchmarks; refused in production).
BENCH_REFERENCE_MODULE = "api.bench_reference.routes"


def create_app(profile: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app for a settings profile (default: $CARBON_PROFILE or `default`)."""
    settings = load_settings(profile, overrides=overrides)
    app = Flask(__name__, instance_relative_config=True, template_folder="templates")
    app.config.update(settings)
    app.config.update(
        API_TITLE=API_TITLE,
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs/swagger",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        OPENAPI_REDOC_PATH="/docs/redoc",
        OPENAPI_REDOC_URL="https://cdn.jsdelivr.net/npm/redoc/bundles/redoc.standalone.js",
        RATELIMIT_STORAGE_URI=settings["REDIS_URL"] or "memory://",
        RATELIMIT_ENABLED=settings["RATELIMIT_ENABLED"],
        RATELIMIT_SWALLOW_ERRORS=True,  # Redis down must not stop purchases; limits degrade open.
        JSON_SORT_KEYS=False,
    )
    logging.basicConfig(level=settings["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s %(message)s")

    database.configure(settings["DATABASE_URL"], settings["DATABASE_POOL_SIZE"])
    redis_store.configure(settings["REDIS_URL"])
    limiter.init_app(app)
    context.init_app(app)

    api = CarbonApi(app)
    api.spec.components.security_scheme("bearerAuth", BEARER_SCHEME)
    for blueprint in _blueprints(settings):
        api.register_blueprint(blueprint)
    register_error_handlers(app)

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        database.db_session.remove()

    from commands import register_commands

    register_commands(app)
    return app
