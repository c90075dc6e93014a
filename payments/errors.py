"""The two ways a call to a payment provider fails, and why the difference matters.

`PaymentError`: the provider answered and said no (the payment or refund is refused, the trade is
unknown, the callback is not genuine). Retrying the same call gives the same answer.
`GatewayError`: the provider could not be reached or did not answer usably (connection refused,
timeout, 5xx, an answer whose signature does not verify). The outcome is unknown; the call may be
retried, and the state must later be confirmed by a query.
"""

from __future__ import annotations


class PaymentProviderError(Exception):
    """Base of both; `code` is the provider's own error code when it gave one."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class PaymentError(PaymentProviderError):
    """The payment, refund or query was refused, or a callback is not genuine."""


class NotFoundAtProvider(PaymentError):
    """The provider has no such trade, refund or bill."""


class AlreadyPaid(PaymentError):
    """The trade is already paid: it cannot be closed or prepaid again; query it and fulfil."""


class GatewayError(PaymentProviderError):
    """The provider could not be reached or gave no usable answer; retryable."""
