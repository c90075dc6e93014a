"""The sandbox provider of the embedded demo: prepay, complete, refund, and never in production."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from config import ConfigurationError, load_settings
from payments import (
    AlreadyPaid,
    NotFoundAtProvider,
    PaymentError,
    PrepayRequest,
    RefundRequest,
    RefundStatus,
    TradeState,
    build_provider,
)
from payments.protocol import BEIJING
from payments.sandbox import SandboxProvider


def prepay_request(out_trade_no: str = "ORDER0001", amount_fen: int = 500) -> PrepayRequest:
    return PrepayRequest(
        out_trade_no=out_trade_no,
        description="一元碳汇 50 kg",
        amount_fen=amount_fen,
        payer_openid="openid-1",
        time_expire=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15),
        notify_url="http://127.0.0.1:5000/api/v1/payments/notify",
    )


@pytest.fixture
def sandbox() -> SandboxProvider:
    return build_provider(load_settings("default", environ={}))


def test_the_embedded_default_builds_the_sandbox(sandbox):
    assert isinstance(sandbox, SandboxProvider)
    assert sandbox.name == "sandbox"


def test_prepay_gives_request_payment_parameters(sandbox):
    result = sandbox.prepay(prepay_request())
    params = result.request_payment
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["package"] == f"prepay_id={result.prepay_id}"
    assert sandbox.prepay(prepay_request()).prepay_id == result.prepay_id


def test_prepay_again_with_other_parameters_is_refused_as_wechat_pay_would(sandbox):
    sandbox.prepay(prepay_request(amount_fen=500))
    with pytest.raises(PaymentError):
        sandbox.prepay(prepay_request(amount_fen=100))


def test_complete_pays_the_trade_and_builds_its_notification(sandbox):
    sandbox.prepay(prepay_request())
    notification = sandbox.complete("ORDER0001", 500)
    assert notification.paid
    assert (notification.out_trade_no, notification.amount_fen, notification.payer_openid) == (
        "ORDER0001",
        500,
        "openid-1",
    )
    assert notification.transaction_id
    assert sandbox.complete("ORDER0001", 500).transaction_id == notification.transaction_id
    queried = sandbox.query("ORDER0001")
    assert (queried.trade_state, queried.transaction_id) == (TradeState.SUCCESS, notification.transaction_id)
    with pytest.raises(AlreadyPaid):
        sandbox.close("ORDER0001")


def test_the_sandbox_callback_body_completes_a_trade(sandbox):
    sandbox.prepay(prepay_request())
    body = json.dumps({"out_trade_no": "ORDER0001", "amount_fen": 500}).encode()
    assert sandbox.parse_payment_callback({}, body).paid
    with pytest.raises(PaymentError):
        sandbox.parse_payment_callback({}, b"{}")


def test_a_closed_trade_cannot_be_completed(sandbox):
    sandbox.prepay(prepay_request())
    sandbox.close("ORDER0001")
    with pytest.raises(PaymentError):
        sandbox.complete("ORDER0001", 500)
    with pytest.raises(NotFoundAtProvider):
        sandbox.complete("UNKNOWN01", 500)


def test_refunds_succeed_at_once_once_per_refund_number(sandbox):
    sandbox.prepay(prepay_request())
    sandbox.complete("ORDER0001", 500)
    request = RefundRequest("ORDER0001", "REFUND0001", 200, 500, "用户取消", "http://127.0.0.1/refund")
    refund = sandbox.refund(request)
    assert refund.status is RefundStatus.SUCCESS
    assert sandbox.refund(request) == refund
    assert sandbox.query_refund("REFUND0001") == refund
    assert sandbox.query("ORDER0001").trade_state is TradeState.REFUND
    with pytest.raises(PaymentError):
        sandbox.refund(RefundRequest("ORDER0001", "REFUND0002", 400, 500, "", "http://127.0.0.1/refund"))


def test_trade_bill_lists_the_days_paid_trades(sandbox):
    sandbox.prepay(prepay_request())
    sandbox.prepay(prepay_request("ORDER0002"))
    sandbox.complete("ORDER0001", 500)
    bill = sandbox.trade_bill(dt.datetime.now(BEIJING).date()).decode("utf-8")
    assert "`ORDER0001" in bill and "`5.00" in bill
    assert "ORDER0002" not in bill


def test_sandbox_is_refused_in_production():
    with pytest.raises(ConfigurationError, match="sandbox"):
        build_provider({"CARBON_PROFILE": "production", "PAYMENT_PROVIDER": "sandbox"})
