"""Headers that keep every response from being framed, sniffed or made to run someone else's script.

One `after_request` hook sets, on every response:

- `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: same-origin`
  (the console's CSRF check over HTTPS compares the Referer with the host, so same-origin
  requests keep it; a certificate code in a page's path never leaves for another site);
- `Strict-Transport-Security` in the production profile;
- `Content-Security-Policy`: HTML pages (console, certificate verification, event disclosure)
  load nothing from elsewhere, run no script, may not be framed (`frame-ancestors 'none'`) and
  allow only their own `<style>` blocks, by hash. The API docs (Swagger UI) may run their own
  inline start-up script (by hash) and the UI's files served by the app itself, nothing from
  elsewhere. Everything else (JSON, PDF, CSV) gets `default-src 'none'; frame-ancestors 'none'`.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request

HSTS = "max-age=31536000"
DOCS_BLUEPRINT = "api-docs"
_INLINE_STYLE = re.compile(r"<style(?:\s[^>]*)?>(.*?)</style>", re.DOTALL | re.IGNORECASE)
_INLINE_SCRIPT = re.compile(r"<script(?:\s(?![^>]*\bsrc=)[^>]*)?>(.*?)</script>", re.DOTALL | re.IGNORECASE)

NON_HTML_POLICY = "default-src 'none'; frame-ancestors 'none'"


def _hashes(pattern: re.Pattern[str], html: str) -> list[str]:
    digests = (hashlib.sha256(block.encode("utf-8")).digest() for block in pattern.findall(html))
    return sorted({f"'sha256-{base64.b64encode(digest).decode()}'" for digest in digests})


def _policy(directives: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def page_policy(html: str) -> str:
    """The policy of a server-rendered page: its own styles only, no script, never framed."""
    return _policy(
        {
            "default-src": ["'none'"],
            "style-src": ["'self'", *_hashes(_INLINE_STYLE, html)],
            "img-src": ["'self'", "data:"],
            "form-action": ["'self'"],
            "base-uri": ["'none'"],
            "frame-ancestors": ["'none'"],
        }
    )


def docs_policy(html: str) -> str:
    """The policy of an API docs page: its own start-up script, the UI's files, the spec's JSON."""
    return _policy(
        {
            "default-src": ["'none'"],
            "script-src": ["'self'", *_hashes(_INLINE_SCRIPT, html)],
            # Swagger UI sets styles from script.
            "style-src": ["'self'", "'unsafe-inline'"],
            "img-src": ["'self'", "data:"],
            "font-src": ["'self'", "data:"],
            "connect-src": ["'self'"],
            "form-action": ["'self'"],
            "base-uri": ["'none'"],
            "frame-ancestors": ["'none'"],
        }
    )


def init_app(app: Flask) -> None:
    """Set the security headers on every response of `app`."""
    production = app.config.get("CARBON_PROFILE") == "production"

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"
        if production:
            headers["Strict-Transport-Security"] = HSTS
        if response.mimetype == "text/html" and not (response.direct_passthrough or response.is_streamed):
            html = response.get_data(as_text=True)
            if request.blueprint == DOCS_BLUEPRINT:
                headers["Content-Security-Policy"] = docs_policy(html)
            else:
                headers["Content-Security-Policy"] = page_policy(html)
        else:
            headers.setdefault("Content-Security-Policy", NON_HTML_POLICY)
        return response
