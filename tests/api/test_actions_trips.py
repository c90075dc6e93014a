"""Bus and metro trips over HTTP: Shenzhen saving factors, daily caps, trip ids credited once, privacy.

Bus saves 26.9 g and metro 46.8 g per passenger-km; points are 10 per kg, rounded down per trip;
the default daily caps are 1,500 g of bus and 2,500 g of metro.
"""

from datetime import timedelta

from services.kernel.beijing_time import today
from tests.points_support import check_ledger
from tests.support.accounts import bearer, login_user


def trip(client, headers, **body):
    return client.post("/api/v1/actions/trips", json=body, headers=headers)


def user(client, code):
    token, profile = login_user(client, code)
    return bearer(token), profile["id"]


def balance(client, headers):
    return client.get("/api/v1/me/points", headers=headers).json["balance"]


def test_a_bus_trip_and_a_metro_trip_are_credited_by_their_factors(client):
    headers, user_id = user(client, "rider")

    bus = trip(client, headers, mode="bus", km=10)
    metro = trip(client, headers, mode="metro", km="12.5")

    assert bus.status_code == 201, bus.json
    assert (bus.json["kind"], bus.json["quantity"], bus.json["unit"]) == ("bus", 10_000, "m")
    assert (bus.json["reduction_g"], bus.json["points"], bus.json["status"]) == (269, 2, "accepted")
    assert bus.json["methodology"] == "sz-2021-bus"
    assert bus.json["date"] == today().isoformat()
    assert (metro.json["reduction_g"], metro.json["points"]) == (585, 5)
    assert balance(client, headers) == 7
    check_ledger(user_id)


def test_the_daily_cap_of_a_kind_limits_its_credit(client):
    headers, _user_id = user(client, "rider")

    first = trip(client, headers, mode="metro", km=30).json
    second = trip(client, headers, mode="metro", km=30).json
    third = trip(client, headers, mode="metro", km=5).json
    bus = trip(client, headers, mode="bus", km=10).json
    yesterday = trip(
        client, headers, mode="metro", km=30, date=(today() - timedelta(days=1)).isoformat()
    ).json

    assert first["reduction_g"] == 1_404
    assert (second["reduction_g"], second["full_reduction_g"]) == (2_500 - 1_404, 1_404)
    assert (third["reduction_g"], third["points"], third["status"]) == (0, 0, "accepted")
    assert bus["reduction_g"] == 269  # another kind has its own cap
    assert yesterday["reduction_g"] == 1_404  # and another day too


def test_a_trip_id_is_credited_once(client):
    headers, _user_id = user(client, "rider")
    first = trip(client, headers, mode="metro", km=12, trip_ref="SZMC-0001")

    again = trip(client, headers, mode="metro", km=12, trip_ref="SZMC-0001")
    changed = trip(client, headers, mode="metro", km=20, trip_ref="SZMC-0001")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json["id"] == first.json["id"]
    assert changed.status_code == 409
    assert "trip_ref" in changed.json["errors"]
    assert balance(client, headers) == first.json["points"]
    assert len(client.get("/api/v1/me/actions", headers=headers).json) == 1


def test_another_user_cannot_claim_the_same_trip(client):
    alice, _ = user(client, "alice")
    bob, _ = user(client, "bob")
    trip(client, alice, mode="bus", km=8, trip_ref="BUS-77")

    response = trip(client, bob, mode="bus", km=8, trip_ref="BUS-77")

    assert response.status_code == 409
    assert response.json["message"] == "This trip was already claimed."
    assert client.get("/api/v1/me/actions", headers=bob).json == []


def test_a_trip_too_long_is_flagged_not_credited(client):
    headers, _user_id = user(client, "rider")

    response = trip(client, headers, mode="bus", km=70)

    assert response.status_code == 201
    assert (response.json["status"], response.json["reduction_g"], response.json["points"]) == (
        "flagged",
        0,
        0,
    )
    assert balance(client, headers) == 0


