"""Payments that ended badly, driven at the wire through the loopback WeChat Pay (APIv3).

A buyer pays at the last second and the callback is lost; an order expires while WeChat Pay is
down; a buyer pays one order twice; forged callbacks name platform keys nobody has. None of it may
strand money: each payment is fulfilled or given back, and a forgery costs no call to WeChat Pay.
"""

import json
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from models import Certificate, Order, Refund, utcnow
from models.database import unit_of_work
from services.pool.pool_audit import run_audit
from tests.fakes.wechatpay_server import PlatformKeys, v2_parse
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.pool import stock_pool

NOTIFY = "/api/v1/payments/wechatpay_v3/notify"
REFUND_NOTIFY = "/api/v1/payments/wechatpay_v3/refund-notify"
CERTIFICATES = "/v3/certificates"
QUERY = "/v3/pay/transactions/out-trade-no/"


@pytest.fixture
def app_overrides(request, fake_wechatpay, tmp_path):
    extra = dict(getattr(request, "param", {}))
    return fake_wechatpay.settings(tmp_path, extra.pop("provider", "wechatpay_v3"), **extra)


CERTIFICATE_MODE = {"public_key_mode": False}


def _buyer(client, name):
    token, _ = login_user(client, name)
    return bearer(token)


@pytest.fixture
def buyer(client):
    return _buyer(client, "gap-buyer")


