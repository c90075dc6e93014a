"""The application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from flask_smorest import Api
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import bootstrap
from api import context, json_guard, observability, security_headers
from api.auth import BEARER_SCHEME
from api.console import blueprint as console
from api.errors import ErrorSchema, register_error_handlers
from api.fields import numeric_bounds
from api.limits import limiter
from api.partner_auth import PARTNER_SCHEME
from models import database

API_TITLE = "Carbon inclusion (碳普惠) API"


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` path ids that fit a 64-bit column; anything larger is simply not found."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


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
    "api.privacy_guide.routes",
    "api.personal_data.routes",
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
    "api.rewards.routes",
    "api.rewards_admin.routes",
    "api.tiers.routes",
    "api.organisation_points.routes",
    "api.partners_admin.routes",
    "api.consents.routes",
    "api.partner_api.routes",
    "api.actions.routes",
    "api.werun_sandbox.routes",
    "api.action_flags.routes",
    "api.rankings.routes",
    "api.admin_retirement.routes",
    "api.admin_payouts.routes",
    "api.admin_dashboard.routes",
    "api.transparency.routes",
    "api.ledger.routes",
    "api.admin_reports.routes",
    "api.reconciliation.routes",
    "api.footprints.routes",
    "api.factors.routes",
    "api.events.routes",
    "api.institutional.routes",
    "api.forestry.routes",
    "api.land_compensation.routes",
    "api.reductions.routes",
    "api.subscriptions.routes",
]
# Served only with the setting BENCH_REFERENCE_ENDPOINT (benchmarks; refused in production).
BENCH_REFERENCE_MODULE = "api.bench_reference.routes"


def _int64_range(self: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Integers are 64-bit in the database; say so in the OpenAPI description."""
    import marshmallow as ma

    if not isinstance(field, ma.fields.Integer):
        return {}
    return {"minimum": ret.get("minimum", -(2**63)), "maximum": ret.get("maximum", 2**63 - 1)}


def _describe_pagination_header_as_json(api: Api) -> None:
    """X-Pagination carries a JSON object in a header: OpenAPI says so with `content`, not `schema`."""
    header = api.spec.components.headers.get("PAGINATION")
    if header and "schema" in header:
        header["content"] = {"application/json": {"schema": header.pop("schema")}}


def _serve_swagger_ui(app: Flask) -> None:
    import flask_swagger_ui
    from flask import send_from_directory

    dist = os.path.join(os.path.dirname(flask_swagger_ui.__file__), "dist")

    @app.route("/api/docs/swagger-ui/<path:filename>")
    def swagger_ui_file(filename: str):
        return send_from_directory(dist, filename, max_age=86400)


def create_app(profile: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app for a settings profile (default: $CARBON_PROFILE or `default`)."""
    runtime = bootstrap.start(profile, overrides)
    settings = dict(runtime.settings)
    app = Flask(__name__, instance_relative_config=True, template_folder="templates")
    app.config.update(settings)
    app.json.ensure_ascii = False  # Chinese names stay readable in responses
    app.config.update(
        API_TITLE=API_TITLE,
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs/swagger",
        # Swagger UI's files come from the flask-swagger-ui package, so the UI works offline. No ReDoc
        # page: no PyPI package fit to depend on ships its script, and a CDN copy is blank offline.
        OPENAPI_SWAGGER_UI_URL="/api/docs/swagger-ui/",
        RATELIMIT_ENABLED=settings["RATELIMIT_ENABLED"],
        RATELIMIT_SWALLOW_ERRORS=True,  # Redis down must not stop purchases; limits degrade open.
        JSON_SORT_KEYS=False,
    )
    if settings["TRUSTED_PROXIES"]:
        hops = settings["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    observability.init_app(app)
    security_headers.init_app(app)
    json_guard.init_app(app)

    if settings["REDIS_URL"]:
        # The limiter shares the service's connections: the same server (through Sentinel too), timeouts and retry.
        app.config.update(
            RATELIMIT_STORAGE_URI="redis://",
            RATELIMIT_STORAGE_OPTIONS={"connection_pool": runtime.redis.connection_pool},
        )
    else:
        app.config.update(RATELIMIT_STORAGE_URI="memory://")
    limiter.init_app(app)
    context.init_app(app, runtime)

    app.url_map.converters["int"] = BoundedIntConverter
    api = CarbonApi(app)
    api.ma_plugin.converter.add_attribute_function(_int64_range)
    api.ma_plugin.converter.add_attribute_function(numeric_bounds)
    api.spec.components.security_scheme("bearerAuth", BEARER_SCHEME)
    api.spec.components.security_scheme("partnerSignature", PARTNER_SCHEME)
    for blueprint in _blueprints(settings):
        api.register_blueprint(blueprint)
    register_error_handlers(app)
    _describe_pagination_header_as_json(api)
    _serve_swagger_ui(app)
    console.init_app(app)  # server-rendered pages, outside the OpenAPI description

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        database.db_session.remove()

    from commands import register_commands

    register_commands(app)
    return app
