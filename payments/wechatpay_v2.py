"""WeChat Pay APIv2, JSAPI (mini-program) payments, over `wechatpy.pay.WeChatPay`.

APIv2 speaks XML; each message carries a `sign` over its sorted non-empty fields and the API key,
MD5 or HMAC-SHA256 (`sign_type`). wechatpy builds and signs the requests and turns a FAIL answer
into an exception; this module sends every request with the configured `sign_type`, verifies the
`sign` of every answer and of payment notifications (wechatpy checks MD5 only), checks appid and
mch_id, and splits failures into `PaymentError` and `GatewayError`. Refund notifications carry no
`sign`: their `req_info` is AES-256-ECB encrypted with MD5(API key), which wechatpy decrypts.
APIv2 notifications carry no timestamp, so no freshness window applies; a replay is harmless
because the order service handles each `transaction_id` once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import requests
import xmltodict
from wechatpy.exceptions import InvalidAppIdException, InvalidMchIdException, WeChatPayException
from wechatpy.pay import WeChatPay
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac

from payments.errors import AlreadyPaid, GatewayError, NotFoundAtProvider, PaymentError
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
from payments.protocol import BEIJING, nonce, parse_compact_beijing, signs_match, xml_ack

DEFAULT_API_BASE = "https://api.mch.weixin.qq.com"
SIGN_TYPES = ("MD5", "HMAC-SHA256")
_RETRYABLE_CODES = {"SYSTEMERROR", "BIZERR_NEED_RETRY", "FREQUENCY_LIMITED"}
_NOT_FOUND_CODES = {"ORDERNOTEXIST", "REFUNDNOTEXIST"}
_REFUND_STATUS = {
    "SUCCESS": RefundStatus.SUCCESS,
    "PROCESSING": RefundStatus.PROCESSING,
    "REFUNDCLOSE": RefundStatus.CLOSED,
    "CHANGE": RefundStatus.ABNORMAL,
}


def sign(fields: Mapping[str, Any], api_key: str, sign_type: str) -> str:
    """APIv2's `sign` of a message (its `sign` field excluded by the caller)."""
    if sign_type == "HMAC-SHA256":
        return calculate_signature_hmac(dict(fields), api_key)
    if sign_type == "MD5":
        return calculate_signature(dict(fields), api_key)
    raise PaymentError(f"unknown sign_type {sign_type!r}")


