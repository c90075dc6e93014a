"""Orders paid through WeChat Pay, faked at the wire: APIv3 and APIv2 callbacks drive fulfilment."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from models import Batch, Order, PaymentEvent, utcnow
from models.database import unit_of_work
from services.pool.pool_audit import run_audit
from tests.support.accounts import bearer, login_user
from tests.support.pool import stock_pool

NOTIFY = "/api/v1/payments/wechatpay_v3/notify"


@pytest.fixture
def app_overrides(fake_wechatpay, tmp_path):
    return fake_wechatpay.settings(tmp_path, "wechatpay_v3")


@pytest.fixture
def buyer(client):
    token, _ = login_user(client, "pay-buyer")
    return bearer(token)


def _place(client, headers, units=2):
    response = client.post("/api/v1/orders", json={"product": "one_yuan", "units": units}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def _deliver(client, callback, path=NOTIFY):
    return client.post(
        path, data=callback.body, headers={"Content-Type": "application/json", **callback.headers}
    )


def _sold():
    with unit_of_work() as session:
        return session.scalar(select(func.sum(Batch.sold_g)))


def test_prepay_returns_a_signed_request_payment(client, buyer, fake_wechatpay):
    stock_pool()
    placed = _place(client, buyer)
    params = placed["request_payment"]
    assert params["signType"] == "RSA" and params["package"].startswith("prepay_id=")
    trade = fake_wechatpay.trades[placed["order"]["out_trade_no"]]
    assert trade.total == 200 and trade.notify_url.endswith(NOTIFY)


def test_genuine_callback_fulfils_and_duplicates_change_nothing(client, buyer, fake_wechatpay):
    stock_pool()
    number = _place(client, buyer)["order"]["out_trade_no"]
    fake_wechatpay.pay(number)
    callback = fake_wechatpay.payment_callback(number)
    first = _deliver(client, callback)
    assert first.status_code in (200, 204), first.data
    assert client.get(f"/api/v1/orders/{number}", headers=buyer).json["status"] == "fulfilled"
    for _ in range(3):
        assert _deliver(client, callback).status_code in (200, 204)
        assert _deliver(client, fake_wechatpay.payment_callback(number)).status_code in (200, 204)
    assert _sold() == 20_000
    assert len(client.get("/api/v1/me/certificates", headers=buyer).json) == 1
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(PaymentEvent)) == 1
    assert list(run_audit()) == []


@pytest.mark.parametrize(
    "spoil",
    [
        {"forge_signature": True},
        {"age_s": 3600},
        {"amount_fen": 1},
        {"appid": "wx0000000000000000"},
        {"mchid": "1999999999"},
        {"apiv3_key": "another-key-another-key-another!"},
    ],
    ids=["forged", "stale", "amount", "appid", "mchid", "key"],
)
def test_bad_callbacks_are_refused_and_change_nothing(client, buyer, fake_wechatpay, spoil):
    stock_pool()
    number = _place(client, buyer)["order"]["out_trade_no"]
    fake_wechatpay.pay(number)
    response = _deliver(client, fake_wechatpay.payment_callback(number, **spoil))
    assert response.status_code >= 400
    assert response.json["code"] == "FAIL"
    order = client.get(f"/api/v1/orders/{number}", headers=buyer).json
    assert order["status"] == "awaiting_payment" and order["transaction_id"] is None
    assert _sold() == 0


def test_missed_callback_is_found_by_query(app, client, buyer, fake_wechatpay):
    stock_pool()
    number = _place(client, buyer)["order"]["out_trade_no"]
    fake_wechatpay.pay(number)
    result = app.test_cli_runner().invoke(args=["orders", "sync", "--quiet-seconds", "0"])
    assert "changed=1" in result.output, result.output
    assert client.get(f"/api/v1/orders/{number}", headers=buyer).json["status"] == "fulfilled"


def test_expiry_closes_the_trade_at_wechat(app, client, buyer, fake_wechatpay):
    stock_pool()
    number = _place(client, buyer)["order"]["out_trade_no"]
    with unit_of_work() as session:
        session.execute(update(Order).values(expires_at=utcnow() - timedelta(hours=1)))
    app.test_cli_runner().invoke(args=["orders", "expire"])
    assert fake_wechatpay.trades[number].state == "CLOSED"


def test_wechat_down_keeps_the_order_and_payment_can_be_reopened(client, buyer, fake_wechatpay):
    stock_pool()
    fake_wechatpay.fail_next(times=3)  # every attempt of the first prepay
    placed = _place(client, buyer)
    assert placed["request_payment"] is None and placed["payment_error"]
    number = placed["order"]["out_trade_no"]
    assert placed["order"]["status"] == "created"
    reopened = client.post(f"/api/v1/orders/{number}/payment", headers=buyer)
    assert reopened.status_code == 200, reopened.json
    assert reopened.json["request_payment"]["package"].startswith("prepay_id=")


def test_refund_through_wechat_completes_on_its_callback_once(client, buyer, fake_wechatpay):
    stock_pool()
    number = _place(client, buyer, units=4)["order"]["out_trade_no"]
    fake_wechatpay.pay(number)
    _deliver(client, fake_wechatpay.payment_callback(number))
    refund = client.post(f"/api/v1/orders/{number}/refunds", json={"grams": 10_000}, headers=buyer).json
    assert refund["status"] == "processing"
    assert client.post(f"/api/v1/orders/{number}/refunds", json={}, headers=buyer).status_code == 409
    fake_wechatpay.settle_refund(refund["out_refund_no"])
    callback = fake_wechatpay.refund_callback(refund["out_refund_no"])
    for _ in range(2):
        answer = _deliver(client, callback, "/api/v1/payments/wechatpay_v3/refund-notify")
        assert answer.status_code in (200, 204), answer.data
    order = client.get(f"/api/v1/orders/{number}", headers=buyer).json
    assert order["status"] == "partially_refunded" and order["refunded_fen"] == 100
    assert _sold() == 30_000
    assert list(run_audit()) == []


class TestApiV2:
    @pytest.fixture
    def app_overrides(self, fake_wechatpay, tmp_path):
        return fake_wechatpay.settings(tmp_path, "wechatpay_v2", WECHATPAY_SIGN_TYPE="HMAC-SHA256")

    def test_v2_notify_fulfils_once_and_forged_is_refused(self, client, buyer, fake_wechatpay):
        stock_pool()
        number = _place(client, buyer)["order"]["out_trade_no"]
        fake_wechatpay.pay(number)
        path = "/api/v1/payments/wechatpay_v2/notify"
        forged = fake_wechatpay.payment_notify_v2(number, sign_type="HMAC-SHA256", forge_sign=True)
        answer = client.post(path, data=forged, content_type="text/xml")
        assert b"FAIL" in answer.data
        assert _sold() == 0
        genuine = fake_wechatpay.payment_notify_v2(number, sign_type="HMAC-SHA256")
        for _ in range(2):
            answer = client.post(path, data=genuine, content_type="text/xml")
            assert b"SUCCESS" in answer.data
        assert _sold() == 20_000
        assert client.get(f"/api/v1/orders/{number}", headers=buyer).json["status"] == "fulfilled"
