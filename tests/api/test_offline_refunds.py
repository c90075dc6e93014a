"""Refunds of bank-transfer orders: recorded offline by an admin, paid out by bank, completed once."""

import pytest
from sqlalchemy import select

from models import Order, Refund
from models.database import read_session
from services.certificates import certificates
from services.pool.pool_audit import run_audit
from services.settlement import order_jobs, refunds
from tests.api.test_events import _accounted, stored_stage
from tests.support.events import organiser, publish
from tests.support.factors import publish_library
from tests.support.pool import stock_pool

TONNE = 1_000_000
ORDER_G = 8_056_000  # the event's actual emissions rounded up to the kilogram
ORDER_FEN = 80_560  # 8.056 t × ¥100


@pytest.fixture
def org(client):
    publish_library()
    return organiser(client, "organiser-code", "海峡会展中心")


@pytest.fixture
def paid(client, org):
    """An accounted event offset by a bank transfer the operator confirmed: (event id, order number)."""
    project_id, _ = stock_pool(tonnes=10)
    event_id, url = _accounted(client, org)
    placed = client.post(
        f"{url}/offset", json={"project_id": project_id, "payment": "bank_transfer"}, headers=org["headers"]
    )
    number = placed.json["order"]["out_trade_no"]
    confirmed = client.post(
        f"/api/v1/admin/orders/{number}/confirm-transfer",
        json={"reference": "ICBC-778", "amount_fen": ORDER_FEN},
        headers=org["admin"],
    )
    assert confirmed.json["order"]["status"] == "fulfilled"
    return {"event_id": event_id, "url": url, "order": number, "project_id": project_id}


def available(client, project_id):
    return client.get(f"/api/v1/catalogue/projects/{project_id}").json["available_g"]


def certificate_grams(number):
    """Grams of the order's valid certificate, None when it has none."""
    session = read_session()
    order = session.scalar(select(Order).where(Order.out_trade_no == number))
    current = certificates.current_for_order(session, order.id)
    session.rollback()
    return current.grams if current else None


def refund(client, org, number, **body):
    return client.post(
        f"/api/v1/admin/orders/{number}/refunds",
        json={"reason": "event cancelled", **body},
        headers=org["admin"],
    )


def paid_out(client, org, number, out_refund_no, reference):
    return client.post(
        f"/api/v1/admin/orders/{number}/refunds/{out_refund_no}/paid-out",
        json={"bank_reference": reference},
        headers=org["admin"],
    )


def test_a_partial_offline_refund_completes_when_its_payout_is_recorded(client, org, paid):
    number, project_id = paid["order"], paid["project_id"]
    # The organisation cannot refund it itself: WeChat Pay never held the money.
    own = client.post(f"/api/v1/orders/{number}/refunds", json={"reason": "x"}, headers=org["headers"])
    assert own.status_code == 409 and "bank transfer" in own.json["message"]

    recorded = refund(client, org, number, grams=3 * TONNE)
    assert recorded.status_code == 201, recorded.json
    body = recorded.json
    # 80,560 fen × 3,000,000 g / 8,056,000 g = 30,000 fen
    assert (body["status"], body["offline"], body["amount_fen"], body["bank_reference"]) == (
        "processing",
        True,
        30_000,
        None,
    )
    # Nothing moves until the bank has paid: grams, certificate and order stay.
    assert available(client, project_id) == 10 * TONNE - ORDER_G
    assert certificate_grams(number) == ORDER_G
    assert client.get(f"/api/v1/orders/{number}", headers=org["headers"]).json["status"] == "fulfilled"
    assert refund(client, org, number, grams=TONNE).status_code == 409  # one refund at a time
    # WeChat Pay is never asked about it.
    assert body["out_refund_no"] not in [
        read_session().get(Refund, i).out_refund_no for i in refunds.processing_refunds()
    ]
    report = order_jobs.finish_refunds(
        client.application.extensions["carbon.runtime"].payment_provider,
        client.application.extensions["carbon.runtime"].order_policy,
    )
    assert report.examined == 0

    done = paid_out(client, org, number, body["out_refund_no"], "ICBC-RF-01")
    assert done.status_code == 200, done.json
    assert (done.json["status"], done.json["bank_reference"]) == ("succeeded", "ICBC-RF-01")
    assert available(client, project_id) == 10 * TONNE - ORDER_G + 3 * TONNE
    order = client.get(f"/api/v1/orders/{number}", headers=org["headers"]).json
    assert (order["status"], order["refunded_g"], order["refunded_fen"]) == (
        "partially_refunded",
        3 * TONNE,
        30_000,
    )
    assert certificate_grams(number) == ORDER_G - 3 * TONNE

    # Recording the same payout again changes nothing; another reference is refused.
    again = paid_out(client, org, number, body["out_refund_no"], "ICBC-RF-01")
    assert again.status_code == 200 and again.json["status"] == "succeeded"
    assert available(client, project_id) == 10 * TONNE - ORDER_G + 3 * TONNE
    other = paid_out(client, org, number, body["out_refund_no"], "ICBC-RF-99")
    assert other.status_code == 409 and "bank_reference" in other.json["errors"]

    # The event is still offset, but its credits no longer cover it.
    assert stored_stage(paid["event_id"]) == ("offset", True)
    code = publish(client, org, paid["event_id"])
    assert client.get(f"/api/v1/public/events/{code}").json["neutral"] is False

    audit = client.get("/api/v1/admin/audit-log", headers=org["admin"]).json
    actions = [(e["action"], e["entity_id"]) for e in audit]
    assert ("refund.request", number) in actions and ("refund.paid_out", number) in actions
    payout = next(e for e in audit if e["action"] == "refund.paid_out")
    assert payout["before"]["status"] == "processing" and payout["after"]["bank_reference"] == "ICBC-RF-01"
    assert list(run_audit()) == []


