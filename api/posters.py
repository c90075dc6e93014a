"""Share posters over HTTP: a public PNG with an ETag, answered 304 without drawing when unchanged.

A poster may be kept by any cache for `POSTER_MAX_AGE_S` (it names the holder masked, as the
public verification does); after that a cache asks again with `If-None-Match`, and a certificate
voided or retired since gets its new poster. Each address may have `POSTER_RATE_LIMIT` of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request

from api.limits import limiter
from services.certificates.poster_drawing import Poster

POSTER_MAX_AGE_S = 300
POSTER_DESCRIPTION = "A 750 × 1334 PNG to share on WeChat Moments, with the code that opens the record"
NOT_MODIFIED_DESCRIPTION = "Unchanged since the ETag given in `If-None-Match`"


def poster_limit() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The per-address rate limit of poster routes (`POSTER_RATE_LIMIT`)."""
    return limiter.limit(lambda: current_app.config["POSTER_RATE_LIMIT"])


def poster_response(poster: Poster) -> Response:
    """The poster's PNG, or 304 when the caller already holds this very poster."""
    etag = poster.etag
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(
            poster.render(),
            content_type="image/png",
            # The record's stored code, never the path as typed.
            headers={"Content-Disposition": f'inline; filename="poster-{poster.share.code}.png"'},
        )
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={POSTER_MAX_AGE_S}"
    return response
