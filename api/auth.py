"""Bearer-token decorators for views; they also document the security requirement in OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any

from flask import g, request

from services.accounts.tokens import Principal, authenticate

BEARER_SCHEME = {"type": "http", "scheme": "bearer", "description": "Token from a login endpoint."}

_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def auth_required(admin: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Require a valid bearer token (and the admin role when `admin`); sets `g.principal`."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = request_principal()
            if admin:
                principal.require_admin()
            g.principal = principal
            return func(*args, **kwargs)

        apidoc = deepcopy(getattr(func, "_apidoc", {}))
        manual = apidoc.setdefault("manual_doc", {})
        manual["security"] = [{"bearerAuth": []}]
        responses = manual.setdefault("responses", {})
        responses["401"] = {"description": "Missing, expired or revoked token", "content": _ERROR_REF}
        if admin:
            responses["403"] = {"description": "Not an admin", "content": _ERROR_REF}
        wrapper._apidoc = apidoc  # type: ignore[attr-defined]
        wrapper._auth = "admin" if admin else "user"  # type: ignore[attr-defined]
        return wrapper

    return decorator


_RESOLVED = "carbon.principal"


def request_principal() -> Principal:
    """The principal of this request's bearer token, resolved once per request (the rate limit's
    key and the view share it), or Unauthenticated."""
    # Kept in the WSGI environ, which lives exactly as long as the request (an app context may not).
    principal = request.environ.get(_RESOLVED)
    if principal is None:
        principal = request.environ[_RESOLVED] = authenticate(request.headers.get("Authorization"))
    return principal


def current_principal() -> Principal:
    return g.principal