def test_a_cancelled_offline_refund_leaves_the_order_and_a_full_one_voids_the_certificate(client, org, paid):
    number, project_id = paid["order"], paid["project_id"]
    mistaken = refund(client, org, number).json
    cancelled = client.post(
        f"/api/v1/admin/orders/{number}/refunds/{mistaken['out_refund_no']}/cancel",
        json={"reason": "wrong order"},
        headers=org["admin"],
    )
    assert cancelled.status_code == 200 and cancelled.json["status"] == "failed"
    assert paid_out(client, org, number, mistaken["out_refund_no"], "X").status_code == 409
    assert client.get(f"/api/v1/orders/{number}", headers=org["headers"]).json["status"] == "fulfilled"
    assert available(client, project_id) == 10 * TONNE - ORDER_G

    full = refund(client, org, number).json
    assert (full["grams"], full["amount_fen"]) == (ORDER_G, ORDER_FEN)
    assert paid_out(client, org, number, full["out_refund_no"], "ICBC-RF-02").json["status"] == "succeeded"
    assert available(client, project_id) == 10 * TONNE
    assert client.get(f"/api/v1/orders/{number}", headers=org["headers"]).json["status"] == "refunded"
    assert certificate_grams(number) is None
    # The event may be offset again.
    assert stored_stage(paid["event_id"]) == ("accounted", False)
    assert list(run_audit()) == []


def test_grams_in_a_registry_retirement_are_not_refunded_offline(client, org, paid):
    number = paid["order"]
    drafted = client.post("/api/v1/admin/retirements", json={"kind": "FFCER"}, headers=org["admin"])
    assert drafted.status_code == 201 and drafted.json["tonnes"] == 8  # the order's fully sold tonnes
    refused = refund(client, org, number)
    assert refused.status_code == 409 and "retired" in refused.json["message"]
    # The 56 kg outside the whole tonnes may still go back.
    allowed = refund(client, org, number, grams=56_000)
    assert allowed.status_code == 201 and allowed.json["offline"] is True


def test_an_offline_refund_keeps_its_tonnes_out_of_new_retirements(client, org, paid):
    pending = refund(client, org, paid["order"], grams=TONNE).json
    assert client.get("/api/v1/admin/retirements/retirable", headers=org["admin"]).json == []
    paid_out(client, org, paid["order"], pending["out_refund_no"], "ICBC-RF-03")
    retirable = client.get("/api/v1/admin/retirements/retirable", headers=org["admin"]).json
    assert len(retirable) == 7  # 8.056 t sold, 1 t returned: 7 whole tonnes sold


def test_wechat_refunds_are_not_recorded_as_paid_out_by_bank(client, org):
    project_id, _ = stock_pool(tonnes=10)
    _, url = _accounted(client, org)
    number = client.post(f"{url}/offset", json={"project_id": project_id}, headers=org["headers"]).json[
        "order"
    ]["out_trade_no"]
    client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=org["headers"])
    wechat = refund(client, org, number, grams=TONNE).json
    assert wechat["status"] == "succeeded" and wechat["offline"] is False
    refused = paid_out(client, org, number, wechat["out_refund_no"], "ICBC-1")
    assert refused.status_code == 409 and "WeChat Pay" in refused.json["message"]
    assert paid_out(client, org, "NOSUCHORDER", wechat["out_refund_no"], "ICBC-1").status_code == 404
    assert paid_out(client, org, number, "RFNOSUCH", "ICBC-1").status_code == 404
    users = client.post(
        f"/api/v1/admin/orders/{number}/refunds/{wechat['out_refund_no']}/paid-out",
        json={"bank_reference": "ICBC-1"},
        headers=org["headers"],
    )
    assert users.status_code == 403
