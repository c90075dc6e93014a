"""WeChat Pay APIv2 through the real `wechatpy.pay` against the loopback fake."""

from __future__ import annotations

import datetime as dt

import pytest

from payments import (
    AlreadyPaid,
    GatewayError,
    NotFoundAtProvider,
    PaymentError,
    PrepayRequest,
    RefundRequest,
    RefundStatus,
    TradeState,
    build_provider,
)
from tests.fakes.wechatpay_server import v2_parse, v2_sign

NOTIFY_URL = "https://carbon.example.com/api/v1/payments/wechatpay/notify"


def prepay_request(out_trade_no: str = "ORDER0001", amount_fen: int = 100) -> PrepayRequest:
    return PrepayRequest(
        out_trade_no=out_trade_no,
        description="一元碳汇 10 kg",
        amount_fen=amount_fen,
        payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        time_expire=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15),
        notify_url=NOTIFY_URL,
        payer_client_ip="203.0.113.7",
    )


def refund_request(out_refund_no: str = "REFUND0001", refund_fen: int = 40) -> RefundRequest:
    return RefundRequest(
        out_trade_no="ORDER0001",
        out_refund_no=out_refund_no,
        refund_fen=refund_fen,
        total_fen=100,
        reason="用户取消",
        notify_url=NOTIFY_URL + "/refund",
    )


@pytest.fixture(params=["MD5", "HMAC-SHA256"])
def sign_type(request):
    return request.param


@pytest.fixture
def provider(fake_wechatpay, tmp_path, sign_type):
    return build_provider(fake_wechatpay.settings(tmp_path, "wechatpay_v2", WECHATPAY_SIGN_TYPE=sign_type))


@pytest.fixture
def paid(provider, fake_wechatpay):
    provider.prepay(prepay_request())
    return fake_wechatpay.pay("ORDER0001")


def test_unified_order_gives_request_payment_signed_with_the_api_key(provider, fake_wechatpay, sign_type):
    result = provider.prepay(prepay_request(amount_fen=300))

    trade = fake_wechatpay.trades["ORDER0001"]
    assert (trade.total, trade.payer_openid) == (300, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    params = result.request_payment
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["package"] == f"prepay_id={trade.prepay_id}"
    assert params["signType"] == sign_type
    signed = {"appId": fake_wechatpay.appid, **{k: v for k, v in params.items() if k != "paySign"}}
    assert params["paySign"] == v2_sign(signed, fake_wechatpay.api_key, sign_type)


def test_every_request_is_signed_with_the_configured_sign_type(provider, fake_wechatpay, sign_type):
    request = prepay_request()
    provider.prepay(request)
    provider.query("ORDER0001")
    provider.close("ORDER0001")
    # The fake refuses a message whose sign does not match its sign_type, so each one was signed so.
    assert [m.get("sign_type") for m in fake_wechatpay.v2_messages] == [sign_type] * 3
    expected_expiry = request.time_expire.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert fake_wechatpay.v2_messages[0]["time_expire"] == expected_expiry.strftime("%Y%m%d%H%M%S")
    assert fake_wechatpay.v2_messages[0]["spbill_create_ip"] == "203.0.113.7"


def test_payment_notification_is_verified(provider, fake_wechatpay, paid, sign_type):
    notification = provider.parse_payment_callback(
        {}, fake_wechatpay.payment_notify_v2("ORDER0001", sign_type=sign_type)
    )
    assert notification.paid
    assert (notification.out_trade_no, notification.transaction_id) == ("ORDER0001", paid.transaction_id)
    assert notification.amount_fen == 100
    assert notification.success_time == paid.success_time
    assert notification.payer_openid == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


def test_notification_names_its_own_sign_type(fake_wechatpay, tmp_path, paid):
    md5_provider = build_provider(
        fake_wechatpay.settings(tmp_path, "wechatpay_v2", WECHATPAY_SIGN_TYPE="MD5")
    )
    body = fake_wechatpay.payment_notify_v2("ORDER0001", sign_type="HMAC-SHA256", include_sign_type=True)
    assert md5_provider.parse_payment_callback({}, body).paid


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ({"forge_sign": True}, "sign"),
        ({"appid": "wx0000000000000000"}, "appid"),
        ({"mchid": "1900000999"}, "mch_id"),
    ],
)
def test_a_spoiled_payment_notification_is_refused(provider, fake_wechatpay, paid, sign_type, spoil, reason):
    body = fake_wechatpay.payment_notify_v2("ORDER0001", sign_type=sign_type, **spoil)
    with pytest.raises(PaymentError, match=reason):
        provider.parse_payment_callback({}, body)


def test_a_notification_with_a_changed_amount_fails_its_sign(provider, fake_wechatpay, paid, sign_type):
    body = fake_wechatpay.payment_notify_v2("ORDER0001", sign_type=sign_type)
    with pytest.raises(PaymentError, match="sign"):
        provider.parse_payment_callback(
            {}, body.replace(b"<total_fee><![CDATA[100]]>", b"<total_fee><![CDATA[1]]>")
        )


