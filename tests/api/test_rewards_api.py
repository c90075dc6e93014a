"""Rewards over HTTP: the catalogue, redeeming with points, limits and windows, codes, fulfilment, audit."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import AuditEntry, CouponCode, PointsEntry, PointsKind, RewardItem, utcnow
from models.database import read_session
from services.points import points
from tests.points_support import check_ledger
from tests.support.accounts import bearer, login_admin
from tests.support.rewards import create_item, give_points, headers_for, make_member, redeem


@pytest.fixture
def admin(client):
    token, _ = login_admin(client)
    return bearer(token)


@pytest.fixture
def alice(app):
    user = make_member("alice")
    give_points(user, 1_000)
    return user


def _stock(item_id):
    session = read_session()
    session.expire_all()
    return session.get(RewardItem, item_id).stock


def _audit(action):
    session = read_session()
    return session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    ).all()


# -- catalogue --


def test_catalogue_is_public_shows_what_is_on_offer_and_filters_by_kind(client):
    now = utcnow()
    gift = create_item(name="Reusable bag")
    voucher = create_item(kind="voucher", name="Metro ride", cost_points=50)
    upcoming = create_item(kind="tree_planting", name="Plant a tree", valid_from=now + timedelta(days=3))
    create_item(name="Retired mug", active=False)
    create_item(name="Last year's calendar", valid_until=now - timedelta(days=1))

    listed = client.get("/api/v1/rewards")
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json] == [gift, voucher, upcoming]
    assert listed.json[0]["stock"] is None  # unlimited
    assert client.get("/api/v1/rewards?kind=voucher").json[0]["name"] == "Metro ride"
    assert len(client.get("/api/v1/rewards?kind=voucher").json) == 1
    assert client.get("/api/v1/rewards?kind=spaceship").status_code == 422

    page = client.get("/api/v1/rewards?page=2&page_size=2")
    assert [item["id"] for item in page.json] == [upcoming]
    assert '"total": 3' in page.headers["X-Pagination"]
    assert client.get(f"/api/v1/rewards/{gift}").json["name"] == "Reusable bag"


def test_inactive_or_unknown_reward_is_not_shown(client):
    retired = create_item(active=False)
    assert client.get(f"/api/v1/rewards/{retired}").status_code == 404
    assert client.get("/api/v1/rewards/9999").status_code == 404


# -- admin items --


def test_admin_creates_and_changes_items_and_each_write_is_audited(client, admin):
    created = client.post(
        "/api/v1/admin/rewards",
        json={
            "kind": "service",
            "name": "Bike check-up",
            "cost_points": 300,
            "stock": 10,
            "per_user_limit": 1,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.json
    item_id = created.json["id"]
    assert created.json["active"] is True
    changed = client.patch(
        f"/api/v1/admin/rewards/{item_id}", json={"stock": 4, "cost_points": 250}, headers=admin
    )
    assert changed.status_code == 200
    assert (changed.json["stock"], changed.json["cost_points"]) == (4, 250)
    assert client.get(f"/api/v1/rewards/{item_id}").json["cost_points"] == 250

    [create] = _audit("reward_item.create")
    [update] = _audit("reward_item.update")
    assert create.after["name"] == "Bike check-up"
    assert (update.before["stock"], update.after["stock"]) == (10, 4)
    assert update.entity_id == str(item_id)


def test_admin_item_input_is_checked(client, admin):
    now = utcnow()
    bad = client.post(
        "/api/v1/admin/rewards",
        json={
            "kind": "gift",
            "name": "Mug",
            "cost_points": 10,
            "valid_from": now.isoformat(),
            "valid_until": (now - timedelta(days=1)).isoformat(),
        },
        headers=admin,
    )
    assert bad.status_code == 422
    assert "valid_until" in bad.json["errors"]["json"]
    negative = client.post(
        "/api/v1/admin/rewards",
        json={"kind": "gift", "name": "Mug", "cost_points": 10, "stock": -1},
        headers=admin,
    )
    assert negative.status_code == 422
    assert "stock" in negative.json["errors"]["json"]
    item = create_item(valid_until=now + timedelta(days=1))
    window = client.patch(
        f"/api/v1/admin/rewards/{item}",
        json={"valid_from": (now + timedelta(days=2)).isoformat()},
        headers=admin,
    )
    assert window.status_code == 422
    assert "valid_until" in window.json["errors"]
    assert client.patch("/api/v1/admin/rewards/9999", json={"stock": 1}, headers=admin).status_code == 404


def test_admin_endpoints_need_an_admin(client, alice):
    user = headers_for(alice)
    assert client.post("/api/v1/admin/rewards", json={}, headers=user).status_code == 403
    assert client.get("/api/v1/admin/redemptions", headers=user).status_code == 403
    assert client.post("/api/v1/admin/rewards", json={}).status_code == 401


# -- redeeming --


def test_redeeming_spends_points_takes_stock_and_is_listed_as_mine(client, alice):
    item = create_item(name="Reusable bag", cost_points=300, stock=3)
    headers = headers_for(alice)
    response = redeem(client, headers, item, note="Room 301")
    assert response.status_code == 201, response.json
    assert response.json["state"] == "pending"
    assert response.json["points"] == 300
    assert response.json["item"]["name"] == "Reusable bag"
    assert points.balance(alice).balance == 700
    assert _stock(item) == 2
    mine = client.get("/api/v1/me/redemptions", headers=headers).json
    assert [(r["id"], r["note"]) for r in mine] == [(response.json["id"], "Room 301")]
    spend = read_session().scalars(select(PointsEntry).where(PointsEntry.kind == PointsKind.SPEND)).one()
    assert (spend.points, spend.source_type.value, spend.source_id) == (
        -300,
        "redemption",
        str(response.json["id"]),
    )
    check_ledger(alice)


def test_each_user_sees_only_their_own_redemptions(client, alice):
    bob = make_member("bob")
    give_points(bob, 500)
    item = create_item()
    redeem(client, headers_for(alice), item)
    assert client.get("/api/v1/me/redemptions", headers=headers_for(bob)).json == []


def test_same_key_and_body_give_the_same_redemption_once(client, alice):
    item = create_item(cost_points=100)
    headers = headers_for(alice)
    first = redeem(client, headers, item, key="tap-1", note="x")
    again = redeem(client, headers, item, key="tap-1", note="x")
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"]
    assert points.balance(alice).balance == 900
    other_body = redeem(client, headers, item, key="tap-1", note="y")
    assert other_body.status_code == 422
    assert other_body.json["error"] == "idempotency_key_reused"
    other_item = redeem(client, headers, create_item(), key="tap-1", note="x")
    assert other_item.status_code == 422
    assert points.balance(alice).balance == 900
    assert len(client.get("/api/v1/me/redemptions", headers=headers).json) == 1


def test_a_redemption_needs_an_idempotency_key(client, alice):
    item = create_item()
    response = client.post(f"/api/v1/rewards/{item}/redeem", json={}, headers=headers_for(alice))
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json["errors"]["headers"]
    assert points.balance(alice).balance == 1_000


def test_not_enough_points_is_refused_and_takes_no_stock(client):
    poor = make_member("poor")
    give_points(poor, 99)
    item = create_item(cost_points=100, stock=5)
    response = redeem(client, headers_for(poor), item)
    assert response.status_code == 409
    assert response.json["error"] == "insufficient_points"
    assert _stock(item) == 5
    assert points.balance(poor).balance == 99


def test_out_of_stock_is_refused_and_spends_nothing(client, alice):
    item = create_item(stock=1)
    headers = headers_for(alice)
    assert redeem(client, headers, item).status_code == 201
    response = redeem(client, headers, item)
    assert response.status_code == 409
    assert response.json["error"] == "out_of_stock"
    assert points.balance(alice).balance == 900
    assert _stock(item) == 0


def test_per_user_limit_counts_all_but_cancelled_redemptions(client, alice, admin):
    item = create_item(per_user_limit=2)
    headers = headers_for(alice)
    first = redeem(client, headers, item)
    assert redeem(client, headers, item).status_code == 201
    third = redeem(client, headers, item)
    assert third.status_code == 409
    assert third.json["error"] == "redemption_limit_reached"
    assert points.balance(alice).balance == 800
    # Someone else still may.
    bob = make_member("bob")
    give_points(bob, 100)
    assert redeem(client, headers_for(bob), item).status_code == 201
    # A cancelled redemption frees its place.
    client.post(f"/api/v1/admin/redemptions/{first.json['id']}/cancel", json={}, headers=admin)
    assert redeem(client, headers, item).status_code == 201


def test_only_within_the_validity_window_and_while_active(client, alice, admin):
    now = utcnow()
    headers = headers_for(alice)
    early = redeem(client, headers, create_item(valid_from=now + timedelta(hours=1)))
    assert early.status_code == 409
    assert early.json["error"] == "not_redeemable"
    late = redeem(client, headers, create_item(valid_until=now - timedelta(seconds=1)))
    assert late.status_code == 409
    assert late.json["error"] == "not_redeemable"
    inactive = redeem(client, headers, create_item(active=False))
    assert inactive.status_code == 409
    current = create_item(valid_from=now - timedelta(hours=1), valid_until=now + timedelta(hours=1))
    assert redeem(client, headers, current).status_code == 201
    client.patch(f"/api/v1/admin/rewards/{current}", json={"active": False}, headers=admin)
    assert redeem(client, headers, current).status_code == 409
    assert points.balance(alice).balance == 900
    assert redeem(client, headers, 9999).status_code == 404


# -- coupon codes --


def test_admin_loads_codes_and_each_redemption_gets_its_own(client, alice, admin):
    item = create_item(kind="voucher", name="Metro ride", cost_points=10, uses_codes=True)
    loaded = client.post(
        f"/api/v1/admin/rewards/{item}/codes", json={"codes": ["METRO-0001", "METRO-0002"]}, headers=admin
    )
    assert loaded.status_code == 201, loaded.json
    assert (loaded.json["available"], loaded.json["assigned"]) == (2, 0)
    headers = headers_for(alice)
    first = redeem(client, headers, item)
    second = redeem(client, headers, item)
    assert first.json["state"] == second.json["state"] == "issued"  # the code is in the user's hands
    assert first.json["issued_at"] is not None
    assert {first.json["coupon_code"], second.json["coupon_code"]} == {"METRO-0001", "METRO-0002"}
    assert [r["coupon_code"] for r in client.get("/api/v1/me/redemptions", headers=headers).json] == [
        second.json["coupon_code"],
        first.json["coupon_code"],
    ]
    # No codes left: refused, and nothing spent.
    none_left = redeem(client, headers, item)
    assert none_left.status_code == 409
    assert none_left.json["error"] == "out_of_stock"
    assert points.balance(alice).balance == 980
    [load] = _audit("reward_codes.load")
    assert load.after["added"] == 2
    assert "METRO-0001" not in str(load.after)


def test_codes_must_be_new_and_the_item_must_use_codes(client, admin):
    item = create_item(uses_codes=True)
    assert (
        client.post(
            f"/api/v1/admin/rewards/{item}/codes", json={"codes": ["AAAA-1"]}, headers=admin
        ).status_code
        == 201
    )
    again = client.post(
        f"/api/v1/admin/rewards/{item}/codes", json={"codes": ["AAAA-2", "AAAA-1"]}, headers=admin
    )
    assert again.status_code == 409
    assert "AAAA-1" in str(again.json["errors"])
    repeated = client.post(
        f"/api/v1/admin/rewards/{item}/codes", json={"codes": ["BBBB-1", "BBBB-1"]}, headers=admin
    )
    assert repeated.status_code == 422
    malformed = client.post(
        f"/api/v1/admin/rewards/{item}/codes", json={"codes": ["no spaces"]}, headers=admin
    )
    assert malformed.status_code == 422
    plain = create_item()
    refused = client.post(f"/api/v1/admin/rewards/{plain}/codes", json={"codes": ["CCCC-1"]}, headers=admin)
    assert refused.status_code == 409
    assert "uses_codes" in refused.json["message"]
    codes = read_session().scalars(select(CouponCode.code)).all()
    assert codes == ["AAAA-1"]


def test_generated_codes_are_unique_and_readable(client, admin):
    item = create_item(uses_codes=True)
    generated = client.post(
        f"/api/v1/admin/rewards/{item}/codes/generate", json={"count": 200, "prefix": "TREE-"}, headers=admin
    )
    assert generated.status_code == 201
    codes = generated.json["added"]
    assert len(codes) == len(set(codes)) == 200
    assert all(code.startswith("TREE-") and len(code) == 17 for code in codes)
    assert not any(ch in code[5:] for code in codes for ch in "01IOL")
    more = client.post(f"/api/v1/admin/rewards/{item}/codes/generate", json={"count": 50}, headers=admin)
    assert more.json["available"] == 250
    assert len(set(codes) | set(more.json["added"])) == 250
    too_many = client.post(
        f"/api/v1/admin/rewards/{item}/codes/generate", json={"count": 10_001}, headers=admin
    )
    assert too_many.status_code == 422


# -- fulfilment --


def test_fulfilment_moves_pending_to_issued_to_used_and_refuses_other_moves(client, alice, admin):
    item = create_item()
    redemption = redeem(client, headers_for(alice), item).json["id"]
    assert (
        client.post(f"/api/v1/admin/redemptions/{redemption}/use", json={}, headers=admin).status_code == 409
    )
    issued = client.post(
        f"/api/v1/admin/redemptions/{redemption}/issue", json={"note": "posted"}, headers=admin
    )
    assert issued.status_code == 200
    assert issued.json["state"] == "issued"
    used = client.post(f"/api/v1/admin/redemptions/{redemption}/use", json={}, headers=admin)
    assert used.json["state"] == "used"
    assert used.json["used_at"] is not None
    refused = client.post(f"/api/v1/admin/redemptions/{redemption}/cancel", json={}, headers=admin)
    assert refused.status_code == 409
    assert refused.json["error"] == "invalid_state"
    assert client.post("/api/v1/admin/redemptions/9999/issue", json={}, headers=admin).status_code == 404
    actions = [entry.action for entry in _audit("redemption.issued") + _audit("redemption.used")]
    assert actions == ["redemption.issued", "redemption.used"]
    assert _audit("redemption.issued")[0].after["note"] == "posted"


def test_cancelling_returns_the_points_through_the_ledger_and_the_stock(client, alice, admin):
    item = create_item(cost_points=400, stock=2)
    redemption = redeem(client, headers_for(alice), item).json["id"]
    assert points.balance(alice).balance == 600
    cancelled = client.post(
        f"/api/v1/admin/redemptions/{redemption}/cancel", json={"note": "out of bags"}, headers=admin
    )
    assert cancelled.status_code == 200
    assert cancelled.json["state"] == "cancelled"
    assert points.balance(alice).balance == 1_000
    assert points.balance(alice).lifetime_earned == 1_000
    assert _stock(item) == 2
    refund = read_session().scalars(select(PointsEntry).where(PointsEntry.kind == PointsKind.ADJUST)).one()
    assert (refund.points, refund.source_type.value, refund.source_id) == (400, "redemption", str(redemption))
    again = client.post(f"/api/v1/admin/redemptions/{redemption}/cancel", json={}, headers=admin)
    assert again.status_code == 409
    assert points.balance(alice).balance == 1_000
    [entry] = _audit("redemption.cancelled")
    assert (entry.before["state"], entry.after["state"], entry.after["note"]) == (
        "pending",
        "cancelled",
        "out of bags",
    )
    check_ledger(alice)


def test_a_cancelled_code_is_not_handed_out_again(client, alice, admin):
    item = create_item(uses_codes=True, cost_points=10)
    client.post(f"/api/v1/admin/rewards/{item}/codes", json={"codes": ["ONLY-ONE"]}, headers=admin)
    headers = headers_for(alice)
    first = redeem(client, headers, item).json
    client.post(f"/api/v1/admin/redemptions/{first['id']}/cancel", json={}, headers=admin)
    assert redeem(client, headers, item).status_code == 409
    assert points.balance(alice).balance == 1_000


def test_admin_lists_redemptions_with_filters(client, alice, admin):
    bob = make_member("bob")
    give_points(bob, 1_000)
    bag = create_item(name="Bag")
    ride = create_item(kind="voucher", name="Ride")
    first = redeem(client, headers_for(alice), bag).json["id"]
    redeem(client, headers_for(bob), bag)
    redeem(client, headers_for(bob), ride)
    client.post(f"/api/v1/admin/redemptions/{first}/issue", json={}, headers=admin)

    everything = client.get("/api/v1/admin/redemptions", headers=admin)
    assert len(everything.json) == 3
    assert everything.json[0]["user_id"] == bob  # newest first
    assert [r["id"] for r in client.get("/api/v1/admin/redemptions?state=issued", headers=admin).json] == [
        first
    ]
    assert len(client.get(f"/api/v1/admin/redemptions?item_id={bag}", headers=admin).json) == 2
    assert len(client.get(f"/api/v1/admin/redemptions?user_id={bob}", headers=admin).json) == 2
    assert [
        r["item"]["name"] for r in client.get("/api/v1/admin/redemptions?kind=voucher", headers=admin).json
    ] == ["Ride"]
    paged = client.get("/api/v1/admin/redemptions?page=1&page_size=2", headers=admin)
    assert len(paged.json) == 2
    assert '"total": 3' in paged.headers["X-Pagination"]
    assert client.get("/api/v1/admin/redemptions?state=lost", headers=admin).status_code == 422


class TestRedeemRateLimit:
    @pytest.fixture
    def app_overrides(self):
        return {"RATELIMIT_ENABLED": True, "REDEEM_RATE_LIMIT": "2 per minute"}

    def test_redemptions_are_rate_limited_per_caller(self, client):
        from tests.support.accounts import bearer, login_user

        token, _ = login_user(client, "eager-redeemer")
        answers = [
            client.post(
                "/api/v1/rewards/1/redeem", json={}, headers={**bearer(token), "Idempotency-Key": f"k{i}"}
            )
            for i in range(3)
        ]
        assert [a.status_code for a in answers][-1] == 429
        assert answers[-1].json["error"] == "too_many_requests"
