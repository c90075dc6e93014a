"""The sandbox provider of the embedded demo: no network, no money, nothing to verify.

`prepay` returns `wx.requestPayment` parameters that look real but that WeChat would refuse; the
demo pays instead through a development-only endpoint that calls `complete(out_trade_no,
amount_fen)` and feeds the `PaymentNotification` it returns to the order service, just as a real
callback would. Refunds succeed at once. Trades live in this process's memory, so one provider
object must serve the whole (single-process) demo. Never allowed in production.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from payments.errors import AlreadyPaid, NotFoundAtProvider, PaymentError
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
from payments.protocol import BEIJING, json_ack, nonce, utc_now

SANDBOX_MCHID = "sandbox"


@dataclass
class _Trade:
    request: PrepayRequest
    prepay_id: str
    state: TradeState = TradeState.NOTPAY
    transaction_id: str = ""
    success_time: datetime | None = None
    refunds: dict[str, RefundResult] = field(default_factory=dict)


def _essentials(request: PrepayRequest) -> tuple[object, ...]:
    return (request.amount_fen, request.description, request.payer_openid, request.notify_url, request.attach)


class SandboxProvider:
    """The `PaymentProvider` of the embedded demo."""

    name = "sandbox"

    def __init__(self, *, appid: str = "", mchid: str = SANDBOX_MCHID) -> None:
        self.appid = appid or "sandbox"
        self.mchid = mchid
        self._trades: dict[str, _Trade] = {}
        self._lock = threading.Lock()

    def _trade(self, out_trade_no: str) -> _Trade:
        trade = self._trades.get(out_trade_no)
        if trade is None:
            raise NotFoundAtProvider(f"the sandbox has no trade {out_trade_no}", code="ORDER_NOT_EXIST")
        return trade

    def prepay(self, request: PrepayRequest) -> PrepayResult:
        with self._lock:
            trade = self._trades.get(request.out_trade_no)
            if trade is not None and trade.state is not TradeState.NOTPAY:
                raise AlreadyPaid(f"trade {request.out_trade_no} is {trade.state}", code="ORDERPAID")
            if trade is not None and _essentials(trade.request) != _essentials(request):
                # As WeChat Pay: one out_trade_no, one set of parameters.
                raise PaymentError(f"out_trade_no {request.out_trade_no} was used with other parameters")
            if trade is None:
                trade = _Trade(request=request, prepay_id="sandbox_" + uuid.uuid4().hex)
                self._trades[request.out_trade_no] = trade
        params = {
            "timeStamp": str(int(utc_now().timestamp())),
            "nonceStr": nonce(),
            "package": f"prepay_id={trade.prepay_id}",
            "signType": "RSA",
            "paySign": "sandbox",
        }
        return PrepayResult(prepay_id=trade.prepay_id, request_payment=params)

    def complete(self, out_trade_no: str, amount_fen: int) -> PaymentNotification:
        """Pay a prepaid trade and return the notification a real provider would send.

        As at WeChat Pay, a trade is paid only for the amount it was opened with: another amount
        is refused and leaves the trade unpaid.
        """
        with self._lock:
            trade = self._trade(out_trade_no)
            if amount_fen != trade.request.amount_fen:
                raise PaymentError(
                    f"trade {out_trade_no} is for {trade.request.amount_fen} fen, not {amount_fen}",
                    code="PARAM_ERROR",
                )
            if trade.state is TradeState.NOTPAY:
                trade.state = TradeState.SUCCESS
                trade.transaction_id = "sandbox_" + uuid.uuid4().hex
                trade.success_time = utc_now()
            elif trade.state is not TradeState.SUCCESS:
                raise PaymentError(f"trade {out_trade_no} is {trade.state}")
            return PaymentNotification(
                out_trade_no=out_trade_no,
                transaction_id=trade.transaction_id,
                trade_state=TradeState.SUCCESS,
                amount_fen=amount_fen,
                appid=self.appid,
                mchid=self.mchid,
                payer_openid=trade.request.payer_openid,
                success_time=trade.success_time,
                attach=trade.request.attach,
                raw={"sandbox": True},
            )

    def parse_payment_callback(self, headers: Mapping[str, str], body: bytes) -> PaymentNotification:
        """Accept `{"out_trade_no": ..., "amount_fen": ...}` and complete that trade."""
        try:
            data = json.loads(body)
            return self.complete(str(data["out_trade_no"]), int(data["amount_fen"]))
        # RecursionError: a body nested too deep for json (the callback is not JSON-typed, so the
        # app's JSON guard does not see it); OverflowError: an amount of 1e400 (infinity).
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
            raise PaymentError(f"the sandbox callback is not valid: {exc!r}") from exc

    def parse_refund_callback(self, headers: Mapping[str, str], body: bytes) -> RefundNotification:
        raise PaymentError("the sandbox sends no refund callbacks: its refunds succeed at once")

    def callback_ack(self, ok: bool, message: str = "") -> CallbackAck:
        return json_ack(ok, message)

    def query(self, out_trade_no: str) -> TradeQuery:
        with self._lock:
            trade = self._trade(out_trade_no)
            return TradeQuery(
                out_trade_no=out_trade_no,
                trade_state=trade.state,
                transaction_id=trade.transaction_id,
                amount_fen=trade.request.amount_fen,
                payer_openid=trade.request.payer_openid,
                success_time=trade.success_time,
            )

    def close(self, out_trade_no: str) -> None:
        with self._lock:
            trade = self._trade(out_trade_no)
            if trade.state in (TradeState.SUCCESS, TradeState.REFUND):
                raise AlreadyPaid(f"trade {out_trade_no} is paid", code="ORDERPAID")
            trade.state = TradeState.CLOSED

    def refund(self, request: RefundRequest) -> RefundResult:
        with self._lock:
            trade = self._trade(request.out_trade_no)
            for existing in self._trades.values():
                if request.out_refund_no in existing.refunds:
                    return existing.refunds[request.out_refund_no]
            if trade.state not in (TradeState.SUCCESS, TradeState.REFUND):
                raise PaymentError(f"trade {request.out_trade_no} is not paid", code="INVALID_REQUEST")
            refunded = sum(r.refund_fen or 0 for r in trade.refunds.values())
            if (
                request.total_fen != trade.request.amount_fen
                or refunded + request.refund_fen > request.total_fen
            ):
                raise PaymentError("the refund exceeds what was paid", code="NOT_ENOUGH")
            result = RefundResult(
                out_refund_no=request.out_refund_no,
                refund_id="sandbox_" + uuid.uuid4().hex,
                status=RefundStatus.SUCCESS,
                refund_fen=request.refund_fen,
                success_time=utc_now(),
            )
            trade.refunds[request.out_refund_no] = result
            trade.state = TradeState.REFUND
            return result

    def query_refund(self, out_refund_no: str) -> RefundResult:
        with self._lock:
            for trade in self._trades.values():
                if out_refund_no in trade.refunds:
                    return trade.refunds[out_refund_no]
        raise NotFoundAtProvider(f"the sandbox has no refund {out_refund_no}", code="RESOURCE_NOT_EXISTS")

    def trade_bill(self, bill_date: date) -> bytes:
        """The day's paid trades (Beijing time) in a CSV shaped like WeChat Pay's bill."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(
            [
                "交易时间",
                "公众账号ID",
                "商户号",
                "微信订单号",
                "商户订单号",
                "用户标识",
                "交易状态",
                "应结订单金额",
            ]
        )
        with self._lock:
            for out_trade_no, trade in self._trades.items():
                paid_at = trade.success_time
                if paid_at is None or paid_at.astimezone(BEIJING).date() != bill_date:
                    continue
                writer.writerow(
                    [
                        "`" + paid_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                        "`" + self.appid,
                        "`" + self.mchid,
                        "`" + trade.transaction_id,
                        "`" + out_trade_no,
                        "`" + trade.request.payer_openid,
                        "`SUCCESS",
                        "`" + f"{trade.request.amount_fen // 100}.{trade.request.amount_fen % 100:02d}",
                    ]
                )
        return out.getvalue().encode("utf-8")
