"""Console login and logout: username and password through the admin login service."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api.console import session_auth
from api.console.blueprint import bp
from api.limits import admin_login_limit
from services import accounts
from services.errors import Unauthenticated


@bp.route("/login", methods=["GET", "POST"])
@admin_login_limit
def login() -> str | Response | tuple[str, int]:
    """Show the login form; on submit, log the admin in and keep the token in the session."""
    target = session_auth.safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("console/login.html", next=target, username="")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    try:
        result = accounts.admin_login(username, password, current_app.config["TOKEN_TTL_S"])
    except Unauthenticated as error:
        return render_template("console/login.html", next=target, username=username, error=error.message), 401
    session_auth.sign_in(result.token)
    return redirect(target)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Revoke the console token and forget the session."""
    if session_auth.authorization():
        accounts.logout(session_auth.authorization())
    session_auth.sign_out()
    flash("Signed out.")
    return redirect(url_for("console.login"))
