"""Reconciliation against the trade bill that WeChat Pay (faked at the wire) serves, APIv3 and APIv2."""

import pytest

from tests.support.accounts import bearer, login_admin, login_user
from tests.support.pool import stock_pool

RUNS = "/api/v1/admin/reconciliation/runs"
RESOLVE = "/api/v1/admin/reconciliation/discrepancies/{}/resolve"


@pytest.fixture(params=["wechatpay_v3", "wechatpay_v2"])
def provider_name(request):
    return request.param


@pytest.fixture
def app_overrides(fake_wechatpay, tmp_path, provider_name):
    return fake_wechatpay.settings(tmp_path, provider_name)


@pytest.fixture
def admin(client):
    token, _ = login_admin(client)
    return bearer(token)


@pytest.fixture
def buyer(client):
    token, _ = login_user(client, "bill-buyer")
    return bearer(token)


def place(client, headers, units=2):
    response = client.post("/api/v1/orders", json={"product": "one_yuan", "units": units}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json["order"]["out_trade_no"]


def test_a_missed_callback_is_found_in_the_bill_and_fulfilled(client, admin, buyer, fake_wechatpay):
    stock_pool()
    number = place(client, buyer)
    trade = fake_wechatpay.pay(number)  # paid at WeChat Pay; no callback ever reaches us
    day = trade.success_time.date().isoformat()
    run = client.post(RUNS, json={"date": day}, headers=admin)
    assert run.status_code == 201, run.json
    assert run.json["status"] == "done" and run.json["totals"]["bill"]["fee_fen"] == 1
    found = client.get(f"{RUNS}/{run.json['id']}/discrepancies", headers=admin).json
    assert [(d["kind"], d["out_trade_no"], d["transaction_id"]) for d in found] == [
        ("missing_here", number, trade.transaction_id)
    ]
    answer = client.post(RESOLVE.format(found[0]["id"]), json={"action": "fulfil"}, headers=admin)
    assert answer.status_code == 200, answer.json
    order = client.get(f"/api/v1/orders/{number}", headers=buyer).json
    assert order["status"] == "fulfilled" and order["transaction_id"] == trade.transaction_id
    assert len(client.get("/api/v1/me/certificates", headers=buyer).json) == 1
    again = client.post(RUNS, json={"date": day}, headers=admin).json
    assert (again["discrepancies"], again["matched"]) == (0, 1)


@pytest.mark.parametrize("provider_name", ["wechatpay_v3"])
def test_payments_and_refunds_of_the_fake_bill_agree_with_ours(client, admin, buyer, fake_wechatpay):
    stock_pool()
    first, second = place(client, buyer, units=3), place(client, buyer, units=5)
    for number in (first, second):
        fake_wechatpay.pay(number)
        callback = fake_wechatpay.payment_callback(number)
        delivered = client.post(
            "/api/v1/payments/wechatpay_v3/notify",
            data=callback.body,
            headers={"Content-Type": "application/json", **callback.headers},
        )
        assert delivered.status_code in (200, 204)
    refund = client.post(
        f"/api/v1/admin/orders/{second}/refunds", json={"grams": 20_000, "reason": "asked"}, headers=admin
    ).json
    assert refund["status"] == "processing"  # accepted at WeChat Pay, not settled yet
    day = fake_wechatpay.trades[first].success_time.date().isoformat()
    run = client.post(RUNS, json={"date": day}, headers=admin).json
    assert run["status"] == "done", run
    assert (run["trade_rows"], run["refund_rows"], run["matched"], run["discrepancies"]) == (2, 1, 3, 0)
    assert run["totals"]["bill"] == {
        "count": 3,
        "settled_fen": 800,
        "refund_fen": 200,
        "coupon_refund_fen": 0,
        "fee_fen": 2 + 3 - 1,
        "order_fen": 800,
        "requested_refund_fen": 200,
    }
    assert run["totals"]["here"] == {"paid_orders": 2, "paid_fen": 800, "refunds": 1, "refund_fen": 200}


@pytest.mark.parametrize("provider_name", ["wechatpay_v3"])
def test_a_bill_that_fails_its_digest_fails_the_run(client, admin, buyer, fake_wechatpay):
    stock_pool()
    trade = fake_wechatpay.pay(place(client, buyer))
    fake_wechatpay.tamper_bills = True
    response = client.post(RUNS, json={"date": trade.success_time.date().isoformat()}, headers=admin)
    assert response.status_code == 503
    (run,) = client.get(RUNS, headers=admin).json
    assert run["status"] == "failed" and "SHA1" in run["error"]


def test_a_day_without_a_bill_is_an_empty_bill(client, admin):
    response = client.post(RUNS, json={"date": "2026-01-01"}, headers=admin)
    assert response.status_code == 201, response.json
    assert response.json["status"] == "done" and response.json["discrepancies"] == 0
    assert response.json["totals"]["bill"] is None
