"""Drive the admin console as a browser would: log in through the form, post forms with their CSRF token."""

from __future__ import annotations

import io
import re
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from models import Order
from models.database import unit_of_work
from services.accounts.accounts import create_admin
from services.kernel.beijing_time import BEIJING
from services.reconciliation import reconciliation
from services.registry import retirement
from tests.support.accounts import ADMIN_PASSWORD
from tests.support.pool import stock_pool
from tests.support.trade_bill import Payment, bill_text

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: TestResponse | str) -> str:
    html = page if isinstance(page, str) else page.get_data(as_text=True)
    found = CSRF_FIELD.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def console_login(client: FlaskClient, username: str = "console-admin") -> int:
    """Create an admin and log in through the console's form; gives the admin's user id."""
    profile = create_admin(username, ADMIN_PASSWORD)
    form = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"username": username, "password": ADMIN_PASSWORD, "csrf_token": csrf_token(form)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return profile.id


def post_form(client: FlaskClient, page_path: str, action: str, data: dict[str, Any]) -> TestResponse:
    """Open `page_path`, take its CSRF token and post `data` to `action`, following the redirect."""
    token = csrf_token(client.get(page_path))
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=True)


def reconciled_run(client: FlaskClient, buyer: dict[str, str], admin_id: int | None) -> dict[str, Any]:
    """A run whose bill lists a payment that never reached us, and one of an order unknown here."""
    stock_pool(tonnes=1)
    placed = client.post("/api/v1/orders", json={"product": "one_yuan", "units": 2}, headers=buyer)
    assert placed.status_code == 201, placed.json
    number = placed.json["order"]["out_trade_no"]
    with unit_of_work() as session:
        order = session.scalar(select(Order).where(Order.out_trade_no == number))
        time = order.created_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        amount = order.amount_fen
    bill = bill_text(
        [
            Payment(number, "4200000000000000000001", amount, time),
            Payment("NOT-OURS-0001", "4200000000000000000002", 300, time),
        ]
    )
    run = reconciliation.run_for_file(
        admin_id, io.BytesIO(bill.encode()), provider_name="sandbox", filename="bill.csv"
    )
    found, _ = reconciliation.list_discrepancies(run.id, page=1, page_size=10)
    by_order = {d.out_trade_no: d.id for d in found}
    return {
        "run_id": run.id,
        "order": number,
        "missed": by_order[number],
        "unknown": by_order["NOT-OURS-0001"],
    }


def draft_retirement(admin_id: int) -> int:
    """A draft retirement of the fully sold FFCER tonnes (sell them first); gives its id."""
    return retirement.create_draft(admin_id, kind_code="FFCER")["id"]
