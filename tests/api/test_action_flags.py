"""Admin review of flagged actions: listing, accepting (credit and points, once), rejecting, audit."""

import pytest

from tests.points_support import check_ledger
from tests.support.accounts import bearer, login_user
from tests.support.werun import APPID, last_days, werun_payload, werun_user


@pytest.fixture
def app_overrides():
    return {"WECHAT_APPID": APPID}


def upload(client, headers, days, key):
    response = client.post("/api/v1/actions/werun", json=werun_payload(days, key), headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def flags(client, admin_headers, decision="pending"):
    response = client.get(f"/api/v1/admin/action-flags?decision={decision}", headers=admin_headers)
    assert response.status_code == 200, response.json
    return response.json


def decide(client, admin_headers, flag_id, decision, note=""):
    return client.post(
        f"/api/v1/admin/action-flags/{flag_id}/decision",
        json={"decision": decision, "note": note},
        headers=admin_headers,
    )


def balance(client, headers):
    return client.get("/api/v1/me/points", headers=headers).json["balance"]


def test_flags_are_listed_for_admins_only(client, admin_headers):
    headers, user_id, key = werun_user(client, "walker")
    upload(client, headers, last_days(61_000), key)

    listed = flags(client, admin_headers)

    assert len(listed) == 1
    flag = listed[0]
    assert flag["reasons"] == ["steps_above_limit"]
    assert "61000 steps" in flag["detail"]
    assert (flag["user_id"], flag["kind"], flag["claimed_quantity"], flag["prior_quantity"]) == (
        user_id,
        "steps",
        61_000,
        None,
    )
    assert flag["decision"] is None
    assert client.get("/api/v1/admin/action-flags", headers=headers).status_code == 403
    assert client.get("/api/v1/admin/action-flags").status_code == 401


def test_accepting_a_flag_credits_and_awards_once_and_is_audited(client, admin_headers):
    headers, user_id, key = werun_user(client, "walker")
    upload(client, headers, last_days(61_000), key)
    flag_id = flags(client, admin_headers)[0]["id"]

    accepted = decide(client, admin_headers, flag_id, "accept", "marathon day, photo checked")
    again = decide(client, admin_headers, flag_id, "accept")
    rejected_after = decide(client, admin_headers, flag_id, "reject")

    assert accepted.status_code == 200, accepted.json
    assert (accepted.json["decision"], accepted.json["status"]) == ("accepted", "accepted")
    assert (accepted.json["reduction_g"], accepted.json["points"]) == (350, 3)  # within the 20,000-step cap
    assert again.status_code == 409
    assert rejected_after.status_code == 409
    assert balance(client, headers) == 3
    assert flags(client, admin_headers) == []
    assert [f["id"] for f in flags(client, admin_headers, "accepted")] == [flag_id]
    audit = client.get("/api/v1/admin/audit-log?entity=action_flag", headers=admin_headers).json
    assert [entry["action"] for entry in audit] == ["action_flag.accept"]
    assert audit[0]["before"]["flag"]["decision"] is None
    assert audit[0]["after"]["flag"]["note"] == "marathon day, photo checked"
    assert audit[0]["after"]["action"]["reduction_g"] == 350
    check_ledger(user_id)


def test_rejecting_a_new_day_keeps_it_rejected(client, admin_headers):
    headers, _user_id, key = werun_user(client, "walker")
    upload(client, headers, last_days(61_000), key)
    flag_id = flags(client, admin_headers)[0]["id"]

    rejected = decide(client, admin_headers, flag_id, "reject", "step machine")
    later = upload(client, headers, last_days(62_000), key)

    assert rejected.status_code == 200
    assert (rejected.json["status"], rejected.json["reduction_g"]) == ("rejected", 0)
    assert later["days"][0]["outcome"] == "rejected"
    assert flags(client, admin_headers) == []
    assert balance(client, headers) == 0
    actions = client.get("/api/v1/me/actions", headers=headers).json
    assert [(a["status"], a["reduction_g"], a["points"]) for a in actions] == [("rejected", 0, 0)]


def test_rejecting_a_raise_keeps_the_earlier_credit(client, admin_headers):
    headers, _user_id, key = werun_user(client, "walker")
    upload(client, headers, last_days(10_000), key)
    upload(client, headers, last_days(75_000), key)
    flag_id = flags(client, admin_headers)[0]["id"]

    rejected = decide(client, admin_headers, flag_id, "reject")

    assert (rejected.json["status"], rejected.json["quantity"], rejected.json["reduction_g"]) == (
        "accepted",
        10_000,
        175,
    )
    assert balance(client, headers) == 1
    raised = upload(client, headers, last_days(12_000), key)
    assert raised["days"][0]["outcome"] == "raised"
    assert balance(client, headers) == 2


def test_accepting_a_raise_awards_only_the_difference(client, admin_headers):
    headers, user_id, key = werun_user(client, "walker")
    upload(client, headers, last_days(10_000), key)
    upload(client, headers, last_days(75_000), key)
    flag_id = flags(client, admin_headers)[0]["id"]

    accepted = decide(client, admin_headers, flag_id, "accept").json

    assert (accepted["quantity"], accepted["reduction_g"], accepted["points"]) == (75_000, 350, 3)
    assert balance(client, headers) == 3
    check_ledger(user_id)


def test_an_accepted_long_trip_is_credited_within_the_daily_cap(client, admin_headers):
    token, _profile = login_user(client, "rider")
    headers = bearer(token)
    client.post("/api/v1/actions/trips", json={"mode": "bus", "km": 20}, headers=headers)  # 538 g
    flagged = client.post("/api/v1/actions/trips", json={"mode": "bus", "km": 70}, headers=headers).json
    (flag,) = flags(client, admin_headers)
    assert (flag["action_id"], flag["reasons"]) == (flagged["id"], ["trip_too_long"])

    accepted = decide(client, admin_headers, flag["id"], "accept").json

    assert accepted["reduction_g"] == 1_500 - 538
    assert balance(client, headers) == 5 + 9


def test_a_decision_must_be_known_and_the_flag_must_exist(client, admin_headers):
    headers, _user_id, key = werun_user(client, "walker")
    upload(client, headers, last_days(61_000), key)
    flag_id = flags(client, admin_headers)[0]["id"]

    assert decide(client, admin_headers, flag_id, "maybe").status_code == 422
    assert decide(client, admin_headers, 999_999, "accept").status_code == 404
    assert decide(client, headers, flag_id, "accept").status_code == 403
