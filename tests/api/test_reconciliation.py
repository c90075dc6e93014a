"""Reconciliation against a trade bill on the embedded default (sandbox payments, SQLite)."""

import io
from collections import Counter

import pytest
from sqlalchemy import select

from models import Order, Refund
from models.database import unit_of_work
from services.kernel.beijing_time import BEIJING
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.pool import stock_pool
from tests.support.trade_bill import Payment, RefundLine, bill_text

RUNS = "/api/v1/admin/reconciliation/runs"


@pytest.fixture
def admin(client):
    token, _ = login_admin(client)
    return bearer(token)


@pytest.fixture
def buyer(client):
    token, _ = login_user(client, "reconcile-buyer")
    return bearer(token)


def place(client, headers, units=2):
    response = client.post("/api/v1/orders", json={"product": "one_yuan", "units": units}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json["order"]["out_trade_no"]


def paid_order(client, headers, units=2):
    number = place(client, headers, units)
    assert client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=headers).status_code == 200
    return number


def refund(client, admin, number, grams):
    response = client.post(
        f"/api/v1/admin/orders/{number}/refunds", json={"grams": grams, "reason": "test"}, headers=admin
    )
    assert response.status_code == 201, response.json
    return response.json


def order_row(number):
    with unit_of_work() as session:
        return session.scalar(select(Order).where(Order.out_trade_no == number))


def refund_row(out_refund_no):
    with unit_of_work() as session:
        return session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no))


def as_payment(number, **changes):
    order = order_row(number)
    time = (order.paid_at or order.created_at).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    values = {
        "out_trade_no": number,
        "transaction_id": order.transaction_id or "4200" + number[-12:],
        "amount_fen": order.amount_fen,
        "time": time,
    }
    return Payment(**(values | changes))


def as_refund_line(out_refund_no, **changes):
    row = refund_row(out_refund_no)
    order = order_row_by_id(row.order_id)
    values = {
        "out_trade_no": order.out_trade_no,
        "transaction_id": order.transaction_id,
        "out_refund_no": out_refund_no,
        "refund_id": row.refund_id,
        "amount_fen": row.amount_fen,
        "time": row.created_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
    }
    return RefundLine(**(values | changes))


def order_row_by_id(order_id):
    with unit_of_work() as session:
        return session.get(Order, order_id)


def upload(client, headers, text, date=None, name="bill.csv"):
    data = {"file": (io.BytesIO(text.encode()), name)}
    if date:
        data["date"] = date
    return client.post(f"{RUNS}/upload", data=data, headers=headers, content_type="multipart/form-data")


def discrepancies(client, headers, run_id, **query):
    response = client.get(
        f"{RUNS}/{run_id}/discrepancies", query_string={"page_size": 100, **query}, headers=headers
    )
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def scene(client, admin, buyer):
    return build_scene(client, admin, buyer)


def build_scene(client, admin, buyer):
    """Orders and refunds here, and a bill of the same day that differs from them in every way."""
    stock_pool(tonnes=2)
    ok, amount, other_tx, unlisted, refunded, refund_amount, refund_unlisted = (
        paid_order(client, buyer) for _ in range(7)
    )
    missed = place(client, buyer)  # paid at WeChat Pay; its notification never came
    listed_refund = refund(client, admin, refunded, 10_000)["out_refund_no"]
    wrong_refund = refund(client, admin, refund_amount, 10_000)["out_refund_no"]
    unlisted_refund = refund(client, admin, refund_unlisted, 10_000)["out_refund_no"]
    payments = [
        as_payment(ok),
        as_payment(amount, amount_fen=order_row(amount).amount_fen + 1),
        as_payment(other_tx, transaction_id="4200999999999999"),
        as_payment(refunded),
        as_payment(refund_amount),
        as_payment(refund_unlisted),
        as_payment(missed, time=as_payment(ok).time),
        Payment("CO20991231UNKNOWN1", "4200888888888888", 500, as_payment(ok).time),
    ]
    refunds = [
        as_refund_line(listed_refund),
        as_refund_line(wrong_refund, amount_fen=99),
        RefundLine(ok, order_row(ok).transaction_id, "RF_BY_HAND_0001", "503099", 100, as_payment(ok).time),
    ]
    return {
        "payments": payments,
        "refunds": refunds,
        "day": as_payment(ok).time[:10],
        "numbers": {
            "ok": ok,
            "amount": amount,
            "other_tx": other_tx,
            "unlisted": unlisted,
            "missed": missed,
            "refund_unlisted": refund_unlisted,
        },
        "refund_numbers": {"wrong": wrong_refund, "unlisted": unlisted_refund},
    }


