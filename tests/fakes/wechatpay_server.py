"""A loopback WeChat Pay that speaks APIv3 and APIv2 on the wire, so the real libraries run in tests.

`FakeWeChatPay` is a stdlib HTTP server on 127.0.0.1 (a free port, one thread per request). It keeps
trades and refunds in memory and implements, as WeChat Pay does:

- APIv3: checks the merchant's `Authorization: WECHATPAY2-SHA256-RSA2048 ...` signature on every
  request and signs every answer (`Wechatpay-Timestamp/Nonce/Signature/Serial` headers) with its
  own "platform" keys: the public-key-mode key when the client sends `Wechatpay-Serial:
  PUB_KEY_ID_...`, else the platform certificate's key; serves `/v3/certificates` (AES-256-GCM
  encrypted with the APIv3 key), JSAPI prepay, query, close, refund, refund query, the trade bill
  (type ALL: the day's payments and accepted refunds, then the summary) and its download (gzip,
  SHA1 of the original).
- APIv2: XML with an MD5 or HMAC-SHA256 `sign` on requests and answers; unified order, order query,
  close, refund, refund query and the bill download.

Tests drive it with `pay()`, `pay_again()` (a second payment of a paid trade, refundable by its
transaction_id), `settle_refund()`, builders of signed and encrypted callbacks (APIv3
headers + body, APIv2 notify XML) with switches to forge or mistarget them, and fault switches
(`fail_next`: answer 5xx; `delay_next`: answer late). Its signing and encryption are written here
from the protocol, not borrowed from the libraries under test.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

BEIJING = dt.timezone(dt.timedelta(hours=8))
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"


def _nonce(length: int = 32) -> str:
    return secrets.token_hex(length // 2)


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _self_signed(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _serial_hex(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "X")


def rsa_sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(public_key: rsa.RSAPublicKey, message: str, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature), message.encode(), PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def aes_gcm_encrypt(key: str, plaintext: str, associated_data: str) -> dict[str, str]:
    """APIv3's encrypted resource: AEAD_AES_256_GCM, a 12-character nonce, base64(ciphertext + tag)."""
    nonce = _nonce(12)
    sealed = AESGCM(key.encode()).encrypt(nonce.encode(), plaintext.encode(), associated_data.encode())
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "nonce": nonce,
        "associated_data": associated_data,
        "ciphertext": base64.b64encode(sealed).decode(),
    }


def v2_sign(fields: Mapping[str, Any], api_key: str, sign_type: str = "MD5") -> str:
    """APIv2's sign: sorted non-empty `k=v` joined by `&`, then `&key=`, MD5 or HMAC-SHA256, upper hex."""
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "sign" and fields[k] not in ("", None))
    text += f"&key={api_key}"
    if sign_type == "HMAC-SHA256":
        return hmac.new(api_key.encode(), text.encode(), hashlib.sha256).hexdigest().upper()
    return hashlib.md5(text.encode()).hexdigest().upper()


def v2_xml(fields: Mapping[str, Any], root: str = "xml") -> str:
    parts = [f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items() if v is not None]
    return f"<{root}>" + "".join(parts) + f"</{root}>"


def v2_parse(body: bytes) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(body)}


def _v2_refund_encrypt(api_key: str, plaintext: str) -> str:
    """APIv2 refund notification's `req_info`: AES-256-ECB, key = lower-hex MD5 of the API key, PKCS#7."""
    key = hashlib.md5(api_key.encode()).hexdigest().encode()
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(BEIJING).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class MerchantKeys:
    """The merchant's API key pair and certificate, as the merchant platform issues them."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def generate(cls, mchid: str = "1900000109") -> MerchantKeys:
        key = _rsa_key()
        return cls(private_key=key, certificate=_self_signed(key, f"{mchid} merchant API certificate"))

    @cached_property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    @property
    def private_key_pem(self) -> str:
        return _private_pem(self.private_key)

    @property
    def certificate_pem(self) -> str:
        return _cert_pem(self.certificate)

    @property
    def public_key_pem(self) -> str:
        return _public_pem(self.private_key.public_key())

    @property
    def serial_no(self) -> str:
        return _serial_hex(self.certificate)


@dataclass(frozen=True)
class PlatformKeys:
    """WeChat Pay's side: a platform certificate and, separately, a public-key-mode key pair."""

    cert_key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    public_key_key: rsa.RSAPrivateKey
    public_key_id: str

    @classmethod
    def generate(cls) -> PlatformKeys:
        cert_key = _rsa_key()
        return cls(
            cert_key=cert_key,
            certificate=_self_signed(cert_key, "Tenpay.com Root CA fake platform certificate"),
            public_key_key=_rsa_key(),
            public_key_id="PUB_KEY_ID_" + secrets.token_hex(16).upper(),
        )

    @property
    def certificate_serial(self) -> str:
        return _serial_hex(self.certificate)

    @property
    def public_key_pem(self) -> str:
        return _public_pem(self.public_key_key.public_key())

    def key_for(self, serial: str) -> rsa.RSAPrivateKey:
        return self.public_key_key if serial == self.public_key_id else self.cert_key


@dataclass
class FakeTrade:
    out_trade_no: str
    appid: str
    mchid: str
    description: str
    total: int
    payer_openid: str
    notify_url: str
    attach: str
    prepay_id: str
    params: dict[str, Any]
    time_expire: str = ""  # as sent: RFC 3339 (APIv3) or yyyyMMddHHmmss (APIv2)
    state: str = "NOTPAY"
    transaction_id: str = ""
    success_time: dt.datetime | None = None


