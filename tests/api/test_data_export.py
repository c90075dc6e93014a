"""The export of everything held about me (PIPL right of access): whole, mine only, no credentials."""

from __future__ import annotations

import json

import pytest

from services.personal_data import data_export
from tests.support.accounts import bearer, login_admin
from tests.support.factors import publish_library
from tests.support.personal_data import bank_and_item, join, organisation, person, with_history
from tests.support.pool import stock_pool


@pytest.fixture
def app_overrides():
    return {"RATELIMIT_ENABLED": True, "DATA_EXPORT_RATE_LIMIT": "3 per hour"}


@pytest.fixture
def people(client):
    token, _ = login_admin(client)
    admin = bearer(token)
    stock_pool(tonnes=2)
    publish_library()
    bank, item = bank_and_item(client, admin)
    alice = with_history(client, person(client, "alice-code", "张三丰"), "张三丰", bank["id"], item)
    bob = with_history(client, person(client, "bob-code", "李四"), "李四", bank["id"], item)
    acme = organisation(client, admin, "Acme", bob)
    join(client, acme, bob, alice)
    footprint = client.post(
        "/api/v1/footprints/calculate",
        json={"period_type": "month", "province": "福建", "home": {"electricity_kwh": 120}},
        headers=alice.headers,
    )
    assert footprint.status_code in (200, 201), footprint.json
    assert (
        client.post("/api/v1/me/deletion", json={"confirm": True}, headers=alice.headers).status_code == 202
    )
    return alice, bob, acme


def _export(client, who):
    response = client.get("/api/v1/me/export", headers=who.headers)
    assert response.status_code == 200, response.data[:500]
    assert response.headers["Content-Type"].startswith("application/json")
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.is_streamed  # written as it is read, never held whole in the server
    return response, json.loads(response.get_data(as_text=True))


def test_the_export_holds_every_section_of_my_data_and_none_of_anyone_else(client, people):
    alice, bob, acme = people

    response, document = _export(client, alice)

    assert document["complete"] is True and document["user_id"] == alice.id
    assert set(data_export.section_names()) <= set(document)
    profile = document["profile"]
    assert (profile["id"], profile["openid"], profile["display_name"], profile["city"]) == (
        alice.id,
        alice.openid,
        "张三丰",
        "福州",
    )
    assert document["wechat_session_key"]["held"] is True
    assert document["privacy"]["acceptance_required"] is True
    assert document["points_balance"]["balance"] > 0
    # Each section: my rows, all of them, and not one of Bob's.
    assert [o["out_trade_no"] for o in document["orders"]] == alice.orders
    assert [c["number"] for c in document["certificates"]] == [c["number"] for c in alice.certificates]
    assert document["certificates"][0]["holder_name"] == "张三丰"
    assert {e["source_type"] for e in document["points_ledger"]} >= {"order", "redemption", "action"}
    assert [a["kind"] for a in document["actions"]] == ["bus"]
    assert len(document["footprints"]) == 1 and document["footprints"][0]["inputs"]["province"] == "福建"
    assert [r["item"]["name"] for r in document["redemptions"]] == ["Bamboo toothbrush"]
    assert [c["partner"]["name"] for c in document["consents"]] == ["丽水农商银行"]
    memberships = document["organisation_memberships"]
    assert [(m["organisation"]["id"], m["organisation"]["name"], m["is_owner"]) for m in memberships] == [
        (acme, "Acme", False)
    ]
    assert [d["status"] for d in document["account_deletions"]] == ["pending"]
    assert document["sessions"] and all("token_hash" not in s for s in document["sessions"])
    for section in data_export.section_names():
        for row in document[section]:
            assert row.get("user_id", alice.id) == alice.id, (section, row)
    text = response.get_data(as_text=True)
    for foreign in (bob.openid, "李四", *bob.orders):
        assert foreign not in text
    # No credential: not the session key, no hash of a token, password or invitation code.
    assert "password_hash" not in text and "code_hash" not in text and 'session_key":"' not in text
    for token_hash in [s.get("token_hash") for s in document["sessions"]]:
        assert token_hash is None


def test_long_histories_come_whole_through_the_pages(client, people, monkeypatch):
    alice, _bob, _acme = people
    for _ in range(2):  # two more sessions (these logins also cancel the pending deletion)
        assert client.post("/api/v1/auth/login", json={"code": alice.code}).status_code == 200
    monkeypatch.setattr(data_export, "PAGE", 2)  # every section of more than two rows takes pages
    _, whole = _export(client, alice)
    monkeypatch.setattr(data_export, "PAGE", 500)
    _, one_page = _export(client, alice)

    assert len(whole["points_ledger"]) >= 3 and len(whole["sessions"]) == 3
    assert {k: v for k, v in whole.items() if k != "generated_at"} == {
        k: v for k, v in one_page.items() if k != "generated_at"
    }


def test_exports_are_rate_limited_per_user_and_need_a_login(client, people):
    alice, bob, _acme = people
    assert client.get("/api/v1/me/export").status_code == 401
    for _ in range(3):
        assert client.get("/api/v1/me/export", headers=alice.headers).status_code == 200
    limited = client.get("/api/v1/me/export", headers=alice.headers)
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert client.get("/api/v1/me/export", headers=bob.headers).status_code == 200
