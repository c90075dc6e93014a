"""WeRun uploads over HTTP: real AES-CBC payloads decrypted by wechatpy, credits, caps, replays, flags.

Walking is credited at 0.65 m a step and 26.9 g per km (the bus saving), so 10,000 steps = 6.5 km
= 174.85 g → 175 g; points are 10 per kg, rounded down per day.
"""

import base64
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import Action, ActionUpload, PointsEntry, PointsSource
from models.database import read_session
from services.accounts.accounts import session_key_name
from services.kernel.beijing_time import today
from services.kernel.redis_store import get_redis
from tests.points_support import check_ledger
from tests.support.werun import (
    APPID,
    encrypt,
    last_days,
    new_session_key,
    steps_list,
    werun_payload,
    werun_user,
)


@pytest.fixture
def app_overrides():
    return {"WECHAT_APPID": APPID}


def upload(client, headers, payload):
    return client.post("/api/v1/actions/werun", json=payload, headers=headers)


def my_points(client, headers):
    return client.get("/api/v1/me/points", headers=headers).json["balance"]


def action_count():
    session = read_session()
    count = session.scalar(select(func.count()).select_from(Action))
    session.rollback()
    return count


def action_awards(user_id):
    session = read_session()
    rows = session.execute(
        select(PointsEntry.source_id, PointsEntry.points)
        .where(PointsEntry.user_id == user_id, PointsEntry.source_type == PointsSource.ACTION)
        .order_by(PointsEntry.id)
    ).all()
    session.rollback()
    return [tuple(row) for row in rows]


def test_werun_days_are_decrypted_credited_and_awarded(client):
    headers, user_id, key = werun_user(client, "walker")
    days = last_days(8_000, 10_000, 0, 12_000)

    response = upload(client, headers, werun_payload(days, key))

    assert response.status_code == 200, response.json
    body = response.json
    assert body["days_received"] == 4
    assert body["credited_g"] == 140 + 175 + 210
    assert body["points"] == 1 + 1 + 2
    assert body["flagged_days"] == 0
    assert [(d["steps"], d["outcome"], d["reduction_g"], d["points"]) for d in body["days"]] == [
        (8_000, "credited", 140, 1),
        (10_000, "credited", 175, 1),
        (12_000, "credited", 210, 2),
    ]
    assert my_points(client, headers) == 4
    listed = client.get("/api/v1/me/actions", headers=headers).json
    assert [(a["kind"], a["date"], a["quantity"], a["unit"], a["status"]) for a in listed] == [
        ("steps", today().isoformat(), 12_000, "steps", "accepted"),
        ("steps", (today() - timedelta(days=2)).isoformat(), 10_000, "steps", "accepted"),
        ("steps", (today() - timedelta(days=3)).isoformat(), 8_000, "steps", "accepted"),
    ]
    assert {a["methodology"] for a in listed} == {"walk-as-bus-sz-2021"}
    check_ledger(user_id)


def test_a_wrong_session_key_is_refused_and_nothing_is_recorded(client):
    headers, _user_id, _key = werun_user(client, "walker")

    response = upload(client, headers, werun_payload(last_days(9_000), new_session_key()))

    assert response.status_code == 422
    assert response.json["error"] == "werun_undecryptable"
    assert "encryptedData" in response.json["errors"]
    assert action_count() == 0
    assert my_points(client, headers) == 0


def test_a_tampered_payload_is_refused(client):
    headers, _user_id, key = werun_user(client, "walker")
    payload = werun_payload(last_days(9_000, 9_500, 9_900), key)
    cipher = bytearray(base64.b64decode(payload["encryptedData"]))
    cipher[20] ^= 0x55  # one changed byte garbles a whole block of the JSON
    payload["encryptedData"] = base64.b64encode(bytes(cipher)).decode()

    response = upload(client, headers, payload)

    assert response.status_code == 422
    assert response.json["error"] == "werun_undecryptable"
    assert action_count() == 0


def test_data_of_another_mini_program_is_refused(client):
    headers, _user_id, key = werun_user(client, "walker")

    response = upload(client, headers, werun_payload(last_days(9_000), key, appid="wxsomeoneelse00001"))

    assert response.status_code == 422
    assert "another mini-program" in response.json["message"]


def test_a_stale_watermark_is_refused(client):
    headers, _user_id, key = werun_user(client, "walker")

    response = upload(client, headers, werun_payload(last_days(9_000), key, watermark_at=time.time() - 3600))

    assert response.status_code == 422
    assert response.json["error"] == "werun_stale"


def test_an_expired_wechat_session_asks_for_a_new_login(client):
    headers, user_id, key = werun_user(client, "walker")
    get_redis().delete(session_key_name(user_id))

    response = upload(client, headers, werun_payload(last_days(9_000), key))

    assert response.status_code == 422
    assert response.json["error"] == "wechat_session_expired"


def test_malformed_step_data_is_refused(client):
    headers, _user_id, key = werun_user(client, "walker")
    plain = {
        "stepInfoList": [{"timestamp": "yesterday", "step": -5}],
        "watermark": {"appid": APPID, "timestamp": int(time.time())},
    }

    response = upload(client, headers, encrypt(plain, key))

    assert response.status_code == 422
    assert action_count() == 0


