"""What only the embedded demo has: the demo admin, the unauthenticated sandbox callback, and honest sandbox trades."""

from __future__ import annotations

import pytest

from api.context import payment_provider
from payments import TradeState
from tests.support.accounts import bearer, login_user
from tests.support.pool import stock_pool

SANDBOX_NOTIFY = "/api/v1/payments/sandbox/notify"


@pytest.fixture
def app_overrides(request, fake_wechatpay, tmp_path):
    """The sandbox by default; a test parametrised with a provider name runs on the WeChat Pay fake."""
    provider = getattr(request, "param", "sandbox")
    return {} if provider == "sandbox" else fake_wechatpay.settings(tmp_path, provider)


def _place(client, units: int = 2) -> tuple[dict[str, str], dict]:
    stock_pool(tonnes=1)
    buyer = bearer(login_user(client, "demo-buyer")[0])
    placed = client.post("/api/v1/orders", json={"product": "one_yuan", "units": units}, headers=buyer)
    assert placed.status_code == 201, placed.json
    return buyer, placed.json["order"]


def _status(client, buyer, number) -> str:
    return client.get(f"/api/v1/orders/{number}", headers=buyer).json["status"]


def test_a_sandbox_callback_for_a_wrong_amount_leaves_the_trade_unpaid(client):
    buyer, order = _place(client)
    number, amount = order["out_trade_no"], order["amount_fen"]
    for wrong in (amount - 1, amount + 100, 0):
        refused = client.post(SANDBOX_NOTIFY, json={"out_trade_no": number, "amount_fen": wrong})
        assert refused.status_code == 400 and refused.json["code"] == "FAIL"
        # Neither the order nor the provider's trade is paid: a later query or sync finds nothing to fulfil.
        assert payment_provider().query(number).trade_state is TradeState.NOTPAY
        assert _status(client, buyer, number) == "awaiting_payment"
    paid = client.post(SANDBOX_NOTIFY, json={"out_trade_no": number, "amount_fen": amount})
    assert paid.status_code == 200 and _status(client, buyer, number) == "fulfilled"


@pytest.mark.parametrize("app_overrides", ["wechatpay_v3", "wechatpay_v2"], indirect=True)
def test_the_sandbox_callback_is_not_served_unless_payments_are_the_sandbox(client):
    buyer, order = _place(client)
    body = {"out_trade_no": order["out_trade_no"], "amount_fen": order["amount_fen"]}
    assert client.post(SANDBOX_NOTIFY, json=body).status_code == 404
    assert (
        client.post(f"/api/v1/sandbox/orders/{order['out_trade_no']}/pay", headers=buyer).status_code == 404
    )
    assert _status(client, buyer, order["out_trade_no"]) == "awaiting_payment"


def test_the_sandbox_callback_is_not_served_in_production(app, client, monkeypatch):
    buyer, order = _place(client)
    monkeypatch.setitem(app.config, "CARBON_PROFILE", "production")
    body = {"out_trade_no": order["out_trade_no"], "amount_fen": order["amount_fen"]}
    assert client.post(SANDBOX_NOTIFY, json=body).status_code == 404
    assert _status(client, buyer, order["out_trade_no"]) == "awaiting_payment"


def _demo_admin_login(client):
    return client.post(
        "/api/v1/auth/admin-login", json={"username": "admin", "password": "demo-admin-password"}
    )


@pytest.mark.parametrize(
    ("profile", "provider", "created"),
    [
        ("default", "sandbox", True),
        ("testing", "sandbox", False),
        ("production", "sandbox", False),
        ("default", "wechatpay_v3", False),
    ],
)
def test_the_demo_admin_exists_only_in_the_embedded_default(
    app, client, monkeypatch, profile, provider, created
):
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    monkeypatch.setitem(app.config, "CARBON_PROFILE", profile)
    monkeypatch.setitem(app.config, "PAYMENT_PROVIDER", provider)
    result = app.test_cli_runner().invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert ("Demo admin created" in result.output) is created
    assert (_demo_admin_login(client).status_code == 200) is created
