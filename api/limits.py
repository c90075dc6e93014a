"""Rate limits (Flask-Limiter), stored in Redis when there is one, else in process memory.

Per-caller limits key on the resolved principal (`user:<id>`), never on a credential: a bearer
token must not end up in a Redis key or in the limiter's log line, and spelling the same token
differently (`Bearer  TOKEN`) must not open a fresh bucket.
"""

from __future__ import annotations

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from api.auth import request_principal
from services.kernel.errors import DomainError

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

ADMIN_LOGIN_SCOPE = "admin-login"


def per_caller() -> str:
    """The caller's user id when the token resolves (users share addresses behind carrier NAT), else the address."""
    try:
        principal = request_principal()
    except DomainError:
        # Not logged in (or the store is down): the view refuses it; the address bucket counts the try.
        return f"addr:{request.remote_addr or 'unknown'}"
    return f"user:{principal.user_id}"


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


# One bucket for every way an admin password can be tried (the API and the console login form).
admin_login_limit = limiter.shared_limit(_login_rate_limit, scope=ADMIN_LOGIN_SCOPE, methods=["POST"])
