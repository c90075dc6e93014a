"""My green tier follows lifetime earned points: spending never lowers it, a refunded purchase does."""

from models.database import unit_of_work
from services.points import points
from tests.support.rewards import create_item, give_points, headers_for, make_member, redeem


def _tier(client, headers):
    response = client.get("/api/v1/me/tier", headers=headers)
    assert response.status_code == 200
    return response.json


def test_a_new_user_has_no_tier_yet(client):
    headers = headers_for(make_member("new"))
    assert _tier(client, headers) == {
        "tier": None,
        "lifetime_earned": 0,
        "next_tier": {"code": "light_green", "name": "浅绿", "min_points": 100},
        "points_to_next": 100,
        "pending": 0,
    }
    assert client.get("/api/v1/me/tier").status_code == 401


def test_tier_rises_with_lifetime_points_and_spending_does_not_lower_it(client):
    user = make_member("saver")
    headers = headers_for(user)
    give_points(user, 1_200, "order-1")
    tier = _tier(client, headers)
    assert tier["tier"]["code"] == "mid_green"
    assert (tier["next_tier"]["code"], tier["points_to_next"]) == ("deep_green", 3_800)

    assert redeem(client, headers, create_item(cost_points=1_100)).status_code == 201
    assert points.balance(user).balance == 100
    after_spending = _tier(client, headers)
    assert after_spending["tier"]["code"] == "mid_green"
    assert after_spending["lifetime_earned"] == 1_200

    give_points(user, 3_800, "order-2")
    top = _tier(client, headers)
    assert top["tier"] == {"code": "deep_green", "name": "深绿", "min_points": 5_000}
    assert top["next_tier"] is None
    assert top["points_to_next"] is None


def test_a_refunded_purchase_lowers_the_tier(client):
    user = make_member("refunder")
    give_points(user, 150, "order-7")
    headers = headers_for(user)
    assert _tier(client, headers)["tier"]["code"] == "light_green"
    with unit_of_work() as session:
        points.reverse(session, "order", "order-7", "refund")
    assert _tier(client, headers)["tier"] is None


def test_thresholds_follow_the_settings(app):
    from api import create_app

    custom = create_app(
        "testing", overrides={"DATABASE_URL": app.config["DATABASE_URL"], "TIER_LIGHT_GREEN_POINTS": 10}
    )
    user = make_member("small")
    give_points(user, 20)
    response = custom.test_client().get("/api/v1/me/tier", headers=headers_for(user))
    assert response.json["tier"]["code"] == "light_green"