def test_every_kind_of_discrepancy_is_found_on_a_small_bill(client, admin, scene):
    check_every_kind(client, admin, scene)


@pytest.mark.postgres
def test_every_kind_of_discrepancy_is_found_on_postgres(pg_client):
    admin = bearer(login_admin(pg_client)[0])
    buyer = bearer(login_user(pg_client, "pg-buyer")[0])
    check_every_kind(pg_client, admin, build_scene(pg_client, admin, buyer))


def check_every_kind(client, admin, scene):
    text = bill_text(scene["payments"], scene["refunds"], summary={1: "999.99", 4: "0.00"})
    response = upload(client, admin, text)
    assert response.status_code == 201, response.json
    run = response.json
    assert run["status"] == "done" and run["bill_date"] == scene["day"] and run["source"] == "upload"
    assert (run["trade_rows"], run["refund_rows"], run["lines_read"]) == (8, 3, 14)
    assert run["matched"] == 5  # four payments and one refund agree
    found = discrepancies(client, admin, run["id"])
    kinds = Counter(d["kind"] for d in found)
    assert kinds == {
        "missing_here": 2,
        "missing_at_wechat": 1,
        "amount_differs": 1,
        "status_differs": 1,
        "refund_missing_here": 1,
        "refund_missing_at_wechat": 1,
        "refund_amount_differs": 1,
        "totals_mismatch": 1,
        "fee_mismatch": 1,
    }
    assert run["discrepancies"] == len(found) == 10
    assert run["totals"]["by_kind"] == dict(kinds)
    by = {(d["kind"], d["out_trade_no"]): d for d in found}
    numbers = scene["numbers"]
    assert by[("missing_here", numbers["missed"])]["order_id"] is not None
    assert by[("missing_here", numbers["missed"])]["status_here"] == "awaiting_payment"
    assert by[("missing_here", "CO20991231UNKNOWN1")]["order_id"] is None
    assert by[("missing_at_wechat", numbers["unlisted"])]["amount_here_fen"] == 200
    amount = by[("amount_differs", numbers["amount"])]
    assert (amount["amount_here_fen"], amount["amount_there_fen"], amount["line_no"]) == (200, 201, 3)
    assert by[("status_differs", numbers["other_tx"])]["transaction_id"] == "4200999999999999"
    refund_here = {d["kind"]: d for d in found if d["kind"].startswith("refund_")}
    assert refund_here["refund_missing_here"]["out_refund_no"] == "RF_BY_HAND_0001"
    assert refund_here["refund_amount_differs"]["out_refund_no"] == scene["refund_numbers"]["wrong"]
    assert (
        refund_here["refund_amount_differs"]["amount_here_fen"],
        refund_here["refund_amount_differs"]["amount_there_fen"],
    ) == (100, 99)
    assert refund_here["refund_missing_at_wechat"]["out_refund_no"] == scene["refund_numbers"]["unlisted"]
    totals = [d for d in found if d["kind"] in ("totals_mismatch", "fee_mismatch")]
    assert [d["detail"].split(":")[0] for d in totals] == ["应结订单总金额", "手续费总金额"]
    assert totals[0]["amount_there_fen"] == 99_999 and totals[0]["line_no"] == 14
    only = discrepancies(client, admin, run["id"], kind="missing_here")
    assert {d["out_trade_no"] for d in only} == {numbers["missed"], "CO20991231UNKNOWN1"}


def test_a_bill_that_agrees_gives_no_discrepancy(client, admin, scene):
    numbers = scene["numbers"]
    payments = [
        p for p in scene["payments"] if p.out_trade_no not in (numbers["missed"], "CO20991231UNKNOWN1")
    ]
    for payment in payments:
        payment.amount_fen = order_row(payment.out_trade_no).amount_fen
        payment.transaction_id = order_row(payment.out_trade_no).transaction_id
    payments.append(as_payment(numbers["unlisted"]))
    refunds = [as_refund_line(r.out_refund_no) for r in scene["refunds"][:2]]
    refunds.append(as_refund_line(scene["refund_numbers"]["unlisted"]))
    run = upload(client, admin, bill_text(payments, refunds), date=scene["day"]).json
    assert run["status"] == "done" and run["discrepancies"] == 0
    assert run["matched"] == len(payments) + len(refunds) == 10
    assert run["totals"]["here"] == {"paid_orders": 7, "paid_fen": 1_400, "refunds": 3, "refund_fen": 300}
    assert run["totals"]["rows"]["payments_fen"] == 1_400 and run["totals"]["bill"]["settled_fen"] == 1_400


