"""Organisers bind a phone number with the mini-program's getPhoneNumber code, WeChat faked at the
wire: stored encrypted, shown masked, in full only in the owner's export, erased with the account;
a refused code is 422, an unreachable WeChat 503; the number is in no log line and no Redis key."""

from __future__ import annotations

import itertools
import json
import logging
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from config import ConfigurationError, load_settings
from models import PhoneNumber, User, utcnow
from models.database import unit_of_work
from services.accounts import phone_numbers
from services.accounts.wechat_client import WeChatSettings
from services.kernel.redis_store import get_redis
from services.personal_data import erasure
from tests.support.accounts import bearer, login_user
from tests.support.events import organiser
from tests.support.settings import PRODUCTION_ENV

NUMBER = "13800001234"
MASKED = "138****1234"
_codes = itertools.count(1)


@pytest.fixture
def app_overrides(wechat_api):
    return wechat_api.settings()


def organiser_of(client, wechat_api, organisation="海峡会展"):
    code = f"organiser-{next(_codes)}"
    wechat_api.add_code(code, openid=f"o-{code}", session_key="c2Vzc2lvbi1rZXk=")
    return organiser(client, code, organisation)


def bind(client, headers, code):
    return client.post("/api/v1/me/phone", json={"code": code}, headers=headers)


def stored_rows():
    with unit_of_work() as session:
        return [tuple(row) for row in session.execute(text("SELECT * FROM phone_numbers")).all()]


def test_an_organiser_binds_a_phone_kept_encrypted_and_shown_masked(client, wechat_api):
    who = organiser_of(client, wechat_api)
    wechat_api.add_phone_code("phone-1", NUMBER)

    response = bind(client, who["headers"], "phone-1")

    assert response.status_code == 200, response.json
    assert response.json == {"phone": MASKED, "country_code": "86"}
    assert client.get("/api/v1/me", headers=who["headers"]).json["phone"] == MASKED
    ((user_id, ciphertext, _bound_at),) = stored_rows()
    assert NUMBER not in ciphertext and "00001234" not in ciphertext
    assert Fernet(phone_numbers._keys[0].encode()).decrypt(ciphertext.encode())  # a Fernet token
    with unit_of_work() as session:
        assert phone_numbers.phone_in(session, user_id).pure == NUMBER


def test_binding_again_replaces_the_number(client, wechat_api):
    who = organiser_of(client, wechat_api)
    wechat_api.add_phone_code("phone-1", NUMBER)
    wechat_api.add_phone_code("phone-2", "13912345678")

    bind(client, who["headers"], "phone-1")
    again = bind(client, who["headers"], "phone-2")

    assert again.json["phone"] == "139****5678"
    assert len(stored_rows()) == 1


def test_organisation_members_and_admins_see_the_number_masked(client, wechat_api):
    who = organiser_of(client, wechat_api)
    wechat_api.add_phone_code("phone-1", NUMBER)
    bind(client, who["headers"], "phone-1")

    for headers in (who["headers"], who["admin"]):
        members = client.get(f"/api/v1/organisations/{who['organisation_id']}/members", headers=headers)
        assert members.status_code == 200, members.json
        assert [m["phone"] for m in members.json] == [MASKED]
        assert NUMBER not in members.get_data(as_text=True)


def test_only_organisers_bind_a_phone(client, wechat_api):
    wechat_api.add_code("someone", openid="o-someone", session_key="c2Vzc2lvbi1rZXk=")
    token, _user = login_user(client, "someone")
    wechat_api.add_phone_code("phone-1", NUMBER)

    response = bind(client, bearer(token), "phone-1")

    assert response.status_code == 403
    assert wechat_api.count("/wxa/business/getuserphonenumber") == 0