def test_invalid_trips_name_the_field(client):
    headers, _user_id = user(client, "rider")
    cases = [
        ({"mode": "bike", "km": 3}, "mode"),
        ({"mode": "bus", "km": 0}, "km"),
        ({"mode": "bus", "km": "ten"}, "km"),
        ({"mode": "bus"}, "km"),
        ({"mode": "bus", "km": 5, "date": (today() + timedelta(days=1)).isoformat()}, "date"),
        ({"mode": "bus", "km": 5, "date": (today() - timedelta(days=31)).isoformat()}, "date"),
        ({"mode": "bus", "km": 5, "trip_ref": "x" * 65}, "trip_ref"),
    ]
    for body, field in cases:
        response = trip(client, headers, **body)
        assert response.status_code == 422, body
        errors = response.json["errors"]
        assert field in errors.get("json", errors), (body, errors)
    assert client.get("/api/v1/me/actions", headers=headers).json == []


def test_trips_need_a_token(client):
    assert client.post("/api/v1/actions/trips", json={"mode": "bus", "km": 1}).status_code == 401
    assert client.get("/api/v1/me/actions").status_code == 401
    assert client.get("/api/v1/me/reductions").status_code == 401


def test_each_user_sees_only_their_own_actions(client):
    alice, _ = user(client, "alice")
    bob, _ = user(client, "bob")
    trip(client, alice, mode="bus", km=8)
    trip(client, alice, mode="metro", km=8)
    trip(client, bob, mode="metro", km=3)

    alice_list = client.get("/api/v1/me/actions", headers=alice)
    bob_list = client.get("/api/v1/me/actions", headers=bob).json

    assert sorted(a["kind"] for a in alice_list.json) == ["bus", "metro"]
    assert '"total": 2' in alice_list.headers["X-Pagination"]
    assert [(a["kind"], a["quantity"]) for a in bob_list] == [("metro", 3_000)]
    assert client.get("/api/v1/me/reductions", headers=bob).json["all_time_g"] == 140


def test_actions_can_be_filtered(client):
    headers, _user_id = user(client, "rider")
    trip(client, headers, mode="bus", km=8)
    trip(client, headers, mode="metro", km=8, date=(today() - timedelta(days=3)).isoformat())

    metro = client.get("/api/v1/me/actions?kind=metro", headers=headers).json
    recent = client.get(f"/api/v1/me/actions?since={today().isoformat()}", headers=headers).json

    assert [a["kind"] for a in metro] == ["metro"]
    assert [a["kind"] for a in recent] == ["bus"]
    assert client.get("/api/v1/me/actions?kind=plane", headers=headers).status_code == 422


def test_reductions_add_up_by_day_week_and_all_time(client):
    headers, _user_id = user(client, "rider")
    day = today()
    earlier = day - timedelta(days=9)
    trip(client, headers, mode="bus", km=10)  # 269 g
    trip(client, headers, mode="metro", km=10)  # 468 g
    trip(client, headers, mode="metro", km=10, date=earlier.isoformat())  # 468 g

    body = client.get("/api/v1/me/reductions?days=10&weeks=3", headers=headers).json

    assert body["all_time_g"] == 269 + 468 + 468
    assert body["all_time_points"] == 2 + 4 + 4
    assert body["today_g"] == 269 + 468
    assert body["by_kind"] == {"steps": 0, "bus": 269, "metro": 936}
    assert len(body["days"]) == 10
    assert body["days"][0] == {"date": earlier.isoformat(), "reduction_g": 468, "points": 4}
    assert body["days"][-1] == {"date": day.isoformat(), "reduction_g": 737, "points": 6}
    assert sum(d["reduction_g"] for d in body["days"]) == body["all_time_g"]
    assert len(body["weeks"]) == 3
    assert body["this_week_g"] == body["weeks"][-1]["reduction_g"]
    assert body["this_week_g"] >= 737
    assert sum(w["reduction_g"] for w in body["weeks"]) == body["all_time_g"]