@dataclass
class FakeRefund:
    out_refund_no: str
    out_trade_no: str
    refund_id: str
    refund: int
    total: int
    reason: str
    notify_url: str
    status: str = "PROCESSING"
    create_time: dt.datetime = field(default_factory=lambda: dt.datetime.now(BEIJING))
    success_time: dt.datetime | None = None
    transaction_id: str = ""  # the payment refunded when the refund named it (a repeated payment)


@dataclass(frozen=True)
class Received:
    """A request as the fake received it: when (monotonic seconds), what, and the fault it was given."""

    at: float
    method: str
    path: str
    body: bytes
    fault: tuple[str, float] | None

    def field(self, name: str) -> str:
        """A field of the JSON body (APIv3), or '' when there is none."""
        try:
            return str(json.loads(self.body or b"{}").get(name, ""))
        except (ValueError, AttributeError):
            return ""


@dataclass(frozen=True)
class Callback:
    """An APIv3 callback as WeChat Pay would POST it."""

    headers: dict[str, str]
    body: bytes

    def deliver(self, url: str, timeout_s: float = 5.0) -> tuple[int, bytes]:
        """POST it to `url`; the status and body of the answer."""
        headers = {"Content-Type": "application/json", **self.headers}
        return _post(url, self.body, headers, timeout_s)


def _post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    disable_nagle_algorithm = True
    wbufsize = -1  # headers and body go out in one write, when the handler flushes after each answer
    protocol_version = "HTTP/1.1"  # keep-alive, as WeChat Pay's gateway allows

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    def do_POST(self) -> None:
        self.server.fake._handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a delayed answer must not hold up stop()
    fake: FakeWeChatPay


