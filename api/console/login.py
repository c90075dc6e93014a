"""Console login and logout: username and password through the admin login service."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api.console import session_auth
from api.console.blueprint import bp
from api.limits import admin_login_limit
from services.accounts import accounts
from services.accounts.admin_login_backoff import BackoffPolicy
from services.kernel.errors import RateLimited, Unauthenticated


@bp.route("/login", methods=["GET", "POST"])
@admin_login_limit
def login() -> str | Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Show the login form; on submit, log the admin in and keep a reference to its token in the session."""
    target = session_auth.safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("console/login.html", next=target, username="")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    config = current_app.config
    try:
        result = accounts.admin_login(
            username, password, config["TOKEN_TTL_S"], BackoffPolicy.from_config(config)
        )
    except Unauthenticated as error:
        return render_template("console/login.html", next=target, username=username, error=error.message), 401
    except RateLimited as error:
        page = render_template("console/login.html", next=target, username=username, error=error.message)
        return page, 429, {"Retry-After": str(error.retry_after or 5)}
    session_auth.sign_in(result.token)
    return redirect(target)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Revoke the console token and forget the session."""
    session_auth.sign_out()
    flash("Signed out.")
    return redirect(url_for("console.login"))
