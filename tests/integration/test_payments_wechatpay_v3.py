"""WeChat Pay APIv3 through the real `wechatpayv3` library against the loopback fake."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from werkzeug.datastructures import Headers

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
from payments.gateway import RetryingProvider

BEIJING = dt.timezone(dt.timedelta(hours=8))
NOTIFY_URL = "https://carbon.example.com/api/v1/payments/wechatpay/notify"


def prepay_request(out_trade_no: str, amount_fen: int = 100) -> PrepayRequest:
    return PrepayRequest(
        out_trade_no=out_trade_no,
        description="一元碳汇 10 kg",
        amount_fen=amount_fen,
        payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        time_expire=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15),
        notify_url=NOTIFY_URL,
        attach="order:42",
    )


@pytest.fixture
def provider(fake_wechatpay, tmp_path):
    return build_provider(fake_wechatpay.settings(tmp_path))


@pytest.fixture
def paid(provider, fake_wechatpay):
    """A trade of 100 fen, prepaid and paid."""
    provider.prepay(prepay_request("ORDER0001"))
    return fake_wechatpay.pay("ORDER0001")


def test_prepay_gives_request_payment_signed_by_the_merchant_key(provider, fake_wechatpay):
    request = prepay_request("ORDER0001", amount_fen=300)
    result = provider.prepay(request)

    trade = fake_wechatpay.trades["ORDER0001"]
    assert (trade.total, trade.payer_openid, trade.notify_url) == (
        300,
        "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        NOTIFY_URL,
    )
    assert trade.time_expire == request.time_expire.astimezone(BEIJING).replace(microsecond=0).isoformat()
    assert trade.time_expire.endswith("+08:00")
    params = result.request_payment
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["package"] == f"prepay_id={trade.prepay_id}" == f"prepay_id={result.prepay_id}"
    assert params["signType"] == "RSA"
    assert abs(int(params["timeStamp"]) - time.time()) < 300  # seconds (not milliseconds), of now
    signed = f"{fake_wechatpay.appid}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    public_key = fake_wechatpay.merchant.private_key.public_key()
    public_key.verify(base64.b64decode(params["paySign"]), signed.encode(), PKCS1v15(), hashes.SHA256())


def test_prepay_again_with_the_same_order_gives_the_same_prepay_id(provider):
    first = provider.prepay(prepay_request("ORDER0001"))
    again = provider.prepay(prepay_request("ORDER0001"))
    assert again.prepay_id == first.prepay_id


def test_prepay_of_a_paid_order_is_refused_as_already_paid(provider, paid):
    with pytest.raises(AlreadyPaid):
        provider.prepay(prepay_request("ORDER0001"))


def test_payment_callback_is_verified_and_decrypted(provider, fake_wechatpay, paid):
    callback = fake_wechatpay.payment_callback("ORDER0001")

    # As a Flask view would pass them: werkzeug headers, raw body bytes.
    notification = provider.parse_payment_callback(Headers(callback.headers), callback.body)

    assert notification.paid
    assert notification.out_trade_no == "ORDER0001"
    assert notification.transaction_id == paid.transaction_id
    assert notification.amount_fen == 100
    assert notification.payer_openid == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    assert notification.attach == "order:42"
    assert notification.success_time == paid.success_time
    assert (notification.appid, notification.mchid) == (fake_wechatpay.appid, fake_wechatpay.mchid)


def test_callback_amount_is_reported_as_sent_for_the_order_service_to_check(provider, fake_wechatpay, paid):
    callback = fake_wechatpay.payment_callback("ORDER0001", amount_fen=1)
    assert provider.parse_payment_callback(callback.headers, callback.body).amount_fen == 1


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ({"forge_signature": True}, "signature"),
        ({"age_s": 301}, "window"),
        ({"age_s": -600}, "window"),
        ({"mchid": "1900000999"}, "mchid"),
        ({"appid": "wx0000000000000000"}, "appid"),
        ({"apiv3_key": "another-apiv3-key-of-32-bytes!!!"}, "decrypt"),
        ({"event_type": "REFUND.SUCCESS"}, "not a payment"),
    ],
)
def test_a_spoiled_payment_callback_is_refused(provider, fake_wechatpay, paid, spoil, reason):
    callback = fake_wechatpay.payment_callback("ORDER0001", **spoil)
    with pytest.raises(PaymentError, match=reason):
        provider.parse_payment_callback(callback.headers, callback.body)


def test_a_callback_with_a_tampered_body_is_refused(provider, fake_wechatpay, paid):
    callback = fake_wechatpay.payment_callback("ORDER0001")
    event = json.loads(callback.body)
    event["summary"] = "something else"
    with pytest.raises(PaymentError):
        provider.parse_payment_callback(callback.headers, json.dumps(event).encode())


def test_a_callback_without_wechatpay_headers_is_refused(provider, fake_wechatpay, paid):
    callback = fake_wechatpay.payment_callback("ORDER0001")
    with pytest.raises(PaymentError):
        provider.parse_payment_callback({}, callback.body)


def test_certificate_mode_downloads_platform_certificates_once(fake_wechatpay, tmp_path):
    cert_dir = tmp_path / "platform-certs"
    provider = build_provider(
        fake_wechatpay.settings(tmp_path, public_key_mode=False, WECHATPAY_PLATFORM_CERT_DIR=str(cert_dir))
    )
    provider.prepay(prepay_request("ORDER0001"))
    fake_wechatpay.pay("ORDER0001")
    assert provider.query("ORDER0001").trade_state is TradeState.SUCCESS

    callback = fake_wechatpay.payment_callback("ORDER0001", use_certificate=True)
    assert provider.parse_payment_callback(callback.headers, callback.body).paid
    assert fake_wechatpay.count("/v3/certificates") == 1
    assert (cert_dir / f"{fake_wechatpay.platform.certificate_serial}.pem").exists()


def test_query_follows_the_trade(provider, fake_wechatpay):
    provider.prepay(prepay_request("ORDER0001"))
    unpaid = provider.query("ORDER0001")
    assert (unpaid.trade_state, unpaid.paid, unpaid.transaction_id) == (TradeState.NOTPAY, False, "")

    trade = fake_wechatpay.pay("ORDER0001")
    paid = provider.query("ORDER0001")
    assert paid.paid and paid.trade_state is TradeState.SUCCESS
    assert (paid.transaction_id, paid.amount_fen, paid.success_time) == (
        trade.transaction_id,
        100,
        trade.success_time,
    )


def test_query_of_an_unknown_trade_is_not_found(provider):
    with pytest.raises(NotFoundAtProvider):
        provider.query("NEVER0001")


def test_close_closes_an_unpaid_trade_and_refuses_a_paid_one(provider, fake_wechatpay):
    provider.prepay(prepay_request("ORDER0001"))
    provider.close("ORDER0001")
    assert fake_wechatpay.trades["ORDER0001"].state == "CLOSED"
    assert provider.query("ORDER0001").trade_state is TradeState.CLOSED

    provider.prepay(prepay_request("ORDER0002"))
    fake_wechatpay.pay("ORDER0002")
    with pytest.raises(AlreadyPaid):
        provider.close("ORDER0002")


def refund_request(out_refund_no: str = "REFUND0001", refund_fen: int = 40) -> RefundRequest:
    return RefundRequest(
        out_trade_no="ORDER0001",
        out_refund_no=out_refund_no,
        refund_fen=refund_fen,
        total_fen=100,
        reason="用户取消",
        notify_url=NOTIFY_URL + "/refund",
    )


def test_refund_apply_query_and_callback(provider, fake_wechatpay, paid):
    applied = provider.refund(refund_request())
    assert applied.status is RefundStatus.PROCESSING
    assert applied.refund_fen == 40

    assert provider.refund(refund_request()).refund_id == applied.refund_id  # same out_refund_no, one refund
    assert len(fake_wechatpay.refunds) == 1
    assert provider.query("ORDER0001").trade_state is TradeState.REFUND

    fake_wechatpay.settle_refund("REFUND0001")
    queried = provider.query_refund("REFUND0001")
    assert (queried.status, queried.refund_id) == (RefundStatus.SUCCESS, applied.refund_id)
    assert queried.success_time is not None

    callback = fake_wechatpay.refund_callback("REFUND0001")
    notification = provider.parse_refund_callback(callback.headers, callback.body)
    assert notification.status is RefundStatus.SUCCESS
    assert (notification.out_refund_no, notification.refund_id) == ("REFUND0001", applied.refund_id)
    assert (notification.refund_fen, notification.total_fen) == (40, 100)
    assert notification.transaction_id == paid.transaction_id


def test_refund_beyond_the_paid_amount_is_refused(provider, paid):
    provider.refund(refund_request("REFUND0001", 60))
    with pytest.raises(PaymentError) as info:
        provider.refund(refund_request("REFUND0002", 60))
    assert info.value.code == "NOT_ENOUGH"


def test_refund_query_of_an_unknown_refund_is_not_found(provider):
    with pytest.raises(NotFoundAtProvider):
        provider.query_refund("NOREFUND01")


@pytest.mark.parametrize("spoil", [{"forge_signature": True}, {"mchid": "1900000999"}, {"age_s": 3600}])
def test_a_spoiled_refund_callback_is_refused(provider, fake_wechatpay, paid, spoil):
    provider.refund(refund_request())
    fake_wechatpay.settle_refund("REFUND0001")
    callback = fake_wechatpay.refund_callback("REFUND0001", **spoil)
    with pytest.raises(PaymentError):
        provider.parse_refund_callback(callback.headers, callback.body)


def test_payment_callback_is_not_accepted_as_a_refund_callback(provider, fake_wechatpay, paid):
    callback = fake_wechatpay.payment_callback("ORDER0001")
    with pytest.raises(PaymentError, match="not a refund"):
        provider.parse_refund_callback(callback.headers, callback.body)


def test_trade_bill_is_downloaded_and_checked_against_its_digest(provider, fake_wechatpay, paid):
    bill = provider.trade_bill(paid.success_time.date())
    text = bill.decode("utf-8")
    assert text.startswith("交易时间,公众账号ID,商户号")
    assert "`ORDER0001" in text and f"`{paid.transaction_id}" in text


def test_a_tampered_trade_bill_is_refused(provider, fake_wechatpay, paid):
    fake_wechatpay.tamper_bills = True
    with pytest.raises(GatewayError, match="SHA1"):
        provider.trade_bill(paid.success_time.date())


def test_trade_bill_of_a_day_without_trades_is_not_found(provider, paid):
    with pytest.raises(NotFoundAtProvider):
        provider.trade_bill(paid.success_time.date() - dt.timedelta(days=3))


def test_a_5xx_is_retried_then_succeeds(provider, fake_wechatpay):
    provider.prepay(prepay_request("ORDER0001"))
    fake_wechatpay.fail_next(2, status=500)
    assert provider.query("ORDER0001").trade_state is TradeState.NOTPAY
    assert fake_wechatpay.count("/v3/pay/transactions/out-trade-no/ORDER0001") == 3


def test_persistent_5xx_gives_gateway_error_after_bounded_attempts(provider, fake_wechatpay):
    provider.prepay(prepay_request("ORDER0001"))
    fake_wechatpay.fail_next(10, status=503)
    with pytest.raises(GatewayError):
        provider.close("ORDER0001")
    assert fake_wechatpay.count("/v3/pay/transactions/out-trade-no/ORDER0001/close") == 3


def test_a_slow_wechat_pay_times_out_into_gateway_error(fake_wechatpay, tmp_path):
    provider = build_provider(
        fake_wechatpay.settings(tmp_path, WECHATPAY_TIMEOUT_S=0.2, WECHATPAY_RETRY_ATTEMPTS=2)
    )
    # Each answer would take 10 s; two 0.2 s timeouts give up long before even one arrives,
    # however loaded the machine.
    fake_wechatpay.delay_next(2, seconds=10)
    started = time.monotonic()
    with pytest.raises(GatewayError, match="unreachable"):
        provider.query_refund("REFUND0001")
    assert time.monotonic() - started < 10
    assert fake_wechatpay.count("/v3/refund/domestic/refunds/REFUND0001") == 2


def test_an_answer_with_a_wrong_signature_is_not_trusted(provider, fake_wechatpay):
    fake_wechatpay.forge_answers = True
    with pytest.raises(GatewayError, match="signature"):
        provider.prepay(prepay_request("ORDER0001"))


def test_requests_signed_with_another_merchant_key_are_refused(fake_wechatpay, tmp_path):
    from tests.fakes.wechatpay_server import MerchantKeys

    settings = fake_wechatpay.settings(tmp_path)
    other = tmp_path / "other_key.pem"
    other.write_text(MerchantKeys.generate().private_key_pem)
    provider = build_provider(settings | {"WECHATPAY_PRIVATE_KEY_PATH": str(other)})
    with pytest.raises(PaymentError) as info:
        provider.prepay(prepay_request("ORDER0001"))
    assert info.value.code == "SIGN_ERROR"
    assert fake_wechatpay.trades == {}


def test_callback_delivered_over_http_is_acknowledged_the_way_wechat_pay_expects(
    provider, fake_wechatpay, paid
):
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from threading import Thread

    class Merchant(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                provider.parse_payment_callback(self.headers, body)
                ack = provider.callback_ack(True)
            except PaymentError as exc:
                ack = provider.callback_ack(False, exc.message)
            self.send_response(ack.status)
            self.send_header("Content-Type", ack.content_type)
            self.end_headers()
            self.wfile.write(ack.body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Merchant)
    Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/notify"
    try:
        status, body = fake_wechatpay.payment_callback("ORDER0001").deliver(url)
        assert (status, json.loads(body)["code"]) == (200, "SUCCESS")
        status, body = fake_wechatpay.payment_callback("ORDER0001", forge_signature=True).deliver(url)
        assert status >= 400 and json.loads(body)["code"] == "FAIL"
    finally:
        server.shutdown()
        server.server_close()


def test_build_provider_wraps_the_v3_provider_with_retries(provider):
    assert isinstance(provider, RetryingProvider)
    assert provider.name == "wechatpay_v3"
    assert provider.policy.attempts == 3