def test_missing_fields_are_named(client):
    headers, _user_id, _key = werun_user(client, "walker")

    response = upload(client, headers, {"iv": "AAAAAAAAAAAAAAAAAAAAAA=="})

    assert response.status_code == 422
    assert "encryptedData" in response.json["errors"]["json"]


def test_werun_needs_a_token(client):
    assert client.post("/api/v1/actions/werun", json={}).status_code == 401


def test_a_replayed_payload_is_refused(client):
    headers, _user_id, key = werun_user(client, "walker")
    payload = werun_payload(last_days(9_000), key)
    assert upload(client, headers, payload).status_code == 200

    again = upload(client, headers, payload)

    assert again.status_code == 409
    assert again.json["error"] == "werun_replayed"
    assert my_points(client, headers) == 1
    session = read_session()
    assert session.scalar(select(func.count()).select_from(ActionUpload)) == 1
    session.rollback()


def test_a_day_counts_upward_only_and_points_are_awarded_once(client):
    headers, user_id, key = werun_user(client, "walker")
    assert upload(client, headers, werun_payload(last_days(10_000), key)).json["points"] == 1

    same = upload(client, headers, werun_payload(last_days(10_000), key)).json
    assert (same["days"][0]["outcome"], same["credited_g"], same["points"]) == ("unchanged", 0, 0)

    raised = upload(client, headers, werun_payload(last_days(16_000), key)).json
    assert raised["days"][0]["outcome"] == "raised"
    assert (raised["credited_g"], raised["points"]) == (280 - 175, 1)
    assert raised["days"][0]["reduction_g"] == 280

    lower = upload(client, headers, werun_payload(last_days(12_000), key)).json
    assert (lower["days"][0]["outcome"], lower["credited_g"]) == ("unchanged", 0)

    assert my_points(client, headers) == 2
    action_id = lower["days"][0]["action_id"]
    assert action_awards(user_id) == [(f"{action_id}:1", 1), (f"{action_id}:2", 1)]
    assert action_count() == 1
    check_ledger(user_id)


def test_steps_above_the_daily_cap_earn_nothing_more(client):
    headers, _user_id, key = werun_user(client, "walker")

    body = upload(client, headers, werun_payload(last_days(30_000), key)).json

    assert body["credited_g"] == 350  # 20,000 steps: 13 km x 26.9 g
    action = client.get("/api/v1/me/actions", headers=headers).json[0]
    assert (action["quantity"], action["reduction_g"], action["full_reduction_g"]) == (30_000, 350, 525)
    assert action["points"] == 3


def test_an_implausible_count_is_flagged_not_credited(client):
    headers, _user_id, key = werun_user(client, "walker")

    body = upload(client, headers, werun_payload(last_days(9_000, 70_000), key)).json

    assert [(d["outcome"], d["status"], d["reduction_g"]) for d in body["days"]] == [
        ("credited", "accepted", 157),
        ("flagged", "flagged", 0),
    ]
    assert body["flagged_days"] == 1
    assert my_points(client, headers) == 1


def test_the_same_count_day_after_day_is_flagged(client):
    headers, _user_id, key = werun_user(client, "walker")
    days = last_days(11_000, 10_000, 10_000, 10_000, 10_000, 10_000, 9_000)

    body = upload(client, headers, werun_payload(days, key)).json

    assert [d["outcome"] for d in body["days"]] == ["credited"] + ["flagged"] * 5 + ["credited"]
    assert body["credited_g"] == 192 + 157


def test_four_equal_days_are_not_flagged(client):
    headers, _user_id, key = werun_user(client, "walker")

    body = upload(client, headers, werun_payload(last_days(10_000, 10_000, 10_000, 10_000), key)).json

    assert body["flagged_days"] == 0


def test_days_outside_the_window_are_ignored(client):
    headers, _user_id, key = werun_user(client, "walker")
    days = {today() - timedelta(days=31): 9_000, today() + timedelta(days=1): 9_000, today(): 9_000}

    body = upload(client, headers, werun_payload(days, key)).json

    assert [d["date"] for d in body["days"]] == [today().isoformat()]


def test_a_raise_of_a_day_under_review_only_updates_the_claim(client, admin_headers):
    headers, _user_id, key = werun_user(client, "walker")
    upload(client, headers, werun_payload(last_days(10_000), key))
    upload(client, headers, werun_payload(last_days(65_000), key))
    upload(client, headers, werun_payload(last_days(68_000), key))

    flags = client.get("/api/v1/admin/action-flags", headers=admin_headers).json

    assert [(f["claimed_quantity"], f["prior_quantity"], f["status"], f["reduction_g"]) for f in flags] == [
        (68_000, 10_000, "flagged", 175)
    ]
    assert my_points(client, headers) == 1


def test_steps_list_helper_uses_beijing_midnight():
    (entry,) = steps_list(last_days(1))
    assert entry["timestamp"] % 86_400 == 16 * 3600  # 00:00 in Beijing is 16:00 UTC the day before
