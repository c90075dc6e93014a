"""Buying one-yuan carbon sink on the embedded default: order, sandbox payment, certificate, refund."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from api.context import order_policy, payment_provider
from models import Batch, Order, utcnow
from models.database import unit_of_work
from services.pool.pool_audit import run_audit
from services.settlement.order_jobs import finish_refunds
from services.settlement.payment_flow import handle_payment_notification
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.pool import stock_pool

TONNE = 1_000_000


@pytest.fixture
def buyer(client):
    token, _user = login_user(client, "buyer-code")
    return bearer(token)


def _batches():
    with unit_of_work() as session:
        return [(b.available_g, b.reserved_g, b.sold_g) for b in session.query(Batch).order_by(Batch.id)]


def place(client, headers, **body):
    return client.post("/api/v1/orders", json={"product": "one_yuan", "units": 3, **body}, headers=headers)


def test_one_yuan_order_reserves_and_returns_payment_parameters(client, buyer):
    stock_pool()
    response = place(client, buyer, holder_name="陈小明")
    assert response.status_code == 201, response.json
    order = response.json["order"]
    assert order["grams"] == 30_000 and order["amount_fen"] == 300
    assert order["status"] == "awaiting_payment"
    assert set(response.json["request_payment"]) == {
        "timeStamp",
        "nonceStr",
        "package",
        "signType",
        "paySign",
    }
    assert [e["to_status"] for e in order["events"]] == ["created", "awaiting_payment"]
    assert sum(line["grams"] for line in order["lines"]) == 30_000
    assert _batches()[0] == (TONNE - 30_000, 30_000, 0)


def test_sandbox_payment_fulfils_with_certificate_and_serials(client, buyer):
    stock_pool()
    number = place(client, buyer, holder_name="陈小明").json["order"]["out_trade_no"]
    paid = client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=buyer)
    assert paid.status_code == 200, paid.json
    assert paid.json["status"] == "fulfilled"
    assert [e["to_status"] for e in paid.json["events"]][-2:] == ["paid", "fulfilled"]
    assert _batches()[0] == (TONNE - 30_000, 0, 30_000)

    certificates = client.get("/api/v1/me/certificates", headers=buyer).json
    assert len(certificates) == 1
    certificate = certificates[0]
    assert certificate["grams"] == 30_000 and certificate["holder_name"] == "陈小明"
    (claim,) = certificate["claims"]
    assert (claim["from_g"], claim["to_g"]) == (0, 29_999)

    public = client.get(f"/api/v1/certificates/{certificate['verification_code']}")
    assert public.status_code == 200
    assert public.json["valid"] is True and public.json["holder"] == "陈*明"
    assert public.json["claims"][0]["serial"] == claim["serial"]
    assert public.json["claims"][0]["retirement"] == "pending"
    page = client.get(f"/verify/{certificate['verification_code']}")
    assert page.status_code == 200 and "证书有效" in page.get_data(as_text=True)
    assert claim["serial"] in page.get_data(as_text=True)

    pdf = client.get(f"/api/v1/me/certificates/{certificate['number']}/pdf", headers=buyer)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert list(run_audit()) == []


def test_paying_twice_fulfils_once(client, buyer):
    stock_pool()
    number = place(client, buyer).json["order"]["out_trade_no"]
    client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=buyer)
    again = client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=buyer)
    assert again.status_code == 409
    assert len(client.get("/api/v1/me/certificates", headers=buyer).json) == 1
    assert _batches()[0][2] == 30_000


def test_unknown_verification_code_is_a_clear_404(client):
    response = client.get("/api/v1/certificates/NOSUCHCODE12")
    assert response.status_code == 404
    assert "verification code" in response.json["message"]
    page = client.get("/verify/NOSUCHCODE12")
    assert page.status_code == 404 and "未找到" in page.get_data(as_text=True)


def test_idempotency_key_replays_and_refuses_other_bodies(client, buyer):
    stock_pool()
    headers = {**buyer, "Idempotency-Key": "k-1"}
    first = place(client, headers)
    second = place(client, headers)
    assert first.status_code == second.status_code == 201
    assert first.json["order"]["out_trade_no"] == second.json["order"]["out_trade_no"]
    assert _batches()[0][1] == 30_000  # reserved once
    other = place(client, headers, units=4)
    assert other.status_code == 422
    assert other.json["error"] == "idempotency_key_reused"


def test_bad_orders_are_clear_4xx(client, buyer):
    stock_pool()
    assert place(client, buyer, units=0).status_code == 422
    assert place(client, buyer, units=1_000_001).status_code == 422
    assert (
        client.post("/api/v1/orders", json={"product": "credits", "project_id": 1}, headers=buyer).status_code
        == 422
    )
    assert place(client, buyer, project_id=999).status_code == 404
    too_many = place(client, buyer, units=201)  # 2,010 kg from a 2 t pool
    assert too_many.status_code == 409
    assert too_many.json["error"] == "insufficient_credits"
    assert client.post("/api/v1/orders", json={"product": "one_yuan", "units": 1}).status_code == 401


def test_credit_order_by_tonnes_is_priced_per_tonne(client, buyer):
    project_id, _ = stock_pool(tonnes=3, price_fen_per_t=1_550)
    response = client.post(
        "/api/v1/orders", json={"product": "credits", "project_id": project_id, "tonnes": 2}, headers=buyer
    )
    assert response.status_code == 201, response.json
    order = response.json["order"]
    assert order["grams"] == 2 * TONNE and order["amount_fen"] == 3_100
    assert sorted(line["amount_fen"] for line in order["lines"]) == [1_550, 1_550]
    kg = client.post(
        "/api/v1/orders", json={"product": "credits", "project_id": project_id, "kg": 333}, headers=buyer
    )
    assert kg.json["order"]["amount_fen"] == 517  # 333 kg × ¥15.50/t = 516.15 fen, rounded up


def test_buyer_picks_the_forest_farmer(client, buyer):
    stock_pool(code="A", owner="林农陈某")
    stock_pool(code="B", owner="林农李某")
    farmers = client.get("/api/v1/catalogue/owners").json
    li = next(owner["id"] for owner in farmers if owner["name"] == "林农李某")
    order = place(client, buyer, owner_id=li).json["order"]
    with unit_of_work() as session:
        projects = {line.project_id for line in session.get(Order, 1).lines}
    assert order["owner_id"] == li and len(projects) == 1


def test_expired_order_releases_grams_when_read(client, buyer):
    stock_pool()
    number = place(client, buyer).json["order"]["out_trade_no"]
    with unit_of_work() as session:
        session.execute(update(Order).values(expires_at=utcnow() - timedelta(hours=1)))
    order = client.get(f"/api/v1/orders/{number}", headers=buyer).json
    assert order["status"] == "expired"
    assert _batches()[0] == (TONNE, 0, 0)
    assert list(run_audit()) == []


def test_expiry_job_takes_a_payment_made_at_the_last_second(app, client, buyer):
    stock_pool()
    number = place(client, buyer).json["order"]["out_trade_no"]
    with unit_of_work() as session:
        session.execute(update(Order).values(expires_at=utcnow() - timedelta(hours=1)))
    notification = payment_provider().complete(number, 300)  # paid at the last second; the callback is late
    result = app.test_cli_runner().invoke(args=["orders", "expire"])
    assert "changed=1" in result.output
    # Closing the trade found it paid: the order is fulfilled, its grams never released.
    assert client.get(f"/api/v1/orders/{number}", headers=buyer).json["status"] == "fulfilled"
    outcome = handle_payment_notification(notification, "sandbox", order_policy())
    assert outcome.outcome == "duplicate"
    assert list(run_audit()) == []


def test_late_payment_without_grams_is_refunded(app, client, buyer):
    stock_pool(tonnes=1)
    number = place(client, buyer, units=100).json["order"]["out_trade_no"]  # the whole tonne
    with unit_of_work() as session:
        session.execute(update(Order).values(expires_at=utcnow() - timedelta(hours=1)))
    notification = payment_provider().complete(number, 10_000)
    client.get(f"/api/v1/orders/{number}", headers=buyer)  # expires it
    rival = place(client, buyer, units=100).json["order"]["out_trade_no"]
    client.post(f"/api/v1/sandbox/orders/{rival}/pay", headers=buyer)
    outcome = handle_payment_notification(notification, "sandbox", order_policy())
    assert outcome.outcome == "refund_started"

    finish_refunds(payment_provider(), order_policy())
    late = client.get(f"/api/v1/orders/{number}", headers=buyer).json
    assert late["status"] == "refunded" and late["refunded_fen"] == 10_000
    assert [e["to_status"] for e in late["events"]][-2:] == ["paid", "refunded"]
    assert list(run_audit()) == []


def test_partial_then_full_refund(client, buyer):
    stock_pool()
    number = place(client, buyer, units=5, holder_name="陈小明").json["order"]["out_trade_no"]
    client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=buyer)
    first_code = client.get("/api/v1/me/certificates", headers=buyer).json[0]["verification_code"]

    assert client.get("/api/v1/me/points", headers=buyer).json["pending"] == 50  # 1 point per kg, pending

    partial = client.post(f"/api/v1/orders/{number}/refunds", json={"grams": 20_000}, headers=buyer)
    assert partial.status_code == 201, partial.json
    assert partial.json["status"] == "succeeded" and partial.json["amount_fen"] == 200
    order = client.get(f"/api/v1/orders/{number}", headers=buyer).json
    assert order["status"] == "partially_refunded" and order["refunded_g"] == 20_000
    old = client.get(f"/api/v1/certificates/{first_code}").json
    assert old["valid"] is False and old["status"] == "superseded" and old["replaced_by"]
    new = client.get(f"/api/v1/certificates/{old['replaced_by']}").json
    assert new["valid"] is True and new["grams"] == 30_000
    assert _batches()[0] == (TONNE - 30_000, 0, 30_000)

    assert (
        client.post(f"/api/v1/orders/{number}/refunds", json={"grams": 5_000}, headers=buyer).status_code
        == 422
    )
    rest = client.post(f"/api/v1/orders/{number}/refunds", json={}, headers=buyer)
    assert rest.json["amount_fen"] == 300
    assert client.get(f"/api/v1/orders/{number}", headers=buyer).json["status"] == "refunded"
    void = client.get(f"/api/v1/certificates/{old['replaced_by']}").json
    assert void["valid"] is False and void["status"] == "void"
    assert client.get(f"/verify/{old['replaced_by']}").get_data(as_text=True).count("作废") >= 1
    assert _batches()[0] == (TONNE, 0, 0)
    assert client.get("/api/v1/me/points", headers=buyer).json["pending"] == 0
    assert list(run_audit()) == []


def test_refund_window_for_users_but_not_admins(client, buyer):
    stock_pool()
    number = place(client, buyer).json["order"]["out_trade_no"]
    client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=buyer)
    with unit_of_work() as session:
        session.execute(update(Order).values(paid_at=utcnow() - timedelta(days=30)))
    late = client.post(f"/api/v1/orders/{number}/refunds", json={}, headers=buyer)
    assert late.status_code == 403
    admin, _ = login_admin(client)
    by_admin = client.post(
        f"/api/v1/admin/orders/{number}/refunds", json={"reason": "goodwill"}, headers=bearer(admin)
    )
    assert by_admin.status_code == 201, by_admin.json
    audit = client.get(
        "/api/v1/admin/audit-log", query_string={"entity": "order"}, headers=bearer(admin)
    ).json
    assert audit[0]["action"] == "refund.request"


def test_other_users_cannot_see_or_touch_my_orders(client, buyer):
    stock_pool()
    number = place(client, buyer).json["order"]["out_trade_no"]
    client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=buyer)
    cert = client.get("/api/v1/me/certificates", headers=buyer).json[0]["number"]
    other_token, _ = login_user(client, "someone-else")
    other = bearer(other_token)
    assert client.get(f"/api/v1/orders/{number}", headers=other).status_code == 404
    assert client.post(f"/api/v1/orders/{number}/refunds", json={}, headers=other).status_code == 404
    assert client.post(f"/api/v1/orders/{number}/cancel", headers=other).status_code == 404
    assert client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=other).status_code == 404
    assert client.get("/api/v1/orders", headers=other).json == []
    assert client.get("/api/v1/me/certificates", headers=other).json == []
    assert client.get(f"/api/v1/me/certificates/{cert}", headers=other).status_code == 404
    assert client.get(f"/api/v1/me/certificates/{cert}/pdf", headers=other).status_code == 404


def test_cancel_releases_grams(client, buyer):
    stock_pool()
    number = place(client, buyer).json["order"]["out_trade_no"]
    response = client.post(f"/api/v1/orders/{number}/cancel", headers=buyer)
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    assert _batches()[0] == (TONNE, 0, 0)
    assert client.post(f"/api/v1/orders/{number}/cancel", headers=buyer).status_code == 409


def test_an_admin_sync_of_a_trade_the_provider_never_saw_answers_not_paid(client, buyer):
    stock_pool()
    number = place(client, buyer).json["order"]["out_trade_no"]
    payment_provider()._trades.clear()  # the sandbox keeps trades in memory: a restarted process forgot it
    admin = bearer(login_admin(client)[0])

    synced = client.post(f"/api/v1/admin/orders/{number}/sync", headers=admin)

    assert synced.status_code == 200, synced.json
    assert synced.json["outcome"] == "not_paid" and synced.json["order"]["status"] == "awaiting_payment"
