"""What crosses the boundary between the services and a payment provider.

Every amount is an integer number of fen. Every datetime is timezone-aware. The provider checks
that a callback is genuine (signature, timestamp, appid, mchid); whether its amount is the order's
amount is for the order service to check, since only it knows the order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol, runtime_checkable

_OUT_NO = re.compile(r"^[A-Za-z0-9_\-|*@]{6,32}$")  # WeChat Pay's rule for out_trade_no / out_refund_no


class TradeState(StrEnum):
    """WeChat Pay's trade states (the same words in APIv3 and APIv2)."""

    SUCCESS = "SUCCESS"
    REFUND = "REFUND"  # paid, then (partly) refunded
    NOTPAY = "NOTPAY"
    CLOSED = "CLOSED"
    REVOKED = "REVOKED"
    USERPAYING = "USERPAYING"
    PAYERROR = "PAYERROR"


class RefundStatus(StrEnum):
    """Refund states; APIv2's REFUNDCLOSE is CLOSED and CHANGE is ABNORMAL here."""

    SUCCESS = "SUCCESS"
    PROCESSING = "PROCESSING"
    CLOSED = "CLOSED"
    ABNORMAL = "ABNORMAL"


def _check_out_no(name: str, value: str) -> None:
    if not _OUT_NO.match(value):
        raise ValueError(f"{name} must be 6-32 letters, digits or _-|*@, got {value!r}")


def _check_fen(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer number of fen, got {value!r}")


@dataclass(frozen=True)
class PrepayRequest:
    """Ask the provider to open a JSAPI (mini-program) payment for one order."""

    out_trade_no: str
    description: str
    amount_fen: int
    payer_openid: str
    time_expire: datetime
    notify_url: str
    attach: str = ""
    payer_client_ip: str = ""

    def __post_init__(self) -> None:
        _check_out_no("out_trade_no", self.out_trade_no)
        _check_fen("amount_fen", self.amount_fen)
        if not self.description or len(self.description) > 127:
            raise ValueError("description must be 1-127 characters")
        if not self.payer_openid:
            raise ValueError("payer_openid is required for a JSAPI payment")
        if self.time_expire.tzinfo is None:
            raise ValueError("time_expire must be timezone-aware")
        if not self.notify_url.startswith(("https://", "http://")):
            raise ValueError("notify_url must be an absolute http(s) URL")


@dataclass(frozen=True)
class PrepayResult:
    """`request_payment` is passed as is to the mini-program's `wx.requestPayment`."""

    prepay_id: str
    request_payment: dict[str, str]


@dataclass(frozen=True)
class PaymentNotification:
    """A genuine payment callback. Check `amount_fen` against the order before confirming it."""

    out_trade_no: str
    transaction_id: str
    trade_state: TradeState
    amount_fen: int
    appid: str
    mchid: str
    payer_openid: str
    success_time: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    attach: str = ""

    @property
    def paid(self) -> bool:
        return self.trade_state is TradeState.SUCCESS


@dataclass(frozen=True)
class TradeQuery:
    """The provider's view of a trade. `amount_fen` is None when the provider does not give it."""

    out_trade_no: str
    trade_state: TradeState
    transaction_id: str
    amount_fen: int | None
    payer_openid: str
    success_time: datetime | None
    trade_state_desc: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def paid(self) -> bool:
        """Money was received (a later refund does not undo that)."""
        return self.trade_state in (TradeState.SUCCESS, TradeState.REFUND)


@dataclass(frozen=True)
class RefundRequest:
    """Refund part or all of a paid trade. `out_refund_no` makes the request idempotent.

    `transaction_id`, when given, names the payment to refund instead of `out_trade_no`: a second
    payment of an order already paid is refunded by its own transaction.
    """

    out_trade_no: str
    out_refund_no: str
    refund_fen: int
    total_fen: int
    reason: str
    notify_url: str
    transaction_id: str = ""

    def __post_init__(self) -> None:
        _check_out_no("out_trade_no", self.out_trade_no)
        _check_out_no("out_refund_no", self.out_refund_no)
        _check_fen("refund_fen", self.refund_fen)
        _check_fen("total_fen", self.total_fen)
        if self.refund_fen > self.total_fen:
            raise ValueError("refund_fen cannot exceed total_fen")
        if len(self.reason) > 80:
            raise ValueError("reason must be at most 80 characters")


@dataclass(frozen=True)
class RefundResult:
    """A refund as the provider sees it after applying for it or querying it."""

    out_refund_no: str
    refund_id: str
    status: RefundStatus
    refund_fen: int | None = None
    success_time: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class RefundNotification:
    """A genuine refund callback (the refund ended: SUCCESS, CLOSED or ABNORMAL)."""

    out_trade_no: str
    out_refund_no: str
    transaction_id: str
    refund_id: str
    status: RefundStatus
    refund_fen: int
    total_fen: int
    mchid: str
    success_time: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


class CallbackAck(NamedTuple):
    """The HTTP answer that tells the provider a callback was (or was not) taken."""

    body: bytes
    status: int
    content_type: str


@runtime_checkable
class PaymentProvider(Protocol):
    """One payment provider. Network calls raise `PaymentError` or `GatewayError`."""

    name: str

    def prepay(self, request: PrepayRequest) -> PrepayResult:
        """Open the payment; idempotent on `out_trade_no` with the same parameters."""
        ...

    def parse_payment_callback(self, headers: Mapping[str, str], body: bytes) -> PaymentNotification:
        """Verify and decode a payment callback, or raise `PaymentError`."""
        ...

    def parse_refund_callback(self, headers: Mapping[str, str], body: bytes) -> RefundNotification:
        """Verify and decode a refund callback, or raise `PaymentError`."""
        ...

    def callback_ack(self, ok: bool, message: str = "") -> CallbackAck:
        """The answer to a callback: `ok=False` makes the provider send it again later."""
        ...

    def query(self, out_trade_no: str) -> TradeQuery:
        """The trade's state; `NotFoundAtProvider` when the provider never saw it."""
        ...

    def close(self, out_trade_no: str) -> None:
        """Close an unpaid trade so it can no longer be paid; `AlreadyPaid` when it was paid."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult:
        """Apply for a refund; idempotent on `out_refund_no`."""
        ...

    def query_refund(self, out_refund_no: str) -> RefundResult:
        """The refund's state."""
        ...

    def trade_bill(self, bill_date: date) -> bytes:
        """The day's trade bill (CSV, UTF-8), checked against the provider's digest where it gives one."""
        ...
