"""Payment and refund callbacks from WeChat Pay, answered the way WeChat Pay expects.

A callback that fails verification or does not match its order is answered with a failure and
changes nothing; a callback we could not process (database down) is answered with a failure so
that WeChat Pay retries it later.
"""

from __future__ import annotations

import logging

from flask import Response, abort, current_app, request

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.context import order_policy, payment_provider
from api.errors import ErrorSchema
from api.limits import limiter
from api.observability import CALLBACK_FAILURES
from api.orders.schemas import OrderSchema
from payments.errors import GatewayError, PaymentError
from services.kernel.errors import DomainError
from services.sales import orders
from services.settlement import payment_flow, refunds, sandbox_payments

log = logging.getLogger(__name__)

blp = Blueprint("payments", __name__, url_prefix="/api/v1", description="WeChat Pay callbacks")

# WeChat Pay's notifications are a few kilobytes; a larger body is refused unread.
CALLBACK_MAX_BYTES = 64 * 1024
CALLBACK_DOC = {
    "requestBody": {
        "description": "The provider's signed notification, as sent",
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/xml": {"schema": {"type": "string", "maxLength": CALLBACK_MAX_BYTES}},
        },
    },
    "responses": {
        "200": {"description": "Taken (the provider stops retrying); APIv2 answers every callback 200"},
        "400": {
            "description": "FAIL with the fixed reason `invalid notification` (bad signature, stale "
            "timestamp, wrong merchant or amount, not a notification at all); the provider retries"
        },
        "500": {"description": "FAIL with the fixed reason `temporarily unavailable`; the provider retries"},
    },
}


def _callback_limit() -> str:
    return current_app.config["CALLBACK_RATE_LIMIT"]


def _provider_for(name: str):
    provider = payment_provider()
    # The sandbox's callback is unauthenticated: it is served by the embedded demo only.
    if provider.name != name or (name == "sandbox" and current_app.config["CARBON_PROFILE"] == "production"):
        abort(404)
    return provider


# What WeChat Pay is told when a callback is not taken: a fixed reason, never our own error text
# (the details go to the log).
REFUSED = "invalid notification"
NOT_PROCESSED = "temporarily unavailable"


def _ack(provider, ok: bool, message: str = "", status: int | None = None) -> Response:
    ack = provider.callback_ack(ok, message)
    return Response(ack.body, status=status or ack.status, content_type=ack.content_type)


@blp.route("/payments/<provider_name>/notify", methods=["POST"])
@limiter.limit(_callback_limit)
@blp.doc(**CALLBACK_DOC)
def payment_notify(provider_name):
    """Payment notification from WeChat Pay."""
    provider = _provider_for(provider_name)
    if (request.content_length or 0) > CALLBACK_MAX_BYTES:
        return _ack(provider, False, REFUSED)
    try:
        notification = provider.parse_payment_callback(dict(request.headers), request.get_data())
        payment_flow.handle_payment_notification(notification, provider.name, order_policy())
    except (PaymentError, payment_flow.PaymentRejected) as exc:
        log.warning("payment callback refused: %s", exc)
        CALLBACK_FAILURES.labels("payment", "refused").inc()
        return _ack(provider, False, REFUSED)
    except (DomainError, GatewayError) as exc:  # ours failed for now: WeChat Pay sends it again
        log.warning("payment callback not processed: %s", exc)
        CALLBACK_FAILURES.labels("payment", "not_processed").inc()
        return _ack(provider, False, NOT_PROCESSED, status=500)
    return _ack(provider, True)


@blp.route("/payments/<provider_name>/refund-notify", methods=["POST"])
@limiter.limit(_callback_limit)
@blp.doc(**CALLBACK_DOC)
def refund_notify(provider_name):
    """Refund notification from WeChat Pay."""
    provider = _provider_for(provider_name)
    if (request.content_length or 0) > CALLBACK_MAX_BYTES:
        return _ack(provider, False, REFUSED)
    try:
        notification = provider.parse_refund_callback(dict(request.headers), request.get_data())
        refunds.handle_refund_notification(notification, order_policy())
    except PaymentError as exc:
        log.warning("refund callback refused: %s", exc)
        CALLBACK_FAILURES.labels("refund", "refused").inc()
        return _ack(provider, False, REFUSED)
    except (DomainError, GatewayError) as exc:  # ours failed for now: WeChat Pay sends it again
        log.warning("refund callback not processed: %s", exc)
        CALLBACK_FAILURES.labels("refund", "not_processed").inc()
        return _ack(provider, False, NOT_PROCESSED, status=500)
    return _ack(provider, True)


@blp.route("/sandbox/orders/<out_trade_no>/pay", methods=["POST"])
@auth_required()
@blp.response(200, OrderSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such order, or payments are not the sandbox")
@blp.alt_response(409, schema=ErrorSchema, description="The order cannot be paid")
def sandbox_pay(out_trade_no):
    """Development only: pay an order through the sandbox provider."""
    provider = payment_provider()
    if provider.name != "sandbox" or current_app.config["CARBON_PROFILE"] == "production":
        abort(404)
    sandbox_payments.pay(current_principal(), out_trade_no, provider, order_policy())
    return orders.get_order(current_principal(), out_trade_no)
