"""The decorator that admits only requests signed by a bank partner; it documents the scheme in OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any

from flask import current_app, g, request

from services.rewards import partner_signing, partners
from services.rewards.partners import SignedRequest

PARTNER_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": partner_signing.HEADER_SIGNATURE,
    "description": (
        "Hex HMAC-SHA256, with the partner's secret, of METHOD\\nPATH\\nhex(SHA-256(body))\\nTIMESTAMP\\nNONCE; "
        f"send it with {partner_signing.HEADER_KEY}, {partner_signing.HEADER_TIMESTAMP} (Unix seconds) "
        f"and {partner_signing.HEADER_NONCE} (16-64 characters, never reused). See docs/rewards-and-partners.md."
    ),
}

_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def signed_path() -> str:
    """The path the partner signed: the request path and its query string exactly as sent."""
    path = request.script_root + request.path
    query = request.query_string.decode("latin-1")
    return f"{path}?{query}" if query else path


def partner_signed(func: Callable[..., Any]) -> Callable[..., Any]:
    """Require a valid partner signature (401 otherwise); sets `g.partner_id`.

    Put it above `blp.arguments`: the signature is then checked over the raw body (cached, so the
    arguments parser reads the same bytes afterwards) before any argument is parsed, and an
    unsigned request gets 401, never a 422 that describes the schema.
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        signed = SignedRequest(
            method=request.method,
            path=signed_path(),
            body=request.get_data(cache=True),
            key_id=request.headers.get(partner_signing.HEADER_KEY),
            timestamp=request.headers.get(partner_signing.HEADER_TIMESTAMP),
            nonce=request.headers.get(partner_signing.HEADER_NONCE),
            signature=request.headers.get(partner_signing.HEADER_SIGNATURE),
        )
        g.partner_id = partners.authenticate(
            signed, current_app.config["SECRET_KEY"], current_app.config["PARTNER_TIMESTAMP_WINDOW_S"]
        )
        return func(*args, **kwargs)

    apidoc = deepcopy(getattr(func, "_apidoc", {}))
    manual = apidoc.setdefault("manual_doc", {})
    manual["security"] = [{"partnerSignature": []}]
    manual.setdefault("responses", {})["401"] = {
        "description": "Unsigned, badly signed, stale or replayed request, or an unknown partner key",
        "content": _ERROR_REF,
    }
    wrapper._apidoc = apidoc  # type: ignore[attr-defined]
    wrapper._auth = "partner"  # type: ignore[attr-defined]
    return wrapper


def current_partner_id() -> int:
    return g.partner_id
