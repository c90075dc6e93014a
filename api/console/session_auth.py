"""Console sign-in: the session cookie holds an opaque reference to the admin's token, never the token.

The signed Flask session cookie is readable base64, so it keeps only the SHA-256 of the token the
admin login issued: the key under which the token is stored server-side. That hash cannot be sent
as a bearer token to the API, and the token itself never leaves the login request. Every console
page resolves the hash exactly as the API resolves an `Authorization` header, so a revoked or
expired token, or an account that is no longer an admin, sends the browser back to the login page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import g, redirect, request, session, url_for

from services.accounts.tokens import Principal, authenticate_hash, hash_token, revoke_token_hash
from services.kernel.errors import PermissionDenied, Unauthenticated

SESSION_KEY = "console_session"


def signed_in() -> bool:
    return bool(session.get(SESSION_KEY))


def sign_in(token: str) -> None:
    session.clear()  # a fresh session (and CSRF token) after login
    session[SESSION_KEY] = hash_token(token)
    session.permanent = True


def sign_out() -> None:
    """Revoke the console's token and forget the session."""
    if token_hash := session.get(SESSION_KEY):
        revoke_token_hash(str(token_hash))
    session.clear()


def _resolve() -> Principal:
    token_hash = session.get(SESSION_KEY)
    if not isinstance(token_hash, str) or not token_hash:
        raise Unauthenticated("Sign in to the console.")
    return authenticate_hash(token_hash)


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
            principal = _resolve()
            principal.require_admin()
        except (Unauthenticated, PermissionDenied):
            session.clear()
            return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
        g.principal = principal
        return view(*args, **kwargs)

    wrapper._auth = "console"  # type: ignore[attr-defined]
    return wrapper


def principal() -> Principal:
    return g.principal
