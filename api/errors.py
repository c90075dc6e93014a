"""The one place where exceptions become HTTP errors, all in one JSON format.

Every error body is `{"code": <HTTP status>, "status": <reason>, "error": <slug>, "message": ...,
"errors": <field or row details, optional>}`.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from flask import Flask, jsonify
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from services.kernel import errors as domain

log = logging.getLogger(__name__)

STATUS_BY_ERROR: tuple[tuple[type[domain.DomainError], int], ...] = (
    (domain.NotFound, 404),
    (domain.Conflict, 409),
    (domain.ValidationFailed, 422),
    (domain.Unauthenticated, 401),
    (domain.PermissionDenied, 403),
    (domain.PaymentRequired, 402),
    (domain.RateLimited, 429),
    (domain.UpstreamError, 503),
)


class ErrorSchema(ma.Schema):
    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = ma.fields.String(required=True, metadata={"description": "HTTP reason phrase"})
    error = ma.fields.String(required=True, metadata={"description": "Stable machine-readable error slug"})
    message = ma.fields.String(required=True)
    errors = ma.fields.Raw(metadata={"description": "Details by field or row, when there are any"})


def status_for(error: domain.DomainError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 400


def error_response(
    status: int, slug: str, message: str, errors: Any = None, headers: dict[str, str] | None = None
):
    body: dict[str, Any] = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "error": slug,
        "message": message,
    }
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _slug(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("messages")
    if status == 422 and errors:
        # flask-smorest nests field errors by location ("json", "query"); keep that shape.
        message = "The request is not valid; see `errors` for every field."
        return error_response(status, "validation_failed", message, errors)
    message = data.get("message") or error.description or HTTPStatus(status).phrase
    headers = dict(data.get("headers") or {})
    if status == 429:
        message = f"Too many requests: {error.description}"
        headers.setdefault("Retry-After", "60")
    return error_response(status, _slug(status), str(message), headers=headers)


def handle_domain_error(error: domain.DomainError):
    status = status_for(error)
    retry_after = getattr(error, "retry_after", None)
    headers = {"Retry-After": str(retry_after or 5)} if status in (429, 503) else None
    errors = error.errors if error.errors is not None else (error.details or None)
    return error_response(status, error.code, error.message, errors, headers)


def handle_database_unavailable(error: OperationalError):
    log.warning("database unavailable: %s", error.orig)
    return error_response(
        503,
        "database_unavailable",
        "The database is unavailable; retry shortly.",
        headers={"Retry-After": "5"},
    )


def handle_integrity_error(error: IntegrityError):
    # A unique or check constraint refused the write: a request racing another one, or a duplicate
    # that no service check caught first. The statement's parameters are not logged (hide_parameters).
    log.info("write refused by a constraint: %s", type(error.orig).__name__)
    return error_response(
        409,
        "conflict",
        "This conflicts with what is already recorded (a duplicate, or a change made meanwhile).",
    )


def handle_out_of_range(error: Exception):
    log.info("value out of range: %s", type(getattr(error, "orig", error)).__name__)
    return error_response(
        422,
        "out_of_range",
        "A value in the request is out of range or cannot be stored (too large a number?).",
    )


def handle_unexpected(error: Exception):
    log.exception("unhandled error")
    return error_response(500, "internal_error", "An unexpected error occurred; it has been logged.")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(domain.DomainError, handle_domain_error)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(DataError, handle_out_of_range)
    app.register_error_handler(OverflowError, handle_out_of_range)
    app.register_error_handler(Exception, handle_unexpected)