def test_an_unknown_or_used_code_is_422(client, wechat_api):
    who = organiser_of(client, wechat_api)
    wechat_api.add_phone_code("phone-1", NUMBER)

    unknown = bind(client, who["headers"], "made-up")
    assert bind(client, who["headers"], "phone-1").status_code == 200
    used = bind(client, who["headers"], "phone-1")

    for response in (unknown, used):
        assert response.status_code == 422
        assert response.json["error"] == "invalid_phone_code"
        assert "code" in response.json["errors"]


@pytest.mark.parametrize("failure", ["http_500", -1, "hang"])
def test_an_unreachable_wechat_is_503_with_retry_after(client, wechat_api, failure):
    who = organiser_of(client, wechat_api)
    wechat_api.add_phone_code("phone-1", NUMBER)
    wechat_api.answer_phone_with(failure)

    response = bind(client, who["headers"], "phone-1")

    assert response.status_code == 503
    assert response.json["error"] == "upstream_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert stored_rows() == []
    assert bind(client, who["headers"], "phone-1").status_code == 200  # the code was not spent


def test_the_body_is_bounded(client, wechat_api):
    who = organiser_of(client, wechat_api)

    for body in ({}, {"code": ""}, {"code": "x" * 129}, {"code": 5}):
        assert client.post("/api/v1/me/phone", json=body, headers=who["headers"]).status_code == 422


def test_the_number_is_never_logged_nor_put_in_redis(client, wechat_api, caplog):
    caplog.set_level(logging.DEBUG)
    who = organiser_of(client, wechat_api)
    wechat_api.add_phone_code("phone-1", NUMBER)
    wechat_api.answer_phone_with("http_500")

    assert bind(client, who["headers"], "phone-1").status_code == 503
    assert bind(client, who["headers"], "phone-1").status_code == 200
    client.get("/api/v1/me", headers=who["headers"])
    client.get(f"/api/v1/organisations/{who['organisation_id']}/members", headers=who["headers"])
    assert NUMBER in client.get("/api/v1/me/export", headers=who["headers"]).get_data(as_text=True)

    assert caplog.records  # the requests were logged
    assert NUMBER not in caplog.text and "00001234" not in caplog.text
    store = get_redis()
    for key in store.keys("*"):
        assert b"00001234" not in key
        if store.type(key) == b"string":
            assert b"00001234" not in (store.get(key) or b"")


def test_the_export_holds_the_owners_number_in_full(client, wechat_api):
    who = organiser_of(client, wechat_api)
    wechat_api.add_phone_code("phone-1", "+1 2025550123", pure="2025550123", country_code="1")
    bind(client, who["headers"], "phone-1")

    document = json.loads(client.get("/api/v1/me/export", headers=who["headers"]).get_data(as_text=True))

    assert document["phone"]["phone_number"] == "+1 2025550123"
    assert document["phone"]["pure_phone_number"] == "2025550123"
    assert document["phone"]["country_code"] == "1"
    assert "ciphertext" not in json.dumps(document)


def test_account_deletion_erases_the_number(client, wechat_api):
    who = organiser_of(client, wechat_api)
    wechat_api.add_phone_code("phone-1", NUMBER)
    bind(client, who["headers"], "phone-1")
    assert (
        client.post("/api/v1/me/deletion", json={"confirm": True}, headers=who["headers"]).status_code == 202
    )

    run = erasure.carry_out_due(30, now=utcnow() + timedelta(days=60))

    assert run.completed == 1
    assert stored_rows() == []


def test_unbinding_deletes_the_number(client, wechat_api):
    who = organiser_of(client, wechat_api)
    wechat_api.add_phone_code("phone-1", NUMBER)
    bind(client, who["headers"], "phone-1")

    assert client.delete("/api/v1/me/phone", headers=who["headers"]).status_code == 204
    assert client.delete("/api/v1/me/phone", headers=who["headers"]).status_code == 404
    assert stored_rows() == []
    assert client.get("/api/v1/me", headers=who["headers"]).json["phone"] is None