def test_totals_mismatch_alone(client, admin, buyer):
    stock_pool()
    number = paid_order(client, buyer)
    text = bill_text([as_payment(number)], summary={0: "2"})
    run = upload(client, admin, text).json
    (only,) = discrepancies(client, admin, run["id"])
    assert only["kind"] == "totals_mismatch"
    assert only["detail"] == "总交易单数: the summary says 2 rows, the rows add up to 1"


def test_fulfil_a_missed_callback_refund_and_explain_are_audited(client, admin, scene):
    run = upload(client, admin, bill_text(scene["payments"], scene["refunds"])).json
    found = {(d["kind"], d["out_trade_no"]): d for d in discrepancies(client, admin, run["id"])}
    numbers = scene["numbers"]
    resolve = "/api/v1/admin/reconciliation/discrepancies/{}/resolve"

    missed = found[("missing_here", numbers["missed"])]
    answer = client.post(resolve.format(missed["id"]), json={"action": "fulfil"}, headers=admin)
    assert answer.status_code == 200, answer.json
    assert answer.json["resolution"] == "fulfilled" and answer.json["resolved_by"] is not None
    assert answer.json["resolution_note"].startswith("payment taken from the bill: fulfilled")
    order = order_row(numbers["missed"])
    assert order.status == "fulfilled" and order.transaction_id == missed["transaction_id"]
    again = client.post(resolve.format(missed["id"]), json={"action": "explain", "note": "x"}, headers=admin)
    assert again.status_code == 409

    unknown = found[("missing_here", "CO20991231UNKNOWN1")]
    refused = client.post(resolve.format(unknown["id"]), json={"action": "fulfil"}, headers=admin)
    assert refused.status_code == 409
    no_note = client.post(resolve.format(unknown["id"]), json={"action": "explain"}, headers=admin)
    assert no_note.status_code == 422 and "note" in no_note.json["errors"]
    explained = client.post(
        resolve.format(unknown["id"]),
        json={"action": "explain", "note": "a payment of another shop on this merchant account"},
        headers=admin,
    )
    assert explained.status_code == 200 and explained.json["resolution"] == "explained"

    amount = found[("amount_differs", numbers["amount"])]
    refunded = client.post(
        resolve.format(amount["id"]),
        json={"action": "refund", "note": "charged 1 fen too much"},
        headers=admin,
    )
    assert refunded.status_code == 200, refunded.json
    assert refunded.json["resolution"] == "refunded" and "succeeded" in refunded.json["resolution_note"]
    assert order_row(numbers["amount"]).status == "refunded"

    log = client.get(
        "/api/v1/admin/audit-log", query_string={"entity": "reconciliation_discrepancy"}, headers=admin
    )
    entries = {(e["action"], e["entity_id"]): e for e in log.json}
    assert set(entries) == {
        ("reconciliation.fulfil", str(missed["id"])),
        ("reconciliation.explain", str(unknown["id"])),
        ("reconciliation.refund", str(amount["id"])),
    }
    fulfil = entries[("reconciliation.fulfil", str(missed["id"]))]
    assert fulfil["before"]["resolution"] is None and fulfil["after"]["resolution"] == "fulfilled"
    started = client.get(
        "/api/v1/admin/audit-log", query_string={"action": "reconciliation.start"}, headers=admin
    )
    assert [e["entity_id"] for e in started.json] == [str(run["id"])]
    refund_audit = client.get(
        "/api/v1/admin/audit-log", query_string={"action": "refund.request"}, headers=admin
    )
    assert numbers["amount"] in {e["entity_id"] for e in refund_audit.json}


def test_a_malformed_upload_fails_the_run_and_names_the_line(client, admin, scene):
    lines = bill_text(scene["payments"]).split("\r\n")
    lines[4] = f"`{scene['day']} 10:15:00,`wx,`190"
    response = upload(client, admin, "\r\n".join(lines))
    assert response.status_code == 422
    assert response.json["errors"] == {"file": ["line 5: expected 27 values, found 3"]}
    (run,) = client.get(RUNS, headers=admin).json
    assert run["status"] == "failed" and run["error"].startswith("The trade bill cannot be read: line 5")


