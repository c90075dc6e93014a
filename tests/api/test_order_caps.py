"""One person's unpaid orders are capped: how many may be open, and how many grams they may hold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from models import Batch, Order, Reservation, utcnow
from models.database import db_session, unit_of_work
from tests.api.test_footprints import MONTH as FOOTPRINT
from tests.support.accounts import bearer, login_user
from tests.support.concurrency import run_together
from tests.support.events import organiser
from tests.support.factors import publish_library
from tests.support.pool import stock_pool

MAX_OPEN = 3
MAX_G = 100_000  # 100 kg: ten one-yuan units of 10 kg
CAPPED = {"MAX_OPEN_ORDERS_PER_USER": MAX_OPEN, "MAX_RESERVED_GRAMS_PER_USER": MAX_G}


@pytest.fixture
def app_overrides():
    return CAPPED


@pytest.fixture
def buyer(client):
    token, _user = login_user(client, "capped-buyer")
    return bearer(token)


def place(client, headers, units: int = 1, **extra):
    return client.post(
        "/api/v1/orders", json={"product": "one_yuan", "units": units}, headers={**headers, **extra}
    )


def _pool() -> tuple[int, int]:
    """(available, reserved) grams of the whole pool."""
    with unit_of_work() as session:
        available, reserved = session.execute(
            select(func.sum(Batch.available_g), func.sum(Batch.reserved_g))
        ).one()
        return int(available), int(reserved)


def _counts() -> tuple[int, int]:
    with unit_of_work() as session:
        return session.scalar(select(func.count(Order.id))), session.scalar(
            select(func.count(Reservation.id))
        )


def _fill(client, headers, count: int = MAX_OPEN, units: int = 1) -> list[str]:
    numbers = []
    for _ in range(count):
        placed = place(client, headers, units)
        assert placed.status_code == 201, placed.json
        numbers.append(placed.json["order"]["out_trade_no"])
    return numbers


def test_one_open_order_too_many_is_refused_with_429_and_reserves_nothing(client, buyer):
    stock_pool()
    _fill(client, buyer)
    pool, counts = _pool(), _counts()

    refused = place(client, buyer)

    assert refused.status_code == 429, refused.json
    assert refused.json["error"] == "too_many_open_orders"
    assert refused.json["message"] == f"You have {MAX_OPEN} unpaid orders; pay or cancel one first."
    assert refused.json["errors"] == {"open_orders": MAX_OPEN, "max_open_orders": MAX_OPEN}
    # Come back when the first one expires (15 minutes), not in a few seconds.
    assert 800 < int(refused.headers["Retry-After"]) <= 15 * 60 + 1
    assert (_pool(), _counts()) == (pool, counts)


def test_a_credits_order_over_the_open_orders_cap_is_refused_too(client, buyer):
    project_id, _ = stock_pool()
    _fill(client, buyer)
    refused = client.post(
        "/api/v1/orders", json={"product": "credits", "project_id": project_id, "kg": 1}, headers=buyer
    )
    assert refused.status_code == 429, refused.json


def test_an_order_that_would_hold_too_many_grams_is_refused_with_409(client, buyer):
    stock_pool()
    _fill(client, buyer, count=1, units=6)  # 60 kg held
    pool, counts = _pool(), _counts()

    refused = place(client, buyer, units=5)  # 50 kg more: 110 kg > 100 kg

    assert refused.status_code == 409, refused.json
    assert refused.json["error"] == "reservation_limit_reached"
    message = refused.json["message"]
    assert "at most 100 kg" in message and "hold 60 kg already" in message and "50 kg" in message
    assert refused.json["errors"] == {"max_reserved_g": MAX_G, "held_g": 60_000, "requested_g": 50_000}
    assert (_pool(), _counts()) == (pool, counts)
    # Up to the cap exactly is allowed.
    assert place(client, buyer, units=4).status_code == 201


def test_one_order_larger_than_the_cap_is_refused(client, buyer):
    project_id, _ = stock_pool()
    pool = _pool()
    too_big = client.post(
        "/api/v1/orders", json={"product": "credits", "project_id": project_id, "kg": 101}, headers=buyer
    )
    assert too_big.status_code == 409, too_big.json
    assert too_big.json["errors"] == {"max_reserved_g": MAX_G, "held_g": 0, "requested_g": 101_000}
    assert too_big.json["message"] == (
        "One buyer's unpaid orders may hold at most 100 kg; this order of 101 kg is more than that."
    )
    assert _pool() == pool


def test_paying_an_order_frees_its_place(client, buyer):
    stock_pool()
    first, *_ = _fill(client, buyer)
    assert place(client, buyer).status_code == 429
    paid = client.post(f"/api/v1/sandbox/orders/{first}/pay", headers=buyer)
    assert paid.status_code == 200 and paid.json["status"] == "fulfilled", paid.json
    assert place(client, buyer).status_code == 201


def test_cancelling_an_order_frees_its_place_and_its_grams(client, buyer):
    stock_pool()
    (big,) = _fill(client, buyer, count=1, units=10)  # the whole 100 kg
    assert place(client, buyer).status_code == 409
    cancelled = client.post(f"/api/v1/orders/{big}/cancel", headers=buyer)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled", cancelled.json
    numbers = _fill(client, buyer)
    assert place(client, buyer).status_code == 429
    assert client.post(f"/api/v1/orders/{numbers[0]}/cancel", headers=buyer).status_code == 200
    assert place(client, buyer).status_code == 201


def test_an_order_past_its_payment_window_no_longer_counts(client, buyer):
    stock_pool()
    first, *_ = _fill(client, buyer)
    with unit_of_work() as session:
        session.execute(
            update(Order)
            .where(Order.out_trade_no == first)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert place(client, buyer).status_code == 201


def test_one_buyers_caps_are_not_anothers(client, buyer):
    stock_pool()
    _fill(client, buyer)
    other, _ = login_user(client, "uncapped-neighbour")
    assert place(client, buyer).status_code == 429
    assert place(client, bearer(other)).status_code == 201


def test_a_replayed_request_still_gives_its_order(client, buyer):
    stock_pool()
    first = place(client, buyer, **{"Idempotency-Key": "first-order"})
    assert first.status_code == 201
    _fill(client, buyer, count=MAX_OPEN - 1)
    again = place(client, buyer, **{"Idempotency-Key": "first-order"})
    assert again.status_code == 201, again.json
    assert again.json["order"]["out_trade_no"] == first.json["order"]["out_trade_no"]
    assert place(client, buyer, **{"Idempotency-Key": "a-new-order"}).status_code == 429


def test_a_footprint_offset_is_capped_like_any_order(client, buyer):
    publish_library()
    stock_pool()
    footprint = client.post("/api/v1/footprints/calculate", json=FOOTPRINT, headers=buyer)
    assert footprint.status_code == 201, footprint.json
    pool = _pool()
    refused = client.post(f"/api/v1/me/footprints/{footprint.json['id']}/offset", headers=buyer)
    assert refused.status_code == 409, refused.json  # 31 units: 310 kg, over the 100 kg a buyer may hold
    assert refused.json["error"] == "reservation_limit_reached"
    assert refused.json["errors"]["requested_g"] == 310_000
    assert _pool() == pool


def test_organisation_purchases_are_neither_capped_nor_counted(client):
    who = organiser(client, "capped-organiser", "福州市某会展公司")
    project_id, _ = stock_pool(tonnes=8)
    for _ in range(MAX_OPEN + 1):  # more orders than a person may have, each far above the gram cap
        claimed = client.post(
            f"/api/v1/organisations/{who['organisation_id']}/institutional-claims",
            json={
                "kind": "tree_planting",
                "tonnes_required": "1",
                "project_id": project_id,
                "payment": "bank_transfer",
            },
            headers=who["headers"],
        )
        assert claimed.status_code == 201, claimed.json
    # The member's own caps are untouched by what they bought for the organisation.
    _fill(client, who["headers"])


def test_the_order_endpoint_documents_both_refusals(client):
    responses = client.get("/api/openapi.json").json["paths"]["/api/v1/orders"]["post"]["responses"]
    assert "too_many_open_orders" in responses["429"]["description"]
    assert "reservation_limit_reached" in responses["409"]["description"]


def _race(flask_app, count: int = 8) -> None:
    """One buyer places `count` orders at the same moment: exactly the cap's worth are written."""
    stock_pool()
    client = flask_app.test_client()
    token, _user = login_user(client, "hasty-buyer")
    headers = bearer(token)

    def order(_index: int) -> int:
        try:
            return place(client, headers).status_code
        finally:
            db_session.remove()

    statuses = run_together(order, count)

    assert sorted(statuses) == [201] * MAX_OPEN + [429] * (count - MAX_OPEN), statuses
    assert _counts() == (MAX_OPEN, MAX_OPEN)
    assert _pool()[1] == MAX_OPEN * 10_000


def test_orders_placed_at_once_never_pass_the_cap(app):
    _race(app)


@pytest.mark.postgres
@pytest.mark.parametrize("app_overrides", [{**CAPPED, "DATABASE_POOL_SIZE": 10}])
def test_orders_placed_at_once_never_pass_the_cap_on_postgresql(pg_app):
    _race(pg_app)
