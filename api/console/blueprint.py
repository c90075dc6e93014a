"""The console blueprint: cookie session settings, CSRF on every form, errors shown as pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, current_app, g, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import UnprocessableEntity

from api.errors import status_for
from models import GRAMS_PER_TONNE
from services.kernel.beijing_time import BEIJING
from services.kernel.errors import DomainError
from services.registry.payouts import yuan

bp = Blueprint("console", __name__, url_prefix="/console", static_folder="static")
csrf = CSRFProtect()

# The modules whose views hang on `bp`; importing them registers their routes.
VIEW_MODULES = (
    "api.console.login",
    "api.console.overview",
    "api.console.reconciliation",
    "api.console.batches",
    "api.console.retirement",
    "api.console.reductions",
    "api.console.audit_log",
    "api.console.forestry",
)


@bp.before_request
def _check_csrf() -> None:
    # Flask-WTF caches the token in `g`, which outlives a request served inside an app context
    # pushed by the caller (tests, scripts); the session is where the token must come from.
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    # Only the console's forms carry a CSRF token; the JSON API authenticates with bearer tokens.
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@bp.errorhandler(CSRFError)
def _csrf_refused(error: CSRFError) -> tuple[str, int]:
    return render_template("console/error.html", title="Form expired", message=error.description), 400


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> tuple[str, int]:
    return render_template(
        "console/error.html", title="Cannot show this", message=error.message, errors=error.errors
    ), status_for(error)


@bp.errorhandler(UnprocessableEntity)
def _refused_input(error: UnprocessableEntity) -> tuple[str, int]:
    # Input refused before any view (api/json_guard.py: a NUL in a field): a page, not JSON.
    messages = (getattr(error, "data", None) or {}).get("messages") or {}
    errors = {field: problems for fields in messages.values() for field, problems in fields.items()}
    return render_template(
        "console/error.html", title="Not accepted", message=error.description, errors=errors
    ), 422


def init_app(app: Flask) -> None:
    """Configure the session cookie and CSRF, and register the console on `app`."""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config.get("CARBON_PROFILE") == "production",
        SESSION_COOKIE_PATH="/console",
        PERMANENT_SESSION_LIFETIME=app.config["TOKEN_TTL_S"],
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in `_check_csrf`, for the console only
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    csrf.init_app(app)
    for module in VIEW_MODULES:
        __import__(module)
    app.register_blueprint(bp)


def page_args(default_size: int = 20) -> dict[str, Any]:
    """`page` and `page_size` from the query string, kept in range."""
    page = request.args.get("page", 1, type=int) or 1
    size = request.args.get("page_size", default_size, type=int) or default_size
    return {"page": max(page, 1), "page_size": min(max(size, 1), 100)}


def _beijing(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _tonnes(grams: int | None) -> str:
    """Grams as tonnes with up to six decimals (exact: grams are integers)."""
    grams = grams or 0
    sign = "-" if grams < 0 else ""
    whole, rest = divmod(abs(grams), GRAMS_PER_TONNE)
    return f"{sign}{whole:,}" + (f".{rest:06d}".rstrip("0") if rest else "")


def _page_url(**changes: Any) -> str:
    """This page's URL with the same query, some values changed (e.g. `page`)."""
    args = request.args.to_dict(flat=False)
    args.update({key: value for key, value in changes.items()})
    return url_for(request.endpoint or "console.dashboard", **(request.view_args or {}), **args)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"yuan": yuan, "tonnes": _tonnes, "beijing": _beijing, "page_url": _page_url}