def test_a_rotated_key_still_reads_old_numbers_and_a_lost_one_reads_none(client, wechat_api, caplog):
    who = organiser_of(client, wechat_api)
    wechat_api.add_phone_code("phone-1", NUMBER)
    bind(client, who["headers"], "phone-1")
    old = phone_numbers._keys
    new = Fernet.generate_key().decode()
    try:
        phone_numbers.configure(f"{new},{old[0]}", "unused")
        assert client.get("/api/v1/me", headers=who["headers"]).json["phone"] == MASKED
        phone_numbers.configure(new, "unused")
        assert client.get("/api/v1/me", headers=who["headers"]).json["phone"] is None
        assert "cannot be decrypted" in caplog.text and NUMBER not in caplog.text
    finally:
        phone_numbers._keys = old


class TestSandbox:
    """The embedded default: the sandbox login, no WeChat."""

    @pytest.fixture
    def app_overrides(self):
        return {}

    def test_a_sandbox_code_maps_to_a_stable_demo_number(self, client):
        token, user = login_user(client, "sandbox-organiser")
        with unit_of_work() as session:
            from models import Organisation, OrganisationKind, OrganisationMember

            organisation = Organisation(name="演示机构", kind=OrganisationKind.COMPANY, owner_id=user["id"])
            session.add(organisation)
            session.flush()
            session.add(OrganisationMember(organisation_id=organisation.id, user_id=user["id"]))
        first = bind(client, bearer(token), "any-code")
        again = bind(client, bearer(token), "any-code")

        assert first.status_code == 200, first.json
        assert first.json == again.json
        assert first.json["phone"].startswith("100****")
        assert phone_numbers.sandbox_phone("any-code") == phone_numbers.sandbox_phone("any-code")
        assert phone_numbers.sandbox_phone("other").pure != phone_numbers.sandbox_phone("any-code").pure
        assert len(phone_numbers.sandbox_phone("any-code").pure) == 11

    def test_production_has_no_sandbox_phone(self):
        # Production refuses the sandbox login, and with it the sandbox's numbers.
        settings = load_settings("production", environ=PRODUCTION_ENV)
        assert WeChatSettings.from_config(settings).sandbox_login is False


def test_production_refuses_to_start_without_a_phone_key():
    environ = {name: value for name, value in PRODUCTION_ENV.items() if name != "PHONE_ENCRYPTION_KEY"}
    with pytest.raises(ConfigurationError) as refused:
        load_settings("production", environ=environ)
    assert "PHONE_ENCRYPTION_KEY must be set" in str(refused.value)


@pytest.mark.parametrize("profile", ["default", "production"])
def test_a_malformed_phone_key_is_refused_without_being_repeated(profile):
    base = PRODUCTION_ENV if profile == "production" else {}
    secret = "not-a-fernet-key-at-all-secret-value"
    with pytest.raises(ConfigurationError) as refused:
        load_settings(profile, environ={**base, "PHONE_ENCRYPTION_KEY": secret})
    assert "PHONE_ENCRYPTION_KEY: key 1 is not a Fernet key" in str(refused.value)
    assert secret not in str(refused.value)


def test_without_a_key_outside_production_one_is_derived_from_the_secret_key():
    assert phone_numbers.fernet_keys("", "a secret") == phone_numbers.fernet_keys("", "a secret")
    assert phone_numbers.fernet_keys("", "a secret") != phone_numbers.fernet_keys("", "another")
    assert phone_numbers.fernet_keys(" k1 , k2 ", "a secret") == ("k1", "k2")


def test_the_users_table_never_holds_the_number(client, wechat_api):
    who = organiser_of(client, wechat_api)
    wechat_api.add_phone_code("phone-1", NUMBER)
    bind(client, who["headers"], "phone-1")

    with unit_of_work() as session:
        for row in session.execute(select(User)).scalars():
            assert NUMBER not in repr([getattr(row, c.key) for c in User.__table__.columns])
        assert session.scalar(select(PhoneNumber.ciphertext)) != NUMBER