class FakeWeChatPay:
    """WeChat Pay on 127.0.0.1 for one test; use as a context manager or call start() / stop()."""

    def __init__(
        self,
        *,
        appid: str,
        mchid: str,
        apiv3_key: str,
        api_key: str,
        merchant: MerchantKeys,
        platform: PlatformKeys,
    ) -> None:
        self.appid = appid
        self.mchid = mchid
        self.apiv3_key = apiv3_key
        self.api_key = api_key
        self.merchant = merchant
        self.platform = platform
        self.trades: dict[str, FakeTrade] = {}
        # Second payments of a paid trade, by their own transaction_id (see `pay_again`).
        self.repeat_payments: dict[str, FakeTrade] = {}
        self.refunds: dict[str, FakeRefund] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request received
        self.received: list[Received] = []  # every request with its time, body and the fault it got
        self.v2_messages: list[dict[str, str]] = []  # every APIv2 request message, parsed
        self.bills: dict[str, bytes] = {}
        self.tamper_bills = False  # serve bill files that do not match their digest
        self.forge_answers = False  # sign answers wrongly
        self._faults: list[tuple[str, float]] = []
        self._lock = threading.RLock()
        self._server: _Server | None = None

    # -- lifecycle --

    def start(self) -> FakeWeChatPay:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-wechatpay", daemon=True
        ).start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeWeChatPay:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def settings(
        self, directory: Path, provider: str = "wechatpay_v3", *, public_key_mode: bool = True, **extra: Any
    ) -> dict[str, Any]:
        """Settings that point `build_provider` (or the app) at this fake; key files go to `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        key_path, cert_path = directory / "apiclient_key.pem", directory / "apiclient_cert.pem"
        key_path.write_text(self.merchant.private_key_pem)
        cert_path.write_text(self.merchant.certificate_pem)
        values: dict[str, Any] = {
            "PAYMENT_PROVIDER": provider,
            "WECHAT_APPID": self.appid,
            "WECHATPAY_MCHID": self.mchid,
            "WECHATPAY_APIV3_KEY": self.apiv3_key,
            "WECHATPAY_API_KEY": self.api_key,
            "WECHATPAY_CERT_SERIAL": self.merchant.serial_no,
            "WECHATPAY_PRIVATE_KEY_PATH": str(key_path),
            "WECHATPAY_CERT_PATH": str(cert_path),
            "WECHATPAY_API_BASE": self.base_url,
            "WECHATPAY_TIMEOUT_S": 2.0,
            "WECHATPAY_RETRY_BACKOFF_S": 0.01,
        }
        if public_key_mode:
            public_key_path = directory / "wechatpay_public_key.pem"
            public_key_path.write_text(self.platform.public_key_pem)
            values |= {
                "WECHATPAY_PUBLIC_KEY_ID": self.platform.public_key_id,
                "WECHATPAY_PUBLIC_KEY_PATH": str(public_key_path),
            }
        return values | extra

    # -- fault switches --

    def fail_next(self, times: int = 1, status: int = 500) -> None:
        """The next `times` requests get `status` (a 5xx: SYSTEM_ERROR) instead of an answer."""
        with self._lock:
            self._faults += [("status", status)] * times

    def delay_next(self, times: int = 1, seconds: float = 1.0) -> None:
        """The next `times` requests are answered only after `seconds`."""
        with self._lock:
            self._faults += [("delay", seconds)] * times

    def count(self, path_prefix: str) -> int:
        """How many requests were received on paths starting with `path_prefix`."""
        return sum(1 for _method, path in self.requests if path.startswith(path_prefix))

    # -- what happens at WeChat Pay outside the API --

    def pay(self, out_trade_no: str, when: dt.datetime | None = None) -> FakeTrade:
        """The payer pays the trade."""
        with self._lock:
            trade = self.trades[out_trade_no]
            assert trade.state == "NOTPAY", f"trade {out_trade_no} is {trade.state}"
            trade.state = "SUCCESS"
            trade.transaction_id = "4200" + secrets.token_hex(12)
            trade.success_time = (when or dt.datetime.now(BEIJING)).astimezone(BEIJING).replace(microsecond=0)
            return trade

    def pay_again(self, out_trade_no: str) -> FakeTrade:
        """The payer pays a paid trade a second time: another transaction of the same out_trade_no."""
        with self._lock:
            trade = self.trades[out_trade_no]
            assert trade.success_time is not None, "pay() the trade first"
            again = replace(
                trade,
                transaction_id="4200" + secrets.token_hex(12),
                success_time=dt.datetime.now(BEIJING).replace(microsecond=0),
                state="SUCCESS",
            )
            self.repeat_payments[again.transaction_id] = again
            return again

    def payments(self) -> list[FakeTrade]:
        """Every payment received: the trades, then the repeated payments."""
        return [*self.trades.values(), *self.repeat_payments.values()]

    def _refunded(self, refund: FakeRefund) -> FakeTrade:
        """The payment a refund returns."""
        return self.repeat_payments.get(refund.transaction_id) or self.trades[refund.out_trade_no]

    def settle_refund(self, out_refund_no: str, status: str = "SUCCESS") -> FakeRefund:
        """The refund reaches its end: SUCCESS, CLOSED or ABNORMAL."""
        with self._lock:
            refund = self.refunds[out_refund_no]
            refund.status = status
            if status == "SUCCESS":
                refund.success_time = dt.datetime.now(BEIJING).replace(microsecond=0)
            return refund

    # -- APIv3 callbacks --

    def _signed_callback(
        self,
        event: dict[str, Any],
        *,
        timestamp: int | None,
        age_s: int,
        forge_signature: bool,
        use_certificate: bool,
    ) -> Callback:
        body = json.dumps(event, ensure_ascii=False)
        # `age_s` dates the callback relative to the moment it is built (negative: in the future),
        # so that a test's stale or future callback stays so however late the test runs.
        ts = str(int(time.time()) - age_s if timestamp is None else timestamp)
        nonce = _nonce()
        serial = self.platform.certificate_serial if use_certificate else self.platform.public_key_id
        signed = f"{ts}\n{nonce}\n{body}\n"
        if forge_signature:  # a genuine signature, but over other content
            signed = f"{ts}\n{nonce}\n{body.replace('SUCCESS', 'SUCCES5')}\n"
        headers = {
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": rsa_sign(self.platform.key_for(serial), signed),
            "Wechatpay-Serial": serial,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        }
        return Callback(headers=headers, body=body.encode())

    def payment_callback(
        self,
        out_trade_no: str,
        *,
        timestamp: int | None = None,
        age_s: int = 0,
        forge_signature: bool = False,
        amount_fen: int | None = None,
        appid: str | None = None,
        mchid: str | None = None,
        apiv3_key: str | None = None,
        use_certificate: bool = False,
        event_type: str = "TRANSACTION.SUCCESS",
        transaction_id: str | None = None,
    ) -> Callback:
        """The signed, encrypted TRANSACTION.SUCCESS callback of a paid trade (or of its repeated
        payment `transaction_id`); each field can be spoiled."""
        trade = self.repeat_payments[transaction_id] if transaction_id else self.trades[out_trade_no]
        assert trade.success_time is not None, "pay() the trade first"
        total = trade.total if amount_fen is None else amount_fen
        resource = {
            "mchid": mchid or trade.mchid,
            "appid": appid or trade.appid,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "trade_type": "JSAPI",
            "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功",
            "bank_type": "OTHERS",
            "attach": trade.attach,
            "success_time": _rfc3339(trade.success_time),
            "payer": {"openid": trade.payer_openid},
            "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"},
        }
        event = self._event(event_type, "transaction", "支付成功", resource, apiv3_key)
        return self._signed_callback(
            event,
            timestamp=timestamp,
            age_s=age_s,
            forge_signature=forge_signature,
            use_certificate=use_certificate,
        )

    def refund_callback(
        self,
        out_refund_no: str,
        *,
        timestamp: int | None = None,
        age_s: int = 0,
        forge_signature: bool = False,
        mchid: str | None = None,
        apiv3_key: str | None = None,
        use_certificate: bool = False,
    ) -> Callback:
        """The signed, encrypted REFUND.* callback of a settled refund."""
        refund = self.refunds[out_refund_no]
        trade = self._refunded(refund)
        resource = {
            "mchid": mchid or trade.mchid,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "out_refund_no": refund.out_refund_no,
            "refund_id": refund.refund_id,
            "refund_status": refund.status,
            "success_time": _rfc3339(refund.success_time) if refund.success_time else None,
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": refund.total,
                "refund": refund.refund,
                "payer_total": refund.total,
                "payer_refund": refund.refund,
            },
        }
        resource = {k: v for k, v in resource.items() if v is not None}
        event = self._event(f"REFUND.{refund.status}", "refund", "退款状态变更", resource, apiv3_key)
        return self._signed_callback(
            event,
            timestamp=timestamp,
            age_s=age_s,
            forge_signature=forge_signature,
            use_certificate=use_certificate,
        )

    def _event(
        self, event_type: str, original_type: str, summary: str, resource: dict[str, Any], key: str | None
    ) -> dict[str, Any]:
        sealed = aes_gcm_encrypt(
            key or self.apiv3_key, json.dumps(resource, ensure_ascii=False), original_type
        )
        return {
            "id": str(uuid.uuid4()),
            "create_time": _rfc3339(dt.datetime.now(BEIJING)),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {"original_type": original_type, **sealed},
        }

    # -- APIv2 notifications --

    def payment_notify_v2(
        self,
        out_trade_no: str,
        *,
        sign_type: str = "MD5",
        include_sign_type: bool | None = None,
        forge_sign: bool = False,
        amount_fen: int | None = None,
        appid: str | None = None,
        mchid: str | None = None,
    ) -> bytes:
        """The payment notification XML of a paid trade, signed MD5 or HMAC-SHA256 (or forged)."""
        trade = self.trades[out_trade_no]
        assert trade.success_time is not None, "pay() the trade first"
        total = trade.total if amount_fen is None else amount_fen
        fields: dict[str, Any] = {
            "appid": appid or trade.appid,
            "attach": trade.attach or None,
            "bank_type": "OTHERS",
            "cash_fee": total,
            "fee_type": "CNY",
            "is_subscribe": "N",
            "mch_id": mchid or trade.mchid,
            "nonce_str": _nonce(),
            "openid": trade.payer_openid,
            "out_trade_no": trade.out_trade_no,
            "result_code": "SUCCESS",
            "return_code": "SUCCESS",
            "time_end": trade.success_time.astimezone(BEIJING).strftime("%Y%m%d%H%M%S"),
            "total_fee": total,
            "trade_type": "JSAPI",
            "transaction_id": trade.transaction_id,
        }
        if include_sign_type if include_sign_type is not None else sign_type != "MD5":
            fields["sign_type"] = sign_type
        key = "forged-" + self.api_key[7:] if forge_sign else self.api_key
        fields = {k: v for k, v in fields.items() if v is not None}
        fields["sign"] = v2_sign(fields, key, sign_type)
        return v2_xml(fields).encode()

    def refund_notify_v2(
        self,
        out_refund_no: str,
        *,
        api_key: str | None = None,
        appid: str | None = None,
        mchid: str | None = None,
    ) -> bytes:
        """The refund notification XML of a settled refund, `req_info` encrypted with the API key."""
        refund = self.refunds[out_refund_no]
        trade = self._refunded(refund)
        info = {
            "out_refund_no": refund.out_refund_no,
            "out_trade_no": trade.out_trade_no,
            "refund_account": "REFUND_SOURCE_RECHARGE_FUNDS",
            "refund_fee": refund.refund,
            "refund_id": refund.refund_id,
            "refund_recv_accout": "支付用户零钱",
            "refund_request_source": "API",
            "refund_status": {"SUCCESS": "SUCCESS", "CLOSED": "REFUNDCLOSE"}.get(refund.status, "CHANGE"),
            "settlement_refund_fee": refund.refund,
            "settlement_total_fee": refund.total,
            "success_time": refund.success_time.strftime("%Y-%m-%d %H:%M:%S")
            if refund.success_time
            else None,
            "total_fee": refund.total,
            "transaction_id": trade.transaction_id,
        }
        outer = {
            "return_code": "SUCCESS",
            "appid": appid or trade.appid,
            "mch_id": mchid or trade.mchid,
            "nonce_str": _nonce(),
            "req_info": _v2_refund_encrypt(api_key or self.api_key, v2_xml(info, root="root")),
        }
        return v2_xml(outer).encode()

    # -- the HTTP side --

    def _handle(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append((handler.command, handler.path))
            fault = self._faults.pop(0) if self._faults else None
            self.received.append(Received(time.monotonic(), handler.command, handler.path, body, fault))
        try:
            if fault and fault[0] == "delay":
                time.sleep(fault[1])
            if fault and fault[0] == "status":
                self._send(handler, int(fault[1]), b'{"code":"SYSTEM_ERROR","message":"fake fault"}', {})
                return
            if handler.path.startswith("/v3/"):
                self._handle_v3(handler, body)
            else:
                self._handle_v2(handler, body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a delayed answer)

    @staticmethod
    def _send(handler: _Handler, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if "Content-Type" not in headers and body:
            handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if body:
            handler.wfile.write(body)

    # APIv3

    def _verify_authorization(self, handler: _Handler, body: bytes) -> None:
        scheme, _, params = handler.headers.get("Authorization", "").partition(" ")
        if scheme != SIGNATURE_TYPE:
            raise _ApiError(401, "SIGN_ERROR", "missing or unknown Authorization scheme")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
        if fields.get("mchid") != self.mchid:
            raise _ApiError(401, "SIGN_ERROR", "mchid does not match")
        if fields.get("serial_no") != self.merchant.serial_no:
            raise _ApiError(401, "SIGN_ERROR", "unknown merchant certificate serial")
        if abs(int(time.time()) - int(fields.get("timestamp") or 0)) > 300:
            raise _ApiError(401, "SIGN_ERROR", "stale timestamp")
        message = f"{handler.command}\n{handler.path}\n{fields['timestamp']}\n{fields.get('nonce_str')}\n"
        message += body.decode() + "\n"
        if not rsa_verify(self.merchant.public_key, message, fields.get("signature", "")):
            raise _ApiError(401, "SIGN_ERROR", "the signature does not verify")

    def _answer_v3(self, handler: _Handler, status: int, payload: Any | None) -> None:
        body = "" if payload is None else json.dumps(payload, ensure_ascii=False)
        serial = handler.headers.get("Wechatpay-Serial") or ""
        if serial != self.platform.public_key_id:
            serial = self.platform.certificate_serial
        ts, nonce = str(int(time.time())), _nonce()
        signed = f"{ts}\n{nonce}\n{body}\n"
        if self.forge_answers:
            signed = f"{ts}\n{nonce}\n{body} \n"
        headers = {
            "Request-ID": str(uuid.uuid4()),
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": serial,
            "Wechatpay-Signature": rsa_sign(self.platform.key_for(serial), signed),
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        }
        if payload is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        self._send(handler, status, body.encode(), headers)

    _V3_ROUTES: tuple[tuple[str, str, str], ...] = (
        ("GET", r"/v3/certificates", "_v3_certificates"),
        ("POST", r"/v3/pay/transactions/jsapi", "_v3_jsapi"),
        ("GET", r"/v3/pay/transactions/out-trade-no/(?P<no>[^/?]+)", "_v3_query"),
        ("POST", r"/v3/pay/transactions/out-trade-no/(?P<no>[^/?]+)/close", "_v3_close"),
        ("POST", r"/v3/refund/domestic/refunds", "_v3_refund"),
        ("GET", r"/v3/refund/domestic/refunds/(?P<no>[^/?]+)", "_v3_refund_query"),
        ("GET", r"/v3/bill/tradebill", "_v3_tradebill"),
        ("GET", r"/v3/billdownload/file", "_v3_download"),
    )

    def _handle_v3(self, handler: _Handler, body: bytes) -> None:
        url = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            self._verify_authorization(handler, body)
            for method, pattern, action in self._V3_ROUTES:
                match = re.fullmatch(pattern, url.path)
                if match and method == handler.command:
                    data = json.loads(body) if body else {}
                    with self._lock:
                        result = getattr(self, action)(query=query, data=data, **match.groupdict())
                    break
            else:
                raise _ApiError(404, "NOT_FOUND", f"no such API {handler.command} {url.path}")
        except _ApiError as error:
            self._answer_v3(handler, error.status, {"code": error.code, "message": error.message})
            return
        if isinstance(result, bytes):  # a bill file: not signed, its digest protects it
            self._send(handler, 200, result, {"Content-Type": "application/octet-stream"})
        else:
            self._answer_v3(handler, 204 if result is None else 200, result)

    def _v3_certificates(self, **_: Any) -> dict[str, Any]:
        cert = self.platform.certificate
        return {
            "data": [
                {
                    "serial_no": self.platform.certificate_serial,
                    "effective_time": _rfc3339(cert.not_valid_before_utc),
                    "expire_time": _rfc3339(cert.not_valid_after_utc),
                    "encrypt_certificate": aes_gcm_encrypt(self.apiv3_key, _cert_pem(cert), "certificate"),
                }
            ]
        }

    def _check_merchant(self, appid: str | None, mchid: str | None) -> None:
        if mchid != self.mchid or (appid is not None and appid != self.appid):
            raise _ApiError(400, "APPID_MCHID_NOT_MATCH", "appid and mchid do not match")

    def _v3_jsapi(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        self._check_merchant(data.get("appid"), data.get("mchid"))
        for name in ("description", "out_trade_no", "notify_url", "amount", "payer"):
            if not data.get(name):
                raise _ApiError(400, "PARAM_ERROR", f"{name} is required")
        total = data["amount"].get("total")
        if not isinstance(total, int) or total <= 0:
            raise _ApiError(400, "PARAM_ERROR", "amount.total must be a positive integer")
        params = {k: data.get(k) for k in ("description", "amount", "payer", "notify_url", "attach")}
        return {
            "prepay_id": self._open_trade(data["out_trade_no"], total, data["payer"]["openid"], data, params)
        }

    def _open_trade(
        self, out_trade_no: str, total: int, openid: str, data: Mapping[str, Any], params: dict[str, Any]
    ) -> str:
        existing = self.trades.get(out_trade_no)
        if existing is not None:
            if existing.state in ("SUCCESS", "REFUND"):
                raise _ApiError(400, "ORDERPAID", "该订单已支付")
            if existing.state == "CLOSED":
                raise _ApiError(400, "ORDER_CLOSED", "该订单已关闭")
            if existing.params != params:
                raise _ApiError(400, "INVALID_REQUEST", "201 商户订单号重复")
            return existing.prepay_id
        trade = FakeTrade(
            out_trade_no=out_trade_no,
            appid=self.appid,
            mchid=self.mchid,
            description=str(data.get("description") or data.get("body")),
            total=total,
            payer_openid=openid,
            notify_url=str(data["notify_url"]),
            attach=str(data.get("attach") or ""),
            prepay_id="wx" + dt.datetime.now(BEIJING).strftime("%d%H%M%S") + secrets.token_hex(12),
            params=params,
            time_expire=str(data.get("time_expire") or ""),
        )
        self.trades[out_trade_no] = trade
        return trade.prepay_id

    def _trade(self, no: str) -> FakeTrade:
        trade = self.trades.get(no)
        if trade is None:
            raise _ApiError(404, "ORDER_NOT_EXIST", "订单不存在")
        return trade

    def _v3_query(self, no: str, query: dict[str, str], **_: Any) -> dict[str, Any]:
        self._check_merchant(None, query.get("mchid"))
        trade = self._trade(no)
        answer: dict[str, Any] = {
            "appid": trade.appid,
            "mchid": trade.mchid,
            "out_trade_no": trade.out_trade_no,
            "trade_state": trade.state,
            "trade_state_desc": {"NOTPAY": "未支付", "CLOSED": "已关闭"}.get(trade.state, "支付成功"),
            "attach": trade.attach,
            "amount": {"total": trade.total, "currency": "CNY", "payer_currency": "CNY"},
        }
        if trade.success_time:
            answer |= {
                "transaction_id": trade.transaction_id,
                "trade_type": "JSAPI",
                "bank_type": "OTHERS",
                "success_time": _rfc3339(trade.success_time),
                "payer": {"openid": trade.payer_openid},
            }
            answer["amount"]["payer_total"] = trade.total
        return answer

    def _v3_close(self, no: str, data: dict[str, Any], **_: Any) -> None:
        self._check_merchant(None, data.get("mchid"))
        trade = self._trade(no)
        if trade.state in ("SUCCESS", "REFUND"):
            raise _ApiError(400, "ORDERPAID", "订单已支付")
        trade.state = "CLOSED"

    def _v3_refund(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        amount = data.get("amount") or {}
        refund = self._apply_refund(
            out_trade_no=data.get("out_trade_no", ""),
            out_refund_no=data.get("out_refund_no", ""),
            refund_fen=amount.get("refund"),
            total_fen=amount.get("total"),
            reason=data.get("reason", ""),
            notify_url=data.get("notify_url", ""),
            transaction_id=data.get("transaction_id", ""),
        )
        return self._v3_refund_json(refund)

    def _apply_refund(
        self,
        *,
        out_trade_no: str,
        out_refund_no: str,
        refund_fen: Any,
        total_fen: Any,
        reason: str,
        notify_url: str,
        transaction_id: str = "",
    ) -> FakeRefund:
        if out_refund_no in self.refunds:  # the same out_refund_no never refunds twice
            return self.refunds[out_refund_no]
        # A transaction_id names the payment (perhaps a repeated one); else out_trade_no names the trade.
        trade = (
            next((t for t in self.payments() if t.transaction_id == transaction_id), None)
            if transaction_id
            else self.trades.get(out_trade_no)
        )
        if trade is None:
            raise _ApiError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if trade.state not in ("SUCCESS", "REFUND"):
            raise _ApiError(400, "INVALID_REQUEST", "订单未支付")
        if total_fen != trade.total or not isinstance(refund_fen, int) or refund_fen <= 0:
            raise _ApiError(400, "PARAM_ERROR", "amount does not match the trade")
        out_trade_no = trade.out_trade_no
        refunded = sum(r.refund for r in self.refunds.values() if self._refunded(r) is trade)
        if refunded + refund_fen > trade.total:
            raise _ApiError(403, "NOT_ENOUGH", "退款金额超过订单可退金额")
        refund = FakeRefund(
            out_refund_no=out_refund_no,
            out_trade_no=out_trade_no,
            refund_id="5030" + secrets.token_hex(12),
            refund=refund_fen,
            total=trade.total,
            reason=reason,
            notify_url=notify_url,
            transaction_id=transaction_id if transaction_id in self.repeat_payments else "",
        )
        self.refunds[out_refund_no] = refund
        trade.state = "REFUND"
        return refund

    def _v3_refund_json(self, refund: FakeRefund) -> dict[str, Any]:
        trade = self._refunded(refund)
        answer = {
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "transaction_id": trade.transaction_id,
            "out_trade_no": trade.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": _rfc3339(refund.create_time),
            "status": refund.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": refund.total,
                "refund": refund.refund,
                "payer_total": refund.total,
                "payer_refund": refund.refund,
                "settlement_total": refund.total,
                "settlement_refund": refund.refund,
                "discount_refund": 0,
                "currency": "CNY",
            },
        }
        if refund.success_time:
            answer["success_time"] = _rfc3339(refund.success_time)
        return answer

    def _v3_refund_query(self, no: str, **_: Any) -> dict[str, Any]:
        if no not in self.refunds:
            raise _ApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return self._v3_refund_json(self.refunds[no])

    def bill_csv(self, day: dt.date) -> bytes:
        """The trade bill (type ALL) of a day (Beijing time), in WeChat Pay's CSV shape: a row per
        payment that succeeded that day, a REFUND row per refund accepted that day (its status as
        of now: the bill is a snapshot), then the summary."""
        header = (
            "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
            "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
            "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
        )
        rows, total_fen, fee_fen, refund_fen = [], 0, 0, 0
        for trade in self.payments():
            if trade.success_time is None or trade.success_time.astimezone(BEIJING).date() != day:
                continue
            fee = (trade.total * 6 + 500) // 1000  # 0.6 %, rounded half up
            total_fen, fee_fen = total_fen + trade.total, fee_fen + fee
            values = [
                trade.success_time.strftime("%Y-%m-%d %H:%M:%S"), trade.appid, trade.mchid, "0", "",
                trade.transaction_id, trade.out_trade_no, trade.payer_openid, "JSAPI", "SUCCESS", "OTHERS",
                "CNY", _yuan(trade.total), "0.00", "0", "0", "0.00", "0.00", "", "", trade.description,
                trade.attach, _yuan(fee), "0.60%", _yuan(trade.total), "0.00", "",
            ]  # fmt: skip
            rows.append(",".join("`" + v for v in values))
        for refund in self.refunds.values():
            if refund.create_time.astimezone(BEIJING).date() != day:
                continue
            trade = self._refunded(refund)
            fee = (refund.refund * 6 + 500) // 1000  # the fee on the refunded part comes back
            refund_fen, fee_fen = refund_fen + refund.refund, fee_fen - fee
            values = [
                refund.create_time.strftime("%Y-%m-%d %H:%M:%S"), trade.appid, trade.mchid, "0", "",
                trade.transaction_id, trade.out_trade_no, trade.payer_openid, "JSAPI", "REFUND", "OTHERS",
                "CNY", "0.00", "0.00", refund.refund_id, refund.out_refund_no, _yuan(refund.refund), "0.00",
                "ORIGINAL", refund.status, trade.description, trade.attach, "-" + _yuan(fee), "0.60%",
                "0.00", _yuan(refund.refund), "",
            ]  # fmt: skip
            rows.append(",".join("`" + v for v in values))
        summary = (
            "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
        )
        fee_text = ("-" if fee_fen < 0 else "") + _yuan(abs(fee_fen))
        totals = [
            str(len(rows)), _yuan(total_fen), _yuan(refund_fen), "0.00", fee_text, _yuan(total_fen),
            _yuan(refund_fen),
        ]  # fmt: skip
        lines = [header, *rows, summary, ",".join("`" + v for v in totals)]
        return ("\r\n".join(lines) + "\r\n").encode()

    def _has_bill(self, day: dt.date) -> bool:
        """WeChat Pay has no bill for a day without any payment or refund."""
        return any(
            t.success_time and t.success_time.astimezone(BEIJING).date() == day for t in self.payments()
        ) or any(r.create_time.astimezone(BEIJING).date() == day for r in self.refunds.values())

    def _v3_tradebill(self, query: dict[str, str], **_: Any) -> dict[str, Any]:
        day = dt.date.fromisoformat(query.get("bill_date", ""))
        if not self._has_bill(day):
            raise _ApiError(400, "NO_STATEMENT_EXIST", "当前日期账单不存在")
        original = self.bill_csv(day)
        served = original.replace(b"`SUCCESS", b"`REFUND") if self.tamper_bills else original
        token = secrets.token_urlsafe(16)
        self.bills[token] = gzip.compress(served) if query.get("tar_type") == "GZIP" else served
        return {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(original).hexdigest(),
            "download_url": f"{self.base_url}/v3/billdownload/file?token={token}",
        }

    def _v3_download(self, query: dict[str, str], **_: Any) -> bytes:
        if query.get("token") not in self.bills:
            raise _ApiError(404, "RESOURCE_NOT_EXISTS", "no such bill")
        return self.bills[query["token"]]

    # APIv2

    def _handle_v2(self, handler: _Handler, body: bytes) -> None:
        path = urlsplit(handler.path).path
        try:
            data = v2_parse(body)
        except ET.ParseError:
            self._answer_v2(handler, {"return_code": "FAIL", "return_msg": "XML格式错误"}, None)
            return
        with self._lock:
            self.v2_messages.append(data)
        sign_type = data.get("sign_type") or "MD5"
        if sign_type not in ("MD5", "HMAC-SHA256") or data.get("sign") != v2_sign(
            data, self.api_key, sign_type
        ):
            self._answer_v2(handler, {"return_code": "FAIL", "return_msg": "签名错误"}, None)
            return
        if data.get("appid") != self.appid or data.get("mch_id") != self.mchid:
            self._answer_v2(handler, {"return_code": "FAIL", "return_msg": "appid和mch_id不匹配"}, None)
            return
        actions = {
            "/pay/unifiedorder": self._v2_unifiedorder,
            "/pay/orderquery": self._v2_orderquery,
            "/pay/closeorder": self._v2_closeorder,
            "/secapi/pay/refund": self._v2_refund,
            "/pay/refundquery": self._v2_refundquery,
            "/pay/downloadbill": self._v2_downloadbill,
        }
        if path not in actions:
            self._send(handler, 404, b"", {})
            return
        try:
            with self._lock:
                result = actions[path](data)
        except _ApiError as error:
            if path == "/pay/downloadbill":  # APIv2 answers a missing bill with return_code FAIL
                fields = {"return_code": "FAIL", "return_msg": error.message, "error_code": error.code}
                self._answer_v2(handler, fields, None)
                return
            result = {"result_code": "FAIL", "err_code": error.code, "err_code_des": error.message}
        if isinstance(result, bytes):
            self._send(handler, 200, result, {"Content-Type": "text/plain; charset=utf-8"})
            return
        answer = {"return_code": "SUCCESS", "return_msg": "OK", "appid": self.appid, "mch_id": self.mchid}
        answer |= {"nonce_str": _nonce(), "result_code": "SUCCESS"} | result
        self._answer_v2(handler, answer, sign_type)

    def _answer_v2(self, handler: _Handler, fields: dict[str, Any], sign_type: str | None) -> None:
        fields = {k: v for k, v in fields.items() if v not in (None, "")}
        if sign_type:
            key = "forged" if self.forge_answers else self.api_key
            fields["sign"] = v2_sign(fields, key, sign_type)
        self._send(handler, 200, v2_xml(fields).encode(), {"Content-Type": "text/xml; charset=utf-8"})

    def _v2_unifiedorder(self, data: dict[str, str]) -> dict[str, Any]:
        for name in ("body", "out_trade_no", "total_fee", "spbill_create_ip", "notify_url", "openid"):
            if not data.get(name):
                raise _ApiError(400, "PARAM_ERROR", f"{name} is required")
        if (
            data.get("trade_type") != "JSAPI"
            or not data["total_fee"].isdigit()
            or int(data["total_fee"]) <= 0
        ):
            raise _ApiError(400, "PARAM_ERROR", "trade_type or total_fee is not valid")
        params = {k: data.get(k) for k in ("body", "total_fee", "openid", "notify_url", "attach")}
        prepay_id = self._open_trade(
            data["out_trade_no"], int(data["total_fee"]), data["openid"], data, params
        )
        return {"trade_type": "JSAPI", "prepay_id": prepay_id}

    def _v2_orderquery(self, data: dict[str, str]) -> dict[str, Any]:
        trade = self.trades.get(data.get("out_trade_no", ""))
        if trade is None:
            raise _ApiError(200, "ORDERNOTEXIST", "此交易订单号不存在")
        answer: dict[str, Any] = {
            "out_trade_no": trade.out_trade_no,
            "trade_state": trade.state,
            "trade_state_desc": {"NOTPAY": "订单未支付", "CLOSED": "订单已关闭"}.get(trade.state, "支付成功"),
            "attach": trade.attach,
        }
        if trade.success_time:
            answer |= {
                "openid": trade.payer_openid,
                "trade_type": "JSAPI",
                "bank_type": "OTHERS",
                "total_fee": trade.total,
                "cash_fee": trade.total,
                "fee_type": "CNY",
                "transaction_id": trade.transaction_id,
                "time_end": trade.success_time.strftime("%Y%m%d%H%M%S"),
            }
        return answer

    def _v2_closeorder(self, data: dict[str, str]) -> dict[str, Any]:
        trade = self.trades.get(data.get("out_trade_no", ""))
        if trade is None:
            raise _ApiError(200, "ORDERNOTEXIST", "此交易订单号不存在")
        if trade.state in ("SUCCESS", "REFUND"):
            raise _ApiError(200, "ORDERPAID", "订单已支付")
        trade.state = "CLOSED"
        return {}

    def _v2_refund(self, data: dict[str, str]) -> dict[str, Any]:
        try:
            refund_fen, total_fen = int(data.get("refund_fee", "")), int(data.get("total_fee", ""))
        except ValueError:
            raise _ApiError(200, "PARAM_ERROR", "refund_fee and total_fee are required") from None
        try:
            refund = self._apply_refund(
                out_trade_no=data.get("out_trade_no", ""),
                out_refund_no=data.get("out_refund_no", ""),
                refund_fen=refund_fen,
                total_fen=total_fen,
                reason=data.get("refund_desc", ""),
                notify_url=data.get("notify_url", ""),
                transaction_id=data.get("transaction_id", ""),
            )
        except _ApiError as error:
            codes = {"RESOURCE_NOT_EXISTS": "ORDERNOTEXIST", "NOT_ENOUGH": "NOTENOUGH"}
            raise _ApiError(200, codes.get(error.code, error.code), error.message) from None
        trade = self._refunded(refund)
        return {
            "transaction_id": trade.transaction_id,
            "out_trade_no": trade.out_trade_no,
            "out_refund_no": refund.out_refund_no,
            "refund_id": refund.refund_id,
            "refund_fee": refund.refund,
            "total_fee": refund.total,
            "cash_fee": refund.total,
        }

    def _v2_refundquery(self, data: dict[str, str]) -> dict[str, Any]:
        refund = self.refunds.get(data.get("out_refund_no", ""))
        if refund is None:
            raise _ApiError(200, "REFUNDNOTEXIST", "退款订单查询失败")
        trade = self._refunded(refund)
        status = {"SUCCESS": "SUCCESS", "CLOSED": "REFUNDCLOSE", "ABNORMAL": "CHANGE"}.get(
            refund.status, "PROCESSING"
        )
        return {
            "transaction_id": trade.transaction_id,
            "out_trade_no": trade.out_trade_no,
            "total_fee": trade.total,
            "cash_fee": trade.total,
            "refund_count": 1,
            "out_refund_no_0": refund.out_refund_no,
            "refund_id_0": refund.refund_id,
            "refund_channel_0": "ORIGINAL",
            "refund_fee_0": refund.refund,
            "refund_status_0": status,
            "refund_recv_accout_0": "支付用户零钱",
            "refund_success_time_0": refund.success_time.strftime("%Y-%m-%d %H:%M:%S")
            if refund.success_time
            else None,
        }

    def _v2_downloadbill(self, data: dict[str, str]) -> bytes | dict[str, Any]:
        day = dt.datetime.strptime(data.get("bill_date", ""), "%Y%m%d").date()
        if not self._has_bill(day):
            raise _ApiError(200, "20002", "No Bill Exist")
        return self.bill_csv(day)