def test_a_row_of_another_day_is_refused(client, admin, scene):
    payments = scene["payments"][:2]
    payments[1].time = "2001-01-01 00:00:00"
    response = upload(client, admin, bill_text(payments))
    assert response.status_code == 422
    assert response.json["errors"]["file"] == [f"line 3: a row of 2001-01-01 in the bill of {scene['day']}"]


def test_run_by_date_through_the_sandbox_and_fulfil(client, admin, buyer):
    stock_pool()
    from api.context import payment_provider

    number = place(client, buyer)
    order = order_row(number)
    payment_provider().complete(number, order.amount_fen)  # paid; the notification is lost
    day = order.created_at.astimezone(BEIJING).date().isoformat()
    response = client.post(RUNS, json={"date": day}, headers=admin)
    assert response.status_code == 201, response.json
    assert response.json["source"] == "provider" and response.json["provider"] == "sandbox"
    (missed,) = discrepancies(client, admin, response.json["id"])
    assert missed["kind"] == "missing_here" and missed["out_trade_no"] == number
    answer = client.post(
        f"/api/v1/admin/reconciliation/discrepancies/{missed['id']}/resolve",
        json={"action": "fulfil"},
        headers=admin,
    )
    assert answer.status_code == 200, answer.json
    assert order_row(number).status == "fulfilled"
    rerun = client.post(RUNS, json={"date": day}, headers=admin).json
    assert rerun["discrepancies"] == 0 and rerun["matched"] == 1
    listed = client.get(RUNS, query_string={"date": day}, headers=admin)
    assert [r["id"] for r in listed.json] == [rerun["id"], response.json["id"]]
    assert '"total": 2' in listed.headers["X-Pagination"]


def test_runs_and_resolutions_are_for_admins_only(client, buyer):
    assert client.get(RUNS).status_code == 401
    assert client.get(RUNS, headers=buyer).status_code == 403
    assert client.post(RUNS, json={"date": "2026-11-22"}, headers=buyer).status_code == 403
    assert upload(client, buyer, "x").status_code == 403
    assert client.get(f"{RUNS}/1/discrepancies", headers=buyer).status_code == 403
    resolve = client.post(
        "/api/v1/admin/reconciliation/discrepancies/1/resolve",
        json={"action": "explain", "note": "x"},
        headers=buyer,
    )
    assert resolve.status_code == 403


def test_bad_requests_say_what_is_wrong(client, admin):
    assert client.post(RUNS, json={}, headers=admin).json["errors"]["json"] == {
        "date": ["Missing data for required field."]
    }
    assert client.get(f"{RUNS}/999", headers=admin).status_code == 404
    assert client.get(f"{RUNS}/999/discrepancies", headers=admin).status_code == 404
    bad_kind = client.get(f"{RUNS}/1/discrepancies", query_string={"kind": "nope"}, headers=admin)
    assert bad_kind.status_code == 422 and "kind" in bad_kind.json["errors"]["query"]
    resolve = client.post(
        "/api/v1/admin/reconciliation/discrepancies/1/resolve", json={"action": "pay"}, headers=admin
    )
    assert resolve.status_code == 422
    assert (
        client.post(
            "/api/v1/admin/reconciliation/discrepancies/999/resolve", json={"action": "fulfil"}, headers=admin
        ).status_code
        == 404
    )
    empty = upload(client, admin, "")
    assert empty.status_code == 422 and "date" in empty.json["errors"]


def test_cli_reconciles_a_file_with_a_progress_bar(app, client, admin, scene, tmp_path):
    path = tmp_path / "bill.csv"
    path.write_text(bill_text(scene["payments"], scene["refunds"]), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["reconcile", "file", str(path), "--date", scene["day"]])
    assert result.exit_code == 0, result.output
    assert "reconciling" in result.output
    assert "14 lines, 8 payments, 3 refunds, 5 matched, 8 discrepancies" in result.output
    assert "missing_here: 2" in result.output
    (run,) = client.get(RUNS, headers=admin).json
    assert (
        run["source"] == "file" and run["filename"] == "bill.csv" and run["bytes_read"] == path.stat().st_size
    )
    bad = app.test_cli_runner().invoke(args=["reconcile", "file", str(path), "--date", "22-11-2026"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output
