"""Which addresses the service accepts where people give it a URL to show or link.

An image the mini-program shows (a reward's or a project's `image_url`) must be an absolute
`https://` URL: the mini-program loads network images over HTTPS only, and a relative path,
a protocol-relative `//host` or a `javascript:` address would point readers wherever its author
chose. A link to a registry's record may also be `http://` (some registries serve no HTTPS),
but it is always absolute, with a host, and without spaces or control characters.
"""

from __future__ import annotations

from urllib.parse import urlsplit

HTTPS_MESSAGE = "Must be an absolute https:// address."
WEB_MESSAGE = "Must be an absolute http:// or https:// address."


def _absolute(value: str, schemes: tuple[str, ...]) -> bool:
    if not value.isprintable() or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in schemes and value.lower().startswith(f"{parts.scheme}://") and bool(host)


def is_https_url(value: str) -> bool:
    """An absolute https:// URL with a host."""
    return _absolute(value, ("https",))


def is_web_url(value: str) -> bool:
    """An absolute http:// or https:// URL with a host."""
    return _absolute(value, ("http", "https"))