@pytest.mark.parametrize("body", [b"", b"not xml", b"<xml><a><b>1</b></a></xml>"])
def test_garbage_is_not_a_notification(provider, body):
    with pytest.raises(PaymentError):
        provider.parse_payment_callback({}, body)


def test_query_and_close(provider, fake_wechatpay):
    provider.prepay(prepay_request())
    assert provider.query("ORDER0001").trade_state is TradeState.NOTPAY
    provider.close("ORDER0001")
    assert provider.query("ORDER0001").trade_state is TradeState.CLOSED

    provider.prepay(prepay_request("ORDER0002"))
    trade = fake_wechatpay.pay("ORDER0002")
    queried = provider.query("ORDER0002")
    assert (queried.trade_state, queried.transaction_id, queried.amount_fen) == (
        TradeState.SUCCESS,
        trade.transaction_id,
        100,
    )
    assert queried.success_time == trade.success_time
    with pytest.raises(AlreadyPaid):
        provider.close("ORDER0002")
    with pytest.raises(NotFoundAtProvider):
        provider.query("NEVER0001")


def test_refund_query_and_notification(provider, fake_wechatpay, paid):
    applied = provider.refund(refund_request())
    assert (applied.status, applied.refund_fen) == (RefundStatus.PROCESSING, 40)
    assert provider.refund(refund_request()).refund_id == applied.refund_id

    fake_wechatpay.settle_refund("REFUND0001")
    queried = provider.query_refund("REFUND0001")
    assert (queried.status, queried.refund_id) == (RefundStatus.SUCCESS, applied.refund_id)

    notification = provider.parse_refund_callback({}, fake_wechatpay.refund_notify_v2("REFUND0001"))
    assert notification.status is RefundStatus.SUCCESS
    assert (notification.refund_fen, notification.total_fen, notification.refund_id) == (
        40,
        100,
        applied.refund_id,
    )
    assert notification.transaction_id == paid.transaction_id


def test_refund_beyond_the_paid_amount_is_refused(provider, paid):
    provider.refund(refund_request("REFUND0001", 60))
    with pytest.raises(PaymentError) as info:
        provider.refund(refund_request("REFUND0002", 60))
    assert info.value.code == "NOTENOUGH"


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ({"api_key": "another-api-key-of-thirty-two-by"}, "decrypt"),
        ({"appid": "wx0000000000000000"}, "appid"),
        ({"mchid": "1900000999"}, "mch_id"),
    ],
)
def test_a_spoiled_refund_notification_is_refused(provider, fake_wechatpay, paid, spoil, reason):
    provider.refund(refund_request())
    fake_wechatpay.settle_refund("REFUND0001")
    with pytest.raises(PaymentError, match=reason):
        provider.parse_refund_callback({}, fake_wechatpay.refund_notify_v2("REFUND0001", **spoil))


def test_refund_needs_the_merchant_certificate(fake_wechatpay, tmp_path, paid):
    settings = fake_wechatpay.settings(tmp_path, "wechatpay_v2", WECHATPAY_CERT_PATH="")
    with pytest.raises(PaymentError, match="WECHATPAY_CERT_PATH"):
        build_provider(settings).refund(refund_request())
    assert fake_wechatpay.refunds == {}


def test_download_bill(provider, paid):
    bill = provider.trade_bill(paid.success_time.date()).decode("utf-8")
    assert bill.startswith("交易时间,公众账号ID")
    assert "`ORDER0001" in bill
    with pytest.raises(NotFoundAtProvider):
        provider.trade_bill(paid.success_time.date() - dt.timedelta(days=3))


def test_5xx_is_retried_and_then_gives_gateway_error(provider, fake_wechatpay):
    provider.prepay(prepay_request())
    fake_wechatpay.fail_next(2)
    assert provider.query("ORDER0001").trade_state is TradeState.NOTPAY
    fake_wechatpay.fail_next(10)
    with pytest.raises(GatewayError):
        provider.query("ORDER0001")
    assert fake_wechatpay.count("/pay/orderquery") == 6


def test_an_answer_with_a_wrong_sign_is_not_trusted(provider, fake_wechatpay):
    fake_wechatpay.forge_answers = True
    with pytest.raises(GatewayError, match="sign"):
        provider.prepay(prepay_request())


def test_a_wrong_api_key_is_refused_by_wechat_pay(fake_wechatpay, tmp_path):
    provider = build_provider(
        fake_wechatpay.settings(
            tmp_path, "wechatpay_v2", WECHATPAY_API_KEY="another-api-key-of-thirty-two-by"
        )
    )
    with pytest.raises(PaymentError, match="签名错误"):
        provider.prepay(prepay_request())


def test_ack_is_the_xml_wechat_pay_expects(provider):
    body, status, content_type = provider.callback_ack(True)
    assert (status, v2_parse(body)["return_code"]) == (200, "SUCCESS")
    assert content_type.startswith("text/xml")
    body, status, _ = provider.callback_ack(False, "订单金额不符 ]]> <x>")
    assert (status, v2_parse(body)["return_code"]) == (200, "FAIL")
    assert v2_parse(body)["return_msg"] == "订单金额不符  <x>"