class WeChatPayV2:
    """The `PaymentProvider` for WeChat Pay APIv2."""

    name = "wechatpay_v2"

    def __init__(
        self,
        *,
        appid: str,
        mchid: str,
        api_key: str,
        sign_type: str = "MD5",
        api_base: str = DEFAULT_API_BASE,
        cert_path: str = "",
        key_path: str = "",
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if sign_type not in SIGN_TYPES:
            raise ValueError(f"sign_type must be one of {SIGN_TYPES}, got {sign_type!r}")
        if not api_key:
            raise ValueError("the APIv2 key is required")
        self.appid = appid
        self.mchid = mchid
        self.sign_type = sign_type
        self._api_key = api_key
        self._has_cert = bool(cert_path and key_path)
        self._clock = clock
        self._client = WeChatPay(
            appid=appid,
            api_key=api_key,
            mch_id=mchid,
            mch_cert=cert_path or None,
            mch_key=key_path or None,
            timeout=timeout_s,
        )
        self._client.API_BASE_URL = api_base.rstrip("/") + "/"

    def _sign(self, fields: Mapping[str, Any], sign_type: str | None = None) -> str:
        return sign(fields, self._api_key, sign_type or self.sign_type)

    def _post(self, endpoint: str, **fields: Any) -> Any:
        """One API call; `fields` are the message (None values are left out)."""
        data = {"appid": self.appid, "sign_type": self.sign_type, **fields}
        return self._guard(lambda: self._client.post(endpoint, data=data))

    def _guard(self, call: Callable[[], Any]) -> Any:
        """Run a wechatpy call, sort its failures, verify the answer's sign."""
        try:
            answer = call()
        except requests.RequestException as exc:
            raise GatewayError(f"WeChat Pay is unreachable: {exc}") from exc
        except WeChatPayException as exc:
            raise _error_from(exc) from exc
        if isinstance(answer, dict):
            self._check_answer_sign(answer)
        return answer

    def _check_answer_sign(self, answer: Mapping[str, Any]) -> None:
        fields = {k: v for k, v in answer.items() if k != "sign"}
        if not signs_match(str(answer.get("sign", "")), self._sign(fields)):
            raise GatewayError("WeChat Pay's answer has a wrong sign")

    # -- payments --

    def prepay(self, request: PrepayRequest) -> PrepayResult:
        now = datetime.fromtimestamp(self._clock(), BEIJING)
        answer = self._guard(
            lambda: self._client.order.create(
                trade_type="JSAPI",
                body=request.description,
                total_fee=request.amount_fen,
                notify_url=request.notify_url,
                client_ip=request.payer_client_ip or "127.0.0.1",  # else wechatpy looks up our own address
                user_id=request.payer_openid,
                out_trade_no=request.out_trade_no,
                attach=request.attach or None,
                time_start=now,
                time_expire=request.time_expire.astimezone(BEIJING),
                sign_type=self.sign_type,
            ),
        )
        prepay_id = answer.get("prepay_id")
        if not prepay_id:
            raise GatewayError("WeChat Pay's unified order answer has no prepay_id")
        params = {
            "timeStamp": str(int(self._clock())),
            "nonceStr": nonce(),
            "package": f"prepay_id={prepay_id}",
            "signType": self.sign_type,
        }
        params["paySign"] = self._sign({"appId": self.appid, **params})
        return PrepayResult(prepay_id=prepay_id, request_payment=params)

    def query(self, out_trade_no: str) -> TradeQuery:
        answer = self._post("pay/orderquery", out_trade_no=out_trade_no)
        try:
            return TradeQuery(
                out_trade_no=answer["out_trade_no"],
                trade_state=TradeState(answer["trade_state"]),
                transaction_id=answer.get("transaction_id") or "",
                amount_fen=int(answer["total_fee"]) if answer.get("total_fee") else None,
                payer_openid=answer.get("openid") or "",
                success_time=parse_compact_beijing(answer.get("time_end")),
                trade_state_desc=answer.get("trade_state_desc") or "",
                raw=dict(answer),
            )
        except (KeyError, ValueError) as exc:
            raise GatewayError(f"WeChat Pay's trade answer is incomplete: {exc!r}") from exc

    def close(self, out_trade_no: str) -> None:
        self._post("pay/closeorder", out_trade_no=out_trade_no)

    def refund(self, request: RefundRequest) -> RefundResult:
        if not self._has_cert:
            raise PaymentError(
                "APIv2 refunds need the merchant API certificate: "
                "set WECHATPAY_CERT_PATH and WECHATPAY_PRIVATE_KEY_PATH"
            )
        answer = self._post(
            "secapi/pay/refund",
            transaction_id=request.transaction_id or None,  # names one payment of the order
            out_trade_no=None if request.transaction_id else request.out_trade_no,
            out_refund_no=request.out_refund_no,
            total_fee=request.total_fen,
            refund_fee=request.refund_fen,
            refund_fee_type="CNY",
            refund_desc=request.reason or None,
            notify_url=request.notify_url,
        )
        try:
            return RefundResult(
                out_refund_no=answer["out_refund_no"],
                refund_id=answer["refund_id"],
                status=RefundStatus.PROCESSING,  # accepted; the notification or a query says how it ends
                refund_fen=int(answer["refund_fee"]),
                raw=dict(answer),
            )
        except (KeyError, ValueError) as exc:
            raise GatewayError(f"WeChat Pay's refund answer is incomplete: {exc!r}") from exc

    def query_refund(self, out_refund_no: str) -> RefundResult:
        answer = self._post("pay/refundquery", out_refund_no=out_refund_no)
        try:
            # The answer lists refunds as out_refund_no_0, refund_id_0, ...; pick ours.
            for n in range(int(answer.get("refund_count") or 0)):
                if answer.get(f"out_refund_no_{n}") == out_refund_no:
                    return RefundResult(
                        out_refund_no=out_refund_no,
                        refund_id=answer[f"refund_id_{n}"],
                        status=_REFUND_STATUS[answer[f"refund_status_{n}"]],
                        refund_fen=int(answer[f"refund_fee_{n}"]),
                        success_time=parse_compact_beijing(answer.get(f"refund_success_time_{n}")),
                        raw=dict(answer),
                    )
        except (KeyError, ValueError) as exc:
            raise GatewayError(f"WeChat Pay's refund answer is incomplete: {exc!r}") from exc
        raise NotFoundAtProvider(f"WeChat Pay lists no refund {out_refund_no}", code="REFUNDNOTEXIST")

    def trade_bill(self, bill_date: date) -> bytes:
        answer = self._post("pay/downloadbill", bill_date=bill_date.strftime("%Y%m%d"), bill_type="ALL")
        if not isinstance(answer, str):
            raise GatewayError("WeChat Pay answered the bill download with XML instead of a bill")
        return answer.encode("utf-8")

    # -- callbacks --

    def parse_payment_callback(self, headers: Mapping[str, str], body: bytes) -> PaymentNotification:
        data = _parse_xml(body)
        given = data.pop("sign", "")
        sign_type = data.get("sign_type") or self.sign_type
        if sign_type not in SIGN_TYPES:
            raise PaymentError(f"the notification's sign_type {sign_type!r} is unknown")
        if not given or not signs_match(given, self._sign(data, sign_type)):
            raise PaymentError("the notification's sign does not verify")
        if data.get("return_code") != "SUCCESS":
            raise PaymentError(f"the notification reports a failure: {data.get('return_msg')!r}")
        if data.get("appid") != self.appid:
            raise PaymentError("the notification is for another appid")
        if data.get("mch_id") != self.mchid:
            raise PaymentError("the notification is for another mch_id")
        try:
            return PaymentNotification(
                out_trade_no=data["out_trade_no"],
                transaction_id=data["transaction_id"],
                trade_state=TradeState.SUCCESS
                if data.get("result_code") == "SUCCESS"
                else TradeState.PAYERROR,
                amount_fen=int(data["total_fee"]),
                appid=data["appid"],
                mchid=data["mch_id"],
                payer_openid=data.get("openid") or "",
                success_time=parse_compact_beijing(data.get("time_end")),
                attach=data.get("attach") or "",
                raw={**data, "sign": given},
            )
        except (KeyError, ValueError) as exc:
            raise PaymentError(f"the payment notification is incomplete: {exc!r}") from exc

    def parse_refund_callback(self, headers: Mapping[str, str], body: bytes) -> RefundNotification:
        outer = _parse_xml(body)
        if outer.get("return_code") != "SUCCESS":
            raise PaymentError(f"the notification reports a failure: {outer.get('return_msg')!r}")
        try:
            info = self._client.parse_refund_notify_result(body)
        except InvalidAppIdException:
            raise PaymentError("the notification is for another appid") from None
        except InvalidMchIdException:
            raise PaymentError("the notification is for another mch_id") from None
        except Exception as exc:  # a wrong key gives garbage: bad padding, bad UTF-8 or bad XML
            raise PaymentError(f"the refund notification does not decrypt: {exc!r}") from exc
        try:
            return RefundNotification(
                out_trade_no=info["out_trade_no"],
                out_refund_no=info["out_refund_no"],
                transaction_id=info["transaction_id"],
                refund_id=info["refund_id"],
                status=_REFUND_STATUS[info["refund_status"]],
                refund_fen=int(info["refund_fee"]),
                total_fen=int(info["total_fee"]),
                mchid=outer["mch_id"],
                success_time=parse_compact_beijing(info.get("success_time")),
                raw=dict(info),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PaymentError(f"the refund notification is incomplete: {exc!r}") from exc

    def callback_ack(self, ok: bool, message: str = "") -> CallbackAck:
        return xml_ack(ok, message)


def _parse_xml(body: bytes) -> dict[str, str]:
    try:
        parsed = xmltodict.parse(body)  # entities are disabled by default
    except Exception as exc:
        raise PaymentError("the notification is not XML") from exc
    data = (parsed or {}).get("xml")
    if not isinstance(data, dict) or not all(isinstance(v, str | None) for v in data.values()):
        raise PaymentError("the notification is not a flat <xml> message")
    return {k: v or "" for k, v in data.items()}


def _error_from(exc: WeChatPayException) -> Exception:
    if exc.return_code is None:  # an HTTP error status
        status = exc.response.status_code if exc.response is not None else 0
        text = f"WeChat Pay answered HTTP {status}"
        return GatewayError(text) if status >= 500 or status in (0, 429) else PaymentError(text)
    if exc.return_code != "SUCCESS":
        message = exc.return_msg or ""
        if message == "No Bill Exist":
            return NotFoundAtProvider(f"WeChat Pay has no bill: {message}", code="NO_BILL")
        return PaymentError(f"WeChat Pay refused the message: {message}", code=exc.return_code or "")
    code = exc.errcode or ""
    text = f"WeChat Pay answered {code}: {exc.errmsg or ''}"
    if code in _RETRYABLE_CODES:
        return GatewayError(text, code=code)
    if code in _NOT_FOUND_CODES:
        return NotFoundAtProvider(text, code=code)
    if code == "ORDERPAID":
        return AlreadyPaid(text, code=code)
    return PaymentError(text, code=code)