def _place(client, headers, units=2):
    response = client.post("/api/v1/orders", json={"product": "one_yuan", "units": units}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json["order"]["out_trade_no"]


def _deliver(client, callback, path=NOTIFY, headers=None):
    sent = {"Content-Type": "application/json", **(callback.headers if headers is None else headers)}
    return client.post(path, data=callback.body, headers=sent)


def _order(client, headers, number):
    return client.get(f"/api/v1/orders/{number}", headers=headers).json


def _run(app, *args):
    result = app.test_cli_runner().invoke(args=["orders", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _past_due():
    with unit_of_work() as session:
        session.execute(update(Order).values(expires_at=utcnow() - timedelta(minutes=1)))


def _certificates():
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Certificate))


# -- paid at WeChat Pay, callback lost, order expired here --


def test_a_payment_found_by_closing_at_expiry_is_fulfilled(app, client, buyer, fake_wechatpay):
    stock_pool()
    number = _place(client, buyer)
    fake_wechatpay.pay(number)  # the callback never arrives
    _past_due()

    assert "changed=1" in _run(app, "expire")

    order = _order(client, buyer, number)
    assert order["status"] == "fulfilled", order
    assert order["transaction_id"] == fake_wechatpay.trades[number].transaction_id
    assert fake_wechatpay.trades[number].state == "SUCCESS" and not fake_wechatpay.refunds
    assert "changed=0" in _run(app, "sync", "--quiet-seconds", "0")
    assert _certificates() == 1
    assert list(run_audit()) == []


def test_an_order_expired_when_read_then_found_paid_is_fulfilled_by_sync(app, client, buyer, fake_wechatpay):
    stock_pool()
    number = _place(client, buyer)
    fake_wechatpay.pay(number)
    _past_due()
    assert _order(client, buyer, number)["status"] == "expired"  # its grams went back to the pool

    assert "changed=1" in _run(app, "sync")

    order = _order(client, buyer, number)
    assert order["status"] == "fulfilled" and order["grams"] == 20_000  # reserved again
    assert [e["to_status"] for e in order["events"]][-3:] == ["expired", "paid", "fulfilled"]
    assert "changed=0" in _run(app, "sync")
    assert _certificates() == 1
    assert list(run_audit()) == []


def test_an_order_expired_while_wechat_pay_was_down_is_settled_by_sync(app, client, buyer, fake_wechatpay):
    stock_pool()
    number = _place(client, buyer)
    fake_wechatpay.pay(number)
    _past_due()
    fake_wechatpay.fail_next(times=3)  # every attempt of the close

    assert "failed=1" in _run(app, "expire")
    assert _order(client, buyer, number)["status"] == "expired"

    _run(app, "sync")
    assert _order(client, buyer, number)["status"] == "fulfilled"
    assert list(run_audit()) == []


def test_a_late_payment_without_grams_left_is_refunded_at_wechat_pay(app, client, fake_wechatpay):
    stock_pool(tonnes=1)
    late_buyer, rival = _buyer(client, "late-buyer"), _buyer(client, "rival-buyer")
    number = _place(client, late_buyer, units=100)  # the whole tonne
    fake_wechatpay.pay(number)
    _past_due()
    assert _order(client, late_buyer, number)["status"] == "expired"
    sold = _place(client, rival, units=100)
    fake_wechatpay.pay(sold)
    assert _deliver(client, fake_wechatpay.payment_callback(sold)).status_code == 200

    _run(app, "sync")

    refunds = [r for r in fake_wechatpay.refunds.values() if r.out_trade_no == number]
    assert [(r.refund, r.total) for r in refunds] == [(10_000, 10_000)]  # all of it, once
    assert _order(client, late_buyer, number)["status"] == "paid"  # refund under way
    fake_wechatpay.settle_refund(refunds[0].out_refund_no)
    answer = _deliver(client, fake_wechatpay.refund_callback(refunds[0].out_refund_no), REFUND_NOTIFY)
    assert answer.status_code == 200
    order = _order(client, late_buyer, number)
    assert order["status"] == "refunded" and order["refunded_fen"] == 10_000
    _run(app, "sync")
    assert len(fake_wechatpay.refunds) == 1
    assert list(run_audit()) == []


def test_an_unpaid_ended_order_has_its_trade_closed_and_is_asked_about_once(
    app, client, buyer, fake_wechatpay
):
    stock_pool()
    number = _place(client, buyer)
    assert client.post(f"/api/v1/orders/{number}/cancel", headers=buyer).status_code == 200
    assert fake_wechatpay.trades[number].state == "NOTPAY"  # cancelling here does not reach WeChat Pay

    _run(app, "sync")
    assert fake_wechatpay.trades[number].state == "CLOSED"  # no payment can follow any more
    with unit_of_work() as session:
        assert session.scalar(select(Order.trade_closed_at).where(Order.out_trade_no == number))
    asked = fake_wechatpay.count(QUERY)
    _run(app, "sync")
    assert fake_wechatpay.count(QUERY) == asked


# -- a second payment of an order already paid --


def test_a_second_payment_is_refunded_by_its_own_transaction_and_shown_in_reconciliation(
    app, client, buyer, fake_wechatpay
):
    stock_pool()
    number = _place(client, buyer)
    first = fake_wechatpay.pay(number)
    assert _deliver(client, fake_wechatpay.payment_callback(number)).status_code == 200
    second = fake_wechatpay.pay_again(number)
    callback = fake_wechatpay.payment_callback(number, transaction_id=second.transaction_id)
    for _ in range(2):
        assert _deliver(client, callback).status_code == 200

    _run(app, "refunds")

    [refund] = fake_wechatpay.refunds.values()
    assert (refund.transaction_id, refund.refund, refund.total) == (second.transaction_id, 200, 200)
    fake_wechatpay.settle_refund(refund.out_refund_no)
    answer = _deliver(client, fake_wechatpay.refund_callback(refund.out_refund_no), REFUND_NOTIFY)
    assert answer.status_code == 200
    order = _order(client, buyer, number)
    assert order["status"] == "fulfilled" and order["refunded_fen"] == 0  # the order's payment stays
    assert order["transaction_id"] == first.transaction_id
    with unit_of_work() as session:
        [kept] = session.execute(select(Refund.transaction_id, Refund.status, Refund.amount_fen)).all()
    assert kept == (second.transaction_id, "succeeded", 200)
    assert _certificates() == 1
    assert list(run_audit()) == []

    admin = bearer(login_admin(client)[0])
    day = second.success_time.date().isoformat()
    run = client.post("/api/v1/admin/reconciliation/runs", json={"date": day}, headers=admin).json
    found = client.get(f"/api/v1/admin/reconciliation/runs/{run['id']}/discrepancies", headers=admin).json
    [twice] = [d for d in found if d["transaction_id"] == second.transaction_id]
    assert twice["kind"] == "paid_twice" and refund.out_refund_no in twice["detail"]
    assert twice["status_here"] == "succeeded"
    resolve = f"/api/v1/admin/reconciliation/discrepancies/{twice['id']}/resolve"
    assert client.post(resolve, json={"action": "refund"}, headers=admin).status_code == 409
    assert len(fake_wechatpay.refunds) == 1


# -- forged and unusual callbacks --


def _forged(callback, serial):
    return {**callback.headers, "Wechatpay-Serial": serial}


def test_forgeries_naming_unknown_keys_cost_no_call_in_public_key_mode(client, buyer, fake_wechatpay):
    stock_pool()
    number = _place(client, buyer)
    fake_wechatpay.pay(number)
    callback = fake_wechatpay.payment_callback(number)
    for serial in [f"PUB_KEY_ID_{secrets.token_hex(16).upper()}" for _ in range(10)] + [
        secrets.token_hex(20).upper()
        for _ in range(10)  # platform-certificate serials
    ]:
        answer = _deliver(client, callback, headers=_forged(callback, serial))
        assert answer.status_code == 400 and answer.json == {
            "code": "FAIL",
            "message": "invalid notification",
        }
    assert fake_wechatpay.count(CERTIFICATES) == 0
    assert _order(client, buyer, number)["status"] == "awaiting_payment"
    assert _deliver(client, callback).status_code == 200


@pytest.mark.parametrize("app_overrides", [CERTIFICATE_MODE], indirect=True)
def test_forgeries_naming_unknown_serials_download_no_certificates(client, buyer, fake_wechatpay):
    stock_pool()
    number = _place(client, buyer)  # the first call downloads the platform certificates
    assert fake_wechatpay.count(CERTIFICATES) == 1
    fake_wechatpay.pay(number)
    callback = fake_wechatpay.payment_callback(number, use_certificate=True)
    for _ in range(20):
        forged = _forged(callback, secrets.token_hex(20).upper())
        answer = _deliver(client, callback, headers=forged)
        assert answer.status_code == 400 and answer.json["message"] == "invalid notification"
    assert fake_wechatpay.count(CERTIFICATES) == 1  # no refresh is due yet
    assert _deliver(client, callback).status_code == 200
    assert _order(client, buyer, number)["status"] == "fulfilled"


@pytest.mark.parametrize(
    "app_overrides", [{**CERTIFICATE_MODE, "WECHATPAY_CERT_REFRESH_INTERVAL_S": 0}], indirect=True
)
def test_a_new_platform_certificate_is_learned_when_a_refresh_is_due(client, buyer, fake_wechatpay):
    stock_pool()
    number = _place(client, buyer)
    fake_wechatpay.pay(number)
    fake_wechatpay.platform = PlatformKeys.generate()  # WeChat Pay rotates its certificate
    callback = fake_wechatpay.payment_callback(number, use_certificate=True)
    assert _deliver(client, callback).status_code == 200
    assert fake_wechatpay.count(CERTIFICATES) == 2
    assert _order(client, buyer, number)["status"] == "fulfilled"


@pytest.mark.parametrize(
    "app_overrides", [{**CERTIFICATE_MODE, "WECHATPAY_CERT_REFRESH_INTERVAL_S": 0}], indirect=True
)
def test_a_refresh_that_cannot_reach_wechat_pay_answers_a_fixed_reason(client, buyer, fake_wechatpay):
    stock_pool()
    number = _place(client, buyer)
    fake_wechatpay.pay(number)
    callback = fake_wechatpay.payment_callback(number, use_certificate=True)
    fake_wechatpay.fail_next(status=503)  # the download of certificates for the unknown serial fails
    answer = _deliver(client, callback, headers=_forged(callback, secrets.token_hex(20).upper()))
    assert answer.status_code == 500
    assert answer.json == {"code": "FAIL", "message": "temporarily unavailable"}
    assert _deliver(client, callback).status_code == 200  # the certificates held are kept


def test_without_a_signature_type_header_the_default_algorithm_is_taken(client, buyer, fake_wechatpay):
    stock_pool()
    number = _place(client, buyer)
    fake_wechatpay.pay(number)
    callback = fake_wechatpay.payment_callback(number)
    other = {**callback.headers, "Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}
    refused = _deliver(client, callback, headers=other)
    assert refused.status_code == 400 and refused.json["message"] == "invalid notification"
    assert _order(client, buyer, number)["status"] == "awaiting_payment"

    documented = {k: v for k, v in callback.headers.items() if k != "Wechatpay-Signature-Type"}
    assert _deliver(client, callback, headers=documented).status_code == 200
    assert _order(client, buyer, number)["status"] == "fulfilled"


def test_fail_answers_give_a_fixed_reason_not_our_error(client, buyer, fake_wechatpay):
    stock_pool()
    number = _place(client, buyer)
    fake_wechatpay.pay(number)
    spoiled = [
        fake_wechatpay.payment_callback(number, forge_signature=True),
        fake_wechatpay.payment_callback(number, amount_fen=1),  # genuine, but not the order's amount
        fake_wechatpay.payment_callback(number, mchid="1999999999"),
    ]
    for callback in spoiled:
        answer = _deliver(client, callback)
        assert json.loads(answer.data) == {"code": "FAIL", "message": "invalid notification"}
    broken = fake_wechatpay.payment_callback(number)
    answer = client.post(NOTIFY, data=b"{" + broken.body, headers=broken.headers)
    assert json.loads(answer.data) == {"code": "FAIL", "message": "invalid notification"}
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Refund)) == 0


@pytest.mark.parametrize("app_overrides", [{"provider": "wechatpay_v2"}], indirect=True)
def test_apiv2_fail_answers_give_a_fixed_reason(client, buyer, fake_wechatpay):
    stock_pool()
    number = _place(client, buyer)
    fake_wechatpay.pay(number)
    for body in (
        fake_wechatpay.payment_notify_v2(number, forge_sign=True),
        fake_wechatpay.payment_notify_v2(number, amount_fen=1),
        b"<xml><return_code>SUCCESS",
    ):
        answer = client.post(
            "/api/v1/payments/wechatpay_v2/notify", data=body, headers={"Content-Type": "text/xml"}
        )
        assert answer.status_code == 200
        assert v2_parse(answer.data) == {"return_code": "FAIL", "return_msg": "invalid notification"}
    assert _order(client, buyer, number)["status"] == "awaiting_payment"
