"""WeChat Pay APIv3, JSAPI (mini-program) payments, over the `wechatpayv3` library.

The library signs every request with the merchant key (`WECHATPAY2-SHA256-RSA2048`), fetches the
platform certificates (certificate mode: from `/v3/certificates`, decrypted with the APIv3 key,
cached in a directory) and decrypts callback resources (AES-256-GCM). The signature of every 2xx
answer and of callbacks is checked here, with WeChat Pay's public key (public-key mode: only the
configured key id) or a platform certificate held (certificate mode: an unknown serial downloads
the certificates at most once per refresh interval). This module also adds what the library leaves
to its caller: the callback timestamp window, the appid and mchid checks, the `wx.requestPayment`
parameters, the trade bill's SHA1 check, and the split of failures into `PaymentError` and
`GatewayError`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3 import __version__ as wechatpayv3_version
from wechatpayv3.core import Core
from wechatpayv3.type import RequestType
from wechatpayv3.utils import build_authorization, rsa_verify

from payments.curl_transport import CurlTransport, TransportError
from payments.errors import (
    AlreadyPaid,
    GatewayError,
    NotFoundAtProvider,
    PaymentError,
)
from payments.interface import (
    CallbackAck,
    PaymentNotification,
    PrepayRequest,
    PrepayResult,
    RefundNotification,
    RefundRequest,
    RefundResult,
    RefundStatus,
    TradeQuery,
    TradeState,
)
from payments.protocol import header_lookup, json_ack, nonce, parse_rfc3339, rfc3339_beijing

DEFAULT_API_BASE = "https://api.mch.weixin.qq.com"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
_CALLBACK_HEADERS = (
    "Wechatpay-Timestamp",
    "Wechatpay-Nonce",
    "Wechatpay-Signature",
    "Wechatpay-Serial",
    "Wechatpay-Signature-Type",
)
_NOT_FOUND_CODES = {"ORDER_NOT_EXIST", "ORDERNOTEXIST", "RESOURCE_NOT_EXISTS", "NO_STATEMENT_EXIST"}
_ALREADY_PAID_CODES = {"ORDERPAID", "ORDER_PAID"}
_REFUND_EVENTS = {"REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"}
_SERIAL = re.compile(r"[0-9A-Fa-f]{1,64}")  # a platform certificate's serial number, in hexadecimal


class _CoreAt(Core):
    """The library's core talking to `gateway` (the library hard-codes WeChat Pay's address).

    The gateway must be right before the constructor runs, because in certificate mode the
    constructor already downloads the platform certificates.

    Signatures (of callbacks and of answers) are checked here rather than by the library, which
    downloads the platform certificates again for every unknown `Wechatpay-Serial`, including in
    public-key mode: anyone could make us call WeChat Pay at will. Here public-key mode trusts the
    configured key id only, and certificate mode downloads certificates for an unknown serial at
    most once per `refresh_interval_s`, keeping those it holds when a download fails.
    """

    def __init__(self, *, gateway: str, refresh_interval_s: float = 600.0, **kwargs: Any) -> None:
        self._configured_gateway = gateway
        self._refresh_interval_s = refresh_interval_s
        self._refreshed_at: float | None = None
        self._refresh_lock = threading.RLock()
        super().__init__(**kwargs)

    def _verify_signature(self, headers: Mapping[str, str], body: str) -> bool:
        """True when WeChat Pay's signature over timestamp, nonce and body verifies with a trusted key."""
        signature_type = header_lookup(headers, "Wechatpay-Signature-Type") or SIGNATURE_TYPE
        if signature_type != SIGNATURE_TYPE:
            return False
        key = self._platform_key(header_lookup(headers, "Wechatpay-Serial"))
        return key is not None and rsa_verify(
            header_lookup(headers, "Wechatpay-Timestamp"),
            header_lookup(headers, "Wechatpay-Nonce"),
            body,
            header_lookup(headers, "Wechatpay-Signature"),
            key,
        )

    def _platform_key(self, serial: str) -> Any:
        """The public key that `serial` names, or None; certificates are downloaded only when due."""
        if self._public_key_id:
            return self._public_key if serial == self._public_key_id else None
        if not _SERIAL.fullmatch(serial):
            return None
        number = int(serial, 16)
        certificate = self._held_certificate(number)
        if certificate is None:
            with self._refresh_lock:  # a download under way finishes first; then perhaps one more
                certificate = self._held_certificate(number)
                if certificate is None and self._refresh_due():
                    self._update_certificates()
                    certificate = self._held_certificate(number)
        return certificate.public_key() if certificate is not None else None

    def _held_certificate(self, number: int) -> Any:
        return next((c for c in self._certificates if c.serial_number == number), None)

    def _refresh_due(self) -> bool:
        return self._refreshed_at is None or time.monotonic() - self._refreshed_at >= self._refresh_interval_s

    def _update_certificates(self) -> None:
        """Download the platform certificates; when that fails, keep the ones held (GatewayError)."""
        with self._refresh_lock:
            held = self._certificates
            self._certificates = []
            self._refreshed_at = time.monotonic()
            try:
                super()._update_certificates()  # an answer other than 200 leaves the list empty
            finally:
                fresh, self._certificates = self._certificates, self._certificates or held
            if not fresh:
                raise GatewayError("WeChat Pay gave no usable platform certificates")

    @property
    def _gate_way(self) -> str:
        return self._configured_gateway

    @_gate_way.setter
    def _gate_way(self, _library_default: str) -> None:
        pass  # the configured gateway wins over the address the library assigns

    @cached_property
    def _transport(self) -> CurlTransport:
        """Kept-alive connections to the gateway, through the library's proxy or the environment's.

        The library itself opens a new connection (and re-reads the proxy environment) for every
        call: a TLS handshake each time against the real gateway.
        """
        proxies = self._proxy or requests.utils.get_environ_proxies(self._configured_gateway)
        proxy = proxies.get(urlsplit(self._configured_gateway).scheme)
        return CurlTransport(self._configured_gateway, self._timeout, proxy)

    def request(
        self,
        path: str,
        method: RequestType = RequestType.GET,
        data: Any = None,
        skip_verify: bool = False,
        sign_data: Any = None,
        files: Any = None,
        cipher_data: bool = False,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """The library's `Core.request` (same signing, same answer check) over the pooled connections."""
        if files:  # media uploads: the library's own way
            return super().request(path, method, data, skip_verify, sign_data, files, cipher_data, headers)
        headers = dict(headers or {})
        headers["Content-Type"] = "application/json"
        headers["Accept"] = "application/json"
        headers["User-Agent"] = f"wechatpay python sdk v{wechatpayv3_version}"
        if self._public_key_id or cipher_data:
            headers["Wechatpay-Serial"] = self._public_key_id or (
                hex(self._last_certificate().serial_number)[2:].upper()
            )
        signed = sign_data if sign_data else data
        body = signed if isinstance(signed, str) else json.dumps(signed) if signed else ""
        headers["Authorization"] = build_authorization(
            path, method.value, self._mchid, self._cert_serial_no, self._private_key, data=body
        )
        try:
            answer = self._transport.request(method.value, path, body.encode() if data else None, headers)
        except TransportError as exc:
            raise GatewayError(f"WeChat Pay is unreachable: {exc}") from exc
        text = answer.body.decode("utf-8", errors="replace")
        answered = 200 <= answer.status < 300
        if answered and not skip_verify and not self._verify_signature(answer.headers, text):
            raise GatewayError("WeChat Pay's answer failed its signature check")
        content_type = answer.headers.get("Content-Type", "")
        return answer.status, text if "application/json" in content_type else answer.body


class _WeChatPayAt(WeChatPay):
    """`wechatpayv3.WeChatPay` (direct merchant, JSAPI) on top of `_CoreAt`.

    Mirrors the attributes `WeChatPay.__init__` sets in wechatpayv3 2.x; only the core differs.
    """

    def __init__(self, *, gateway: str, mchid: str, appid: str, **core_kwargs: Any) -> None:
        self._type = WeChatPayType.MINIPROG
        self._mchid = mchid
        self._appid = appid
        self._notify_url = None
        self._partner_mode = False
        self._core = _CoreAt(gateway=gateway, mchid=mchid, **core_kwargs)


class WeChatPayV3:
    """The `PaymentProvider` for WeChat Pay APIv3."""

    name = "wechatpay_v3"

    def __init__(
        self,
        *,
        appid: str,
        mchid: str,
        apiv3_key: str,
        private_key_pem: str,
        cert_serial_no: str,
        api_base: str = DEFAULT_API_BASE,
        public_key_pem: str = "",
        public_key_id: str = "",
        platform_cert_dir: str = "",
        timeout_s: float = 5.0,
        timestamp_window_s: int = 300,
        cert_refresh_interval_s: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(apiv3_key.encode()) != 32:
            raise ValueError("the APIv3 key must be 32 bytes")
        if bool(public_key_pem) != bool(public_key_id):
            raise ValueError("the WeChat Pay public key and its id go together")
        # Fail at start, not at the first payment (the library checks the key in depth when it loads it).
        load_pem_private_key(private_key_pem.encode(), password=None, unsafe_skip_rsa_key_validation=True)
        if public_key_pem:
            load_pem_public_key(public_key_pem.encode())
        self.appid = appid
        self.mchid = mchid
        self.api_base = api_base.rstrip("/")
        self._core_kwargs: dict[str, Any] = {
            "cert_serial_no": cert_serial_no,
            "private_key": private_key_pem,
            "apiv3_key": apiv3_key,
            "cert_dir": platform_cert_dir or None,
            "timeout": timeout_s,
            "public_key": public_key_pem or None,
            "public_key_id": public_key_id or None,
            "refresh_interval_s": cert_refresh_interval_s,
        }
        self._timestamp_window_s = timestamp_window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._wechatpay: WeChatPay | None = None

    # -- the library client, built on first use (certificate mode downloads certificates) --

    def _client(self) -> WeChatPay:
        with self._lock:
            if self._wechatpay is None:
                try:
                    self._wechatpay = _WeChatPayAt(
                        gateway=self.api_base, mchid=self.mchid, appid=self.appid, **self._core_kwargs
                    )
                except requests.RequestException as exc:
                    raise GatewayError(f"WeChat Pay is unreachable: {exc}") from exc
                except Exception as exc:  # the library raises a bare Exception when no certificate loads
                    raise GatewayError(f"WeChat Pay platform certificates are unavailable: {exc}") from exc
            return self._wechatpay

    def _call(self, call: Callable[[WeChatPay], tuple[int, Any]]) -> tuple[int, Any]:
        client = self._client()
        try:
            status, payload = call(client)
        except requests.RequestException as exc:
            raise GatewayError(f"WeChat Pay is unreachable: {exc}") from exc
        except GatewayError:
            raise
        except Exception as exc:  # the library raises a bare Exception when an answer's signature fails
            raise GatewayError(f"WeChat Pay's answer is not usable: {exc}") from exc
        if 200 <= status < 300:
            return status, payload
        raise _error_from_answer(status, payload)

    def _json_call(self, call: Callable[[WeChatPay], tuple[int, Any]]) -> dict[str, Any]:
        _status, payload = self._call(call)
        try:
            return json.loads(payload)
        except (TypeError, ValueError) as exc:
            raise GatewayError(f"WeChat Pay's answer is not JSON: {payload!r:.200}") from exc

    # -- payments --

    def prepay(self, request: PrepayRequest) -> PrepayResult:
        answer = self._json_call(
            lambda c: c.pay(
                description=request.description,
                out_trade_no=request.out_trade_no,
                amount={"total": request.amount_fen, "currency": "CNY"},
                payer={"openid": request.payer_openid},
                time_expire=rfc3339_beijing(request.time_expire),
                attach=request.attach or None,
                notify_url=request.notify_url,
                scene_info={"payer_client_ip": request.payer_client_ip} if request.payer_client_ip else None,
                pay_type=WeChatPayType.JSAPI,
            )
        )
        prepay_id = answer.get("prepay_id")
        if not prepay_id:
            raise GatewayError("WeChat Pay's prepay answer has no prepay_id")
        return PrepayResult(prepay_id=prepay_id, request_payment=self._request_payment(prepay_id))

    def _request_payment(self, prepay_id: str) -> dict[str, str]:
        # wx.requestPayment's paySign: RSA-SHA256 over "appId\ntimeStamp\nnonceStr\npackage\n".
        params = {
            "timeStamp": str(int(self._clock())),
            "nonceStr": nonce(),
            "package": f"prepay_id={prepay_id}",
            "signType": "RSA",
        }
        sign_fields = [self.appid, params["timeStamp"], params["nonceStr"], params["package"]]
        params["paySign"] = self._client().sign(sign_fields)
        return params

    def query(self, out_trade_no: str) -> TradeQuery:
        answer = self._json_call(lambda c: c.query(out_trade_no=out_trade_no))
        return _trade_query(answer)

    def close(self, out_trade_no: str) -> None:
        self._call(lambda c: c.close(out_trade_no=out_trade_no))

    def refund(self, request: RefundRequest) -> RefundResult:
        answer = self._json_call(
            lambda c: c.refund(
                out_refund_no=request.out_refund_no,
                amount={"refund": request.refund_fen, "total": request.total_fen, "currency": "CNY"},
                # One of the two names the payment; a transaction id names one payment of the order.
                transaction_id=request.transaction_id or None,
                out_trade_no=None if request.transaction_id else request.out_trade_no,
                reason=request.reason or None,
                notify_url=request.notify_url,
            )
        )
        return _refund_result(answer)

    def query_refund(self, out_refund_no: str) -> RefundResult:
        return _refund_result(self._json_call(lambda c: c.query_refund(out_refund_no=out_refund_no)))

    def trade_bill(self, bill_date: date) -> bytes:
        answer = self._json_call(lambda c: c.trade_bill(bill_date.isoformat(), tar_type="GZIP"))
        url = urlsplit(answer.get("download_url", ""))
        if not url.path:
            raise GatewayError("WeChat Pay's bill answer has no download_url")
        # The library prefixes its gateway to a path; WeChat Pay's URL may name another host.
        path = url.path + (f"?{url.query}" if url.query else "")
        _status, content = self._call(lambda c: c.download_bill(path))
        try:
            bill = gzip.decompress(content)
        except (OSError, EOFError) as exc:
            raise GatewayError("the downloaded trade bill is not a gzip file") from exc
        # The digest is over the original bill, after decompression.
        if answer.get("hash_type", "").upper() != "SHA1":
            raise GatewayError(f"unknown trade bill digest {answer.get('hash_type')!r}")
        if hashlib.sha1(bill).hexdigest() != answer.get("hash_value", "").lower():
            raise GatewayError("the downloaded trade bill does not match its SHA1 digest")
        return bill

    # -- callbacks --

    def _verified_event(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        canonical = {name: header_lookup(headers, name) for name in _CALLBACK_HEADERS}
        try:
            timestamp = int(canonical["Wechatpay-Timestamp"])
        except ValueError:
            raise PaymentError("the callback has no valid Wechatpay-Timestamp") from None
        if abs(self._clock() - timestamp) > self._timestamp_window_s:
            raise PaymentError("the callback's timestamp is outside the accepted window")
        # WeChat Pay's documented callback headers do not include the type: absent means the default.
        if (canonical["Wechatpay-Signature-Type"] or SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise PaymentError("the callback's signature type is not WECHATPAY2-SHA256-RSA2048")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise PaymentError("the callback body is not UTF-8") from None
        client = self._client()
        try:
            event = client.callback(canonical, text)
        except requests.RequestException as exc:  # a new platform certificate could not be fetched
            raise GatewayError(f"WeChat Pay is unreachable: {exc}") from exc
        except GatewayError:
            raise
        except Exception as exc:
            raise PaymentError(f"the callback is not valid: {exc}") from exc
        if not event or not isinstance(event.get("resource"), dict):
            raise PaymentError("the callback's signature does not verify or its resource does not decrypt")
        return event

    def parse_payment_callback(self, headers: Mapping[str, str], body: bytes) -> PaymentNotification:
        event = self._verified_event(headers, body)
        if event.get("event_type") != "TRANSACTION.SUCCESS":
            raise PaymentError(f"not a payment notification: {event.get('event_type')!r}")
        resource = event["resource"]
        if resource.get("appid") != self.appid:
            raise PaymentError("the callback is for another appid")
        if resource.get("mchid") != self.mchid:
            raise PaymentError("the callback is for another mchid")
        try:
            return PaymentNotification(
                out_trade_no=_text(resource, "out_trade_no"),
                transaction_id=_text(resource, "transaction_id"),
                trade_state=TradeState(resource["trade_state"]),
                amount_fen=_fen(_object(resource, "amount"), "total"),
                appid=resource["appid"],
                mchid=resource["mchid"],
                payer_openid=_text(_object(resource, "payer", {}), "openid", ""),
                success_time=parse_rfc3339(resource.get("success_time")),
                attach=_text(resource, "attach", ""),
                raw=event,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PaymentError(f"the payment notification is incomplete: {exc!r}") from exc

    def parse_refund_callback(self, headers: Mapping[str, str], body: bytes) -> RefundNotification:
        event = self._verified_event(headers, body)
        if event.get("event_type") not in _REFUND_EVENTS:
            raise PaymentError(f"not a refund notification: {event.get('event_type')!r}")
        resource = event["resource"]
        if resource.get("mchid") != self.mchid:
            raise PaymentError("the callback is for another mchid")
        try:
            amount = _object(resource, "amount")
            return RefundNotification(
                out_trade_no=_text(resource, "out_trade_no"),
                out_refund_no=_text(resource, "out_refund_no"),
                transaction_id=_text(resource, "transaction_id"),
                refund_id=_text(resource, "refund_id"),
                status=RefundStatus(resource["refund_status"]),
                refund_fen=_fen(amount, "refund"),
                total_fen=_fen(amount, "total"),
                mchid=resource["mchid"],
                success_time=parse_rfc3339(resource.get("success_time")),
                raw=event,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PaymentError(f"the refund notification is incomplete: {exc!r}") from exc

    def callback_ack(self, ok: bool, message: str = "") -> CallbackAck:
        return json_ack(ok, message)


# A decrypted resource is JSON that the parsers take apart by name: each value is checked for the
# type the payment flow needs (TypeError otherwise, refused as an incomplete notification).
_MISSING: Any = object()


def _object(resource: Mapping[str, Any], name: str, default: Any = _MISSING) -> Mapping[str, Any]:
    value = resource[name] if default is _MISSING else resource.get(name, default)
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} is not an object")
    return value


def _text(resource: Mapping[str, Any], name: str, default: Any = _MISSING) -> str:
    value = resource[name] if default is _MISSING else resource.get(name, default)
    if not isinstance(value, str):
        raise TypeError(f"{name} is not a string")
    return value


def _fen(amount: Mapping[str, Any], name: str) -> int:
    value = amount[name]
    if isinstance(value, bool) or not isinstance(value, int):  # 1e400 would be infinity
        raise TypeError(f"amount.{name} is not a whole number of fen")
    return value


def _error_from_answer(status: int, payload: Any) -> Exception:
    code, message = "", ""
    try:
        answer = json.loads(payload)
        code, message = str(answer.get("code", "")), str(answer.get("message", ""))
    except (TypeError, ValueError, AttributeError):
        message = repr(payload)[:200]
    text = f"WeChat Pay answered {status} {code}: {message}".strip()
    if status >= 500 or status == 429:
        return GatewayError(text, code=code)
    if status == 404 or code in _NOT_FOUND_CODES:
        return NotFoundAtProvider(text, code=code)
    if code in _ALREADY_PAID_CODES:
        return AlreadyPaid(text, code=code)
    return PaymentError(text, code=code)


def _trade_query(answer: Mapping[str, Any]) -> TradeQuery:
    try:
        amount = answer.get("amount") or {}
        return TradeQuery(
            out_trade_no=answer["out_trade_no"],
            trade_state=TradeState(answer["trade_state"]),
            transaction_id=answer.get("transaction_id", ""),
            amount_fen=int(amount["total"]) if "total" in amount else None,
            payer_openid=(answer.get("payer") or {}).get("openid", ""),
            success_time=parse_rfc3339(answer.get("success_time")),
            trade_state_desc=answer.get("trade_state_desc", ""),
            raw=dict(answer),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise GatewayError(f"WeChat Pay's trade answer is incomplete: {exc!r}") from exc


def _refund_result(answer: Mapping[str, Any]) -> RefundResult:
    try:
        amount = answer.get("amount") or {}
        return RefundResult(
            out_refund_no=answer["out_refund_no"],
            refund_id=answer["refund_id"],
            status=RefundStatus(answer["status"]),
            refund_fen=int(amount["refund"]) if "refund" in amount else None,
            success_time=parse_rfc3339(answer.get("success_time")),
            raw=dict(answer),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise GatewayError(f"WeChat Pay's refund answer is incomplete: {exc!r}") from exc
