"""Console sign-in: the admin's bearer token lives in the signed Flask session cookie.

Every console page resolves that token exactly as the API resolves an `Authorization` header, so
a revoked or expired token, or an account that is no longer an admin, sends the browser back to
the login page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import g, redirect, request, session, url_for

from services.errors import PermissionDenied, Unauthenticated
from services.tokens import Principal, authenticate

TOKEN_KEY = "console_token"


def authorization() -> str:
    """The stored token as an `Authorization` header value ("" when signed out)."""
    token = session.get(TOKEN_KEY)
    return f"Bearer {token}" if token else ""


def sign_in(token: str) -> None:
    session.clear()  # a fresh session (and CSRF token) after login
    session[TOKEN_KEY] = token
    session.permanent = True


def sign_out() -> None:
    session.clear()


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path of this console, never another site."""
    if target and target.startswith("/console") and not urlsplit(target).netloc:
        return target
    return url_for("console.dashboard")


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run the view for a signed-in admin (`g.principal`); otherwise go to the login page."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            principal = authenticate(authorization())
            principal.require_admin()
        except (Unauthenticated, PermissionDenied):
            sign_out()
            return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
        g.principal = principal
        return view(*args, **kwargs)

    wrapper._auth = "console"  # type: ignore[attr-defined]
    return wrapper


def principal() -> Principal:
    return g.principal
