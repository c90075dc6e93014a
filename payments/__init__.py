"""WeChat Pay (APIv3, APIv2) and the demo sandbox behind one interface; see `interface.py`."""

from payments.errors import AlreadyPaid, GatewayError, NotFoundAtProvider, PaymentError, PaymentProviderError
from payments.gateway import build_provider
from payments.interface import (
    CallbackAck,
    PaymentNotification,
    PaymentProvider,
    PrepayRequest,
    PrepayResult,
    RefundNotification,
    RefundRequest,
    RefundResult,
    RefundStatus,
    TradeQuery,
    TradeState,
)

__all__ = [
    "AlreadyPaid",
    "CallbackAck",
    "GatewayError",
    "NotFoundAtProvider",
    "PaymentError",
    "PaymentNotification",
    "PaymentProvider",
    "PaymentProviderError",
    "PrepayRequest",
    "PrepayResult",
    "RefundNotification",
    "RefundRequest",
    "RefundResult",
    "RefundStatus",
    "TradeQuery",
    "TradeState",
    "build_provider",
]
