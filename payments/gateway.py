"""The gateway facade: build the configured provider and retry what is safe to retry.

`build_provider(settings)` reads `PAYMENT_PROVIDER` and the `WECHATPAY_*` settings and returns a
`PaymentProvider`. Build it once per process (it holds the provider's client and, for the sandbox,
its trades) and hand it to the services.

Every network call has a timeout (`WECHATPAY_TIMEOUT_S`). A call that fails with `GatewayError` is
tried again, up to `WECHATPAY_RETRY_ATTEMPTS` attempts in all, waiting `WECHATPAY_RETRY_BACKOFF_S`,
then twice that, and so on. Each retried call is idempotent at WeChat Pay, which is what makes a
retry after an unknown outcome safe: queries and bill downloads read; closing a closed trade is a
no-op; a prepay is keyed by `out_trade_no` (same parameters, same prepay_id); a refund is keyed by
`out_refund_no` (the same number never refunds twice). `PaymentError` is never retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from config import SETTINGS, ConfigurationError
from payments.errors import GatewayError
from payments.interface import (
    CallbackAck,
    PaymentNotification,
    PaymentProvider,
    PrepayRequest,
    PrepayResult,
    RefundNotification,
    RefundRequest,
    RefundResult,
    TradeQuery,
)
from payments.sandbox import SandboxProvider
from payments.wechatpay_v2 import WeChatPayV2
from payments.wechatpay_v3 import WeChatPayV3

log = logging.getLogger(__name__)

T = TypeVar("T")
PROVIDERS = ("wechatpay_v3", "wechatpay_v2", "sandbox")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a call that failed with `GatewayError`."""

    attempts: int = 3
    backoff_s: float = 0.2
    max_backoff_s: float = 2.0

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1, 2, ...)."""
        return min(self.backoff_s * 2 ** (retry - 1), self.max_backoff_s)


class RetryingProvider:
    """A `PaymentProvider` that retries its wrapped provider's idempotent calls on `GatewayError`."""

    def __init__(
        self,
        provider: PaymentProvider,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.wrapped = provider
        self.name = provider.name
        self.policy = policy
        self._sleep = sleep

    def _retry(self, what: str, call: Callable[[], T]) -> T:
        for attempt in range(1, self.policy.attempts + 1):
            try:
                return call()
            except GatewayError as exc:
                if attempt >= self.policy.attempts:
                    raise
                delay = self.policy.delay(attempt)
                log.warning(
                    "%s %s failed (%s); attempt %d of %d in %.2fs",
                    self.name,
                    what,
                    exc,
                    attempt + 1,
                    self.policy.attempts,
                    delay,
                )
                self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    def prepay(self, request: PrepayRequest) -> PrepayResult:
        return self._retry(f"prepay {request.out_trade_no}", lambda: self.wrapped.prepay(request))

    def query(self, out_trade_no: str) -> TradeQuery:
        return self._retry(f"query {out_trade_no}", lambda: self.wrapped.query(out_trade_no))

    def close(self, out_trade_no: str) -> None:
        self._retry(f"close {out_trade_no}", lambda: self.wrapped.close(out_trade_no))

    def refund(self, request: RefundRequest) -> RefundResult:
        return self._retry(f"refund {request.out_refund_no}", lambda: self.wrapped.refund(request))

    def query_refund(self, out_refund_no: str) -> RefundResult:
        return self._retry(f"refund query {out_refund_no}", lambda: self.wrapped.query_refund(out_refund_no))

    def trade_bill(self, bill_date: date) -> bytes:
        return self._retry(f"trade bill {bill_date}", lambda: self.wrapped.trade_bill(bill_date))

    # Callbacks are parsed locally, once: the provider sends them again if we answer FAIL.
    def parse_payment_callback(self, headers: Mapping[str, str], body: bytes) -> PaymentNotification:
        return self.wrapped.parse_payment_callback(headers, body)

    def parse_refund_callback(self, headers: Mapping[str, str], body: bytes) -> RefundNotification:
        return self.wrapped.parse_refund_callback(headers, body)

    def callback_ack(self, ok: bool, message: str = "") -> CallbackAck:
        return self.wrapped.callback_ack(ok, message)


_DEFAULTS = {setting.name: setting.default for setting in SETTINGS}


def _read(path: str, setting: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{setting}: cannot read {path!r}: {exc.strerror}") from exc


def build_provider(settings: Mapping[str, Any]) -> PaymentProvider:
    """The provider named by `PAYMENT_PROVIDER`, configured from the `WECHATPAY_*` settings."""
    s = {**_DEFAULTS, **settings}
    provider = s["PAYMENT_PROVIDER"]
    if provider not in PROVIDERS:
        raise ConfigurationError(f"PAYMENT_PROVIDER must be one of {PROVIDERS}, got {provider!r}")
    if provider == "sandbox":
        if s["CARBON_PROFILE"] == "production":
            raise ConfigurationError("PAYMENT_PROVIDER=sandbox is not allowed in production")
        return SandboxProvider(appid=s["WECHAT_APPID"])
    required = ["WECHAT_APPID", "WECHATPAY_MCHID"]
    if provider == "wechatpay_v3":
        required += ["WECHATPAY_APIV3_KEY", "WECHATPAY_CERT_SERIAL", "WECHATPAY_PRIVATE_KEY_PATH"]
    else:
        required += ["WECHATPAY_API_KEY"]
    missing = [name for name in required if not s[name]]
    if missing:
        raise ConfigurationError(f"{provider} needs " + ", ".join(missing))
    try:
        if provider == "wechatpay_v3":
            built: PaymentProvider = _build_v3(s)
        else:
            built = _build_v2(s)
    except (ValueError, TypeError) as exc:  # e.g. an unreadable key, a sign type WeChat Pay does not know
        raise ConfigurationError(f"{provider}: {exc}") from exc
    policy = RetryPolicy(
        attempts=max(1, int(s["WECHATPAY_RETRY_ATTEMPTS"])), backoff_s=float(s["WECHATPAY_RETRY_BACKOFF_S"])
    )
    return RetryingProvider(built, policy)


def _build_v3(s: Mapping[str, Any]) -> WeChatPayV3:
    public_key_id, public_key_path = s["WECHATPAY_PUBLIC_KEY_ID"], s["WECHATPAY_PUBLIC_KEY_PATH"]
    if bool(public_key_id) != bool(public_key_path):
        raise ConfigurationError("WECHATPAY_PUBLIC_KEY_ID and WECHATPAY_PUBLIC_KEY_PATH go together")
    return WeChatPayV3(
        appid=s["WECHAT_APPID"],
        mchid=s["WECHATPAY_MCHID"],
        apiv3_key=s["WECHATPAY_APIV3_KEY"],
        private_key_pem=_read(s["WECHATPAY_PRIVATE_KEY_PATH"], "WECHATPAY_PRIVATE_KEY_PATH"),
        cert_serial_no=s["WECHATPAY_CERT_SERIAL"],
        api_base=s["WECHATPAY_API_BASE"],
        public_key_pem=_read(public_key_path, "WECHATPAY_PUBLIC_KEY_PATH") if public_key_path else "",
        public_key_id=public_key_id,
        platform_cert_dir=s["WECHATPAY_PLATFORM_CERT_DIR"],
        timeout_s=float(s["WECHATPAY_TIMEOUT_S"]),
        timestamp_window_s=int(s["WECHATPAY_TIMESTAMP_WINDOW_S"]),
        cert_refresh_interval_s=float(s["WECHATPAY_CERT_REFRESH_INTERVAL_S"]),
    )


def _build_v2(s: Mapping[str, Any]) -> WeChatPayV2:
    return WeChatPayV2(
        appid=s["WECHAT_APPID"],
        mchid=s["WECHATPAY_MCHID"],
        api_key=s["WECHATPAY_API_KEY"],
        sign_type=s["WECHATPAY_SIGN_TYPE"],
        api_base=s["WECHATPAY_API_BASE"],
        cert_path=s["WECHATPAY_CERT_PATH"],
        key_path=s["WECHATPAY_PRIVATE_KEY_PATH"],
        timeout_s=float(s["WECHATPAY_TIMEOUT_S"]),
    )
