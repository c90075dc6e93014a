"""The one hierarchy of domain exceptions; `api/errors.py` maps each class to an HTTP status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose. `code` is a stable machine-readable slug."""

    code = "domain_error"

    def __init__(self, message: str, *, errors: Any = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.details = details


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InsufficientCredits(Conflict):
    code = "insufficient_credits"


class InsufficientPoints(Conflict):
    code = "insufficient_points"


class InvalidState(Conflict):
    code = "invalid_state"


class OutOfStock(Conflict):
    code = "out_of_stock"


class NotRedeemable(Conflict):
    """The reward is inactive or outside its validity window."""

    code = "not_redeemable"


class RedemptionLimitReached(Conflict):
    code = "redemption_limit_reached"


class ReservationLimitReached(Conflict):
    """The buyer's unpaid orders already hold as many grams as one buyer may (with this order, more)."""

    code = "reservation_limit_reached"


class ValidationFailed(DomainError):
    """Input that parsed but breaks a rule; `errors` names the fields or rows."""

    code = "validation_failed"


class DeadlinePassed(ValidationFailed):
    """Too late for the act: its deadline has passed."""

    code = "deadline_passed"


class IdempotencyMismatch(ValidationFailed):
    code = "idempotency_key_reused"


class InvalidLoginCode(ValidationFailed):
    """WeChat refused a `wx.login` code: unknown, expired, already used, or the user is blocked."""

    code = "invalid_login_code"


class ContentRefused(ValidationFailed):
    """WeChat's content security check (msgSecCheck) found a text risky; `errors` names the field."""

    code = "content_refused"


class InvalidPhoneCode(ValidationFailed):
    """WeChat refused a `getPhoneNumber` code: unknown, expired or already used."""

    code = "invalid_phone_code"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class PermissionDenied(DomainError):
    code = "forbidden"


class PaymentRequired(DomainError):
    code = "payment_required"


class RateLimited(DomainError):
    """Too many tries; `retry_after` (seconds) becomes the answer's Retry-After when it is given."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class TooManyOpenOrders(RateLimited):
    """The buyer has as many unpaid orders as one buyer may; one must be paid, cancelled or expire."""

    code = "too_many_open_orders"


class UpstreamError(DomainError):
    """A service we depend on (WeChat, the database, Redis) could not be reached; retry later."""

    code = "upstream_unavailable"
