"""Account deletion (账号注销): the request and its cooling-off period, cancelling by hand or by logging
in, and what the deletion job does: to the person (tokens, identifiers, points, consents, certificates)
and to nobody else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from api.context import RUNTIME_KEY
from models import (
    AccountDeletion,
    AuditEntry,
    Certificate,
    Consent,
    Footprint,
    MessageKind,
    Order,
    Organisation,
    OrganisationMember,
    PointsBalance,
    PointsEntry,
    SubscribeAllowance,
    SubscribeMessage,
    User,
    utcnow,
)
from models.database import read_session, unit_of_work
from services.accounts import tokens
from services.accounts.accounts import get_session_key
from services.kernel.redis_store import get_redis
from services.personal_data.erasure import DELETED_HOLDER, carry_out_due
from tests.points_support import check_ledger
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.factors import publish_library
from tests.support.live import wait_until
from tests.support.personal_data import (
    bank_and_item,
    bank_reads,
    join,
    organisation,
    person,
    snapshot,
    with_history,
)
from tests.support.pool import stock_pool

COOLING_OFF_DAYS = 15
SYNC_DAYS = 7


@pytest.fixture
def admin(client):
    token, _ = login_admin(client)
    return bearer(token)


def _request(client, headers, **body):
    return client.post("/api/v1/me/deletion", json={"confirm": True, **body}, headers=headers)


def _due_later():
    return utcnow() + timedelta(days=COOLING_OFF_DAYS, seconds=1)


def _row(model, **where):
    session = read_session()
    try:
        return session.scalars(select(model).filter_by(**where)).all()
    finally:
        session.rollback()


@pytest.fixture
def world(client, admin):
    """Alice (to be deleted) and Bob, each with a history; both in Acme (Bob owns it); Alice owns Alco."""
    stock_pool(tonnes=2)
    publish_library()
    bank, item = bank_and_item(client, admin)
    alice = with_history(client, person(client, "alice-code", "张三丰"), "张三丰", bank["id"], item)
    bob = with_history(client, person(client, "bob-code", "李四"), "李四", bank["id"], item)
    acme = organisation(client, admin, "Acme 碳中和", bob)
    join(client, acme, bob, alice)
    alco = organisation(client, admin, "Alco", alice)
    for who in (alice, bob):
        footprint = client.post(
            "/api/v1/footprints/calculate",
            json={"period_type": "month", "province": "福建", "home": {"electricity_kwh": 100}},
            headers=who.headers,
        )
        assert footprint.status_code in (200, 201), footprint.json
    return {"alice": alice, "bob": bob, "bank": bank, "acme": acme, "alco": alco}


def test_a_request_waits_out_the_cooling_off_period_and_keeps_the_login(client, world):
    alice = world["alice"]
    before = utcnow()

    asked = _request(client, alice.headers)

    assert asked.status_code == 202, asked.json
    body = asked.json
    assert body["status"] == "pending" and body["cancelled_at"] is None and body["completed_at"] is None
    due = body["due_at"]
    assert due[:10] == (before + timedelta(days=COOLING_OFF_DAYS)).date().isoformat()
    # The same login still works (to cancel, or to export first), and the profile says when.
    me = client.get("/api/v1/me", headers=alice.headers)
    assert me.status_code == 200 and me.json["account_deletion_due_at"] == due
    assert client.get("/api/v1/me/deletion", headers=alice.headers).json == body
    # Asking again answers the same request.
    again = _request(client, alice.headers)
    assert again.status_code == 202 and again.json["id"] == body["id"]
    # Not due yet: the job leaves it alone.
    assert carry_out_due(SYNC_DAYS).completed == 0
    assert client.get("/api/v1/me", headers=alice.headers).status_code == 200


def test_deletion_erases_the_person_and_keeps_the_public_record(client, admin, world):
    alice, bob, bank = world["alice"], world["bob"], world["bank"]
    certificate = alice.certificates[0]
    bob_before = snapshot(bob.id)
    acme_before = _row(Organisation, id=world["acme"])[0].owner_id
    with unit_of_work() as session:
        available, pending = session.execute(
            select(PointsBalance.balance, PointsBalance.pending).where(PointsBalance.user_id == alice.id)
        ).one()
    assert (
        available >= 700 and pending > 0
    )  # the gift points less the redemption, the trip's; the order's pending
    assert get_session_key(alice.id) is not None
    assert bank_reads(client, bank, alice.openid).status_code == 200
    assert _request(client, alice.headers).status_code == 202
    # The token is resolved through the Redis cache of principals right before the deletion.
    assert client.get("/api/v1/me", headers=alice.headers).status_code == 200
    token_hash = tokens.hash_token(alice.token)
    assert get_redis().exists(tokens._cache_key(token_hash))

    run = carry_out_due(SYNC_DAYS, now=_due_later())

    assert (run.completed, run.deferred) == (1, 0)
    # Tokens: refused at once, the cached principal dropped with them.
    assert not get_redis().exists(tokens._cache_key(token_hash))
    assert client.get("/api/v1/me", headers=alice.headers).status_code == 401
    assert client.get("/api/v1/me/export", headers=alice.headers).status_code == 401
    # Identifiers, profile, session key: gone; the row stays, empty, as the pseudonymous holder.
    user = _row(User, id=alice.id)[0]
    assert (user.openid, user.unionid, user.display_name, user.city, user.avatar_url) == (
        None,
        None,
        "",
        "",
        "",
    )
    assert user.is_active is False and user.deleted_at is not None
    assert get_session_key(alice.id) is None
    # The bank can no longer read her, and says no more than it says of a stranger.
    refused = bank_reads(client, bank, alice.openid)
    assert refused.status_code == 403
    assert refused.json["message"] == bank_reads(client, bank, "o-nobody").json["message"]
    assert all(c.revoked_at is not None for c in _row(Consent, user_id=alice.id))
    # Points: every unspent one forfeited, in one ledger entry.
    (forfeit,) = [e for e in _row(PointsEntry, user_id=alice.id) if e.source_type.value == "account_deletion"]
    assert forfeit.kind.value == "expire" and forfeit.points == -(available + pending)
    balance = check_ledger(alice.id)  # every lot drawn down to nothing, the ledger adds up
    assert (balance.balance, balance.pending) == (0, 0)
    # Footprints deleted; memberships and ownerships ended.
    assert _row(Footprint, user_id=alice.id) == []
    assert _row(OrganisationMember, user_id=alice.id) == []
    assert _row(Organisation, id=world["alco"])[0].owner_id is None
    # Orders and certificates kept, the holder pseudonymised; the certificate still verifies.
    assert [o.holder_name for o in _row(Order, user_id=alice.id)] == [DELETED_HOLDER]
    kept = _row(Certificate, user_id=alice.id)[0]
    assert (kept.number, kept.holder_name, kept.status.value) == (
        certificate["number"],
        DELETED_HOLDER,
        "valid",
    )
    public = client.get(f"/api/v1/certificates/{certificate['verification_code']}")
    assert public.status_code == 200 and public.json["valid"] is True
    assert public.json["holder"] == "已***户" and "张" not in public.json["holder"]
    assert [c["serial"] for c in public.json["claims"]] == [c["serial"] for c in certificate["claims"]]
    page = client.get(f"/verify/{certificate['verification_code']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "证书有效" in text and "张三丰" not in text and "张*丰" not in text
    pdf = client.get(f"/api/v1/me/certificates/{certificate['number']}/pdf", headers=admin)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # Audited, with counts and nothing erased.
    (entry,) = _row(AuditEntry, action="account_deletion.execute")
    assert entry.after["user_id"] == alice.id and entry.after["tokens_revoked"] >= 1
    assert entry.after["consents_revoked"] == 1 and entry.after["certificates_pseudonymised"] == 1
    assert entry.after["memberships_ended"] == 2 and entry.after["organisations_unowned"] == 1  # Acme, Alco
    assert alice.openid not in str(entry.after) and "张三丰" not in str(entry.after)
    # Nobody else changed: Bob, his consents, his points, his certificate, his organisation.
    assert snapshot(bob.id) == bob_before
    assert client.get("/api/v1/me", headers=bob.headers).status_code == 200
    assert bank_reads(client, bank, bob.openid).status_code == 200
    assert _row(Organisation, id=world["acme"])[0].owner_id == acme_before == bob.id
    bob_public = client.get(f"/api/v1/certificates/{bob.certificates[0]['verification_code']}").json
    assert bob_public["holder"] == "李*"
    members = client.get(f"/api/v1/organisations/{world['acme']}/members", headers=bob.headers).json
    assert [m["user_id"] for m in members] == [bob.id]
    # A new login of the same WeChat user is a new account; the state says completed.
    _token, user_again = login_user(client, alice.code)
    assert user_again["id"] != alice.id and user_again["account_deletion_due_at"] is None
    listed = client.get("/api/v1/admin/account-deletions?status=completed", headers=admin).json
    assert [(d["user_id"], d["status"]) for d in listed] == [(alice.id, "completed")]


def test_tokens_are_refused_at_once_by_the_in_process_cache_too(app, client):
    """With the in-process principal cache on, a token it holds is dropped when the deletion commits."""
    tokens.configure_local_cache(30)
    try:
        token, _user = login_user(client, "cached-code")
        headers = bearer(token)
        token_hash = tokens.hash_token(token)
        local = tokens._local
        assert local is not None
        local.epoch()  # starts the listener, which subscribes to the (in-process) Redis
        wait_until(local._live, timeout_s=10)
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        assert local.get(token_hash) is not None  # served from this process's cache
        assert _request(client, headers).status_code == 202

        assert carry_out_due(SYNC_DAYS, now=_due_later()).completed == 1

        assert local.get(token_hash) is None
        assert client.get("/api/v1/me", headers=headers).status_code == 401
    finally:
        tokens.configure_local_cache(0)


def test_logging_in_during_the_cooling_off_period_cancels_the_deletion(client):
    token, user = login_user(client, "carol-code")
    assert _request(client, bearer(token)).status_code == 202

    again = client.post("/api/v1/auth/login", json={"code": "carol-code"})

    assert again.status_code == 200
    assert again.json["account_deletion_cancelled"] is True
    assert again.json["user"]["id"] == user["id"] and again.json["user"]["account_deletion_due_at"] is None
    state = client.get("/api/v1/me/deletion", headers=bearer(again.json["token"])).json
    assert (state["status"], state["cancelled_by"]) == ("cancelled", "login")
    assert carry_out_due(SYNC_DAYS, now=_due_later()).completed == 0
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    # A later login cancels nothing more.
    assert (
        client.post("/api/v1/auth/login", json={"code": "carol-code"}).json["account_deletion_cancelled"]
        is False
    )


def test_a_login_through_wechat_cancels_it_too(app, client, wechat_api):
    app.config.update(wechat_api.settings())  # this test's logins go to WeChat (faked on the wire)
    wechat_api.add_code("w-1", openid="o-dave", session_key="c2Vzc2lvbi1rZXktZGF2ZQ==")
    wechat_api.add_code("w-2", openid="o-dave", session_key="c2Vzc2lvbi1rZXktZGF2ZTI=")
    first = client.post("/api/v1/auth/login", json={"code": "w-1"})
    assert first.status_code == 200, first.json
    assert _request(client, bearer(first.json["token"])).status_code == 202

    second = client.post("/api/v1/auth/login", json={"code": "w-2"})

    assert second.status_code == 200 and second.json["account_deletion_cancelled"] is True
    assert _row(AccountDeletion, user_id=first.json["user"]["id"])[0].status.value == "cancelled"


def test_cancel_by_hand_and_clear_errors(client, admin):
    token, _ = login_user(client, "erin-code")
    headers = bearer(token)
    assert client.get("/api/v1/me/deletion", headers=headers).status_code == 404
    assert client.delete("/api/v1/me/deletion", headers=headers).status_code == 404
    for body in ({}, {"confirm": False}, {"confirm": "yes"}, {"confirm": True, "extra": 1}):
        refused = client.post("/api/v1/me/deletion", json=body, headers=headers)
        assert refused.status_code == 422, (body, refused.json)
    assert client.post("/api/v1/me/deletion", json={"confirm": True}, headers=admin).status_code == 403
    assert _request(client, headers).status_code == 202

    cancelled = client.delete("/api/v1/me/deletion", headers=headers)

    assert cancelled.status_code == 200
    assert (cancelled.json["status"], cancelled.json["cancelled_by"]) == ("cancelled", "user")
    assert client.delete("/api/v1/me/deletion", headers=headers).status_code == 404
    assert carry_out_due(SYNC_DAYS, now=_due_later()).completed == 0
    # A new request after a cancel is a new one.
    renewed = _request(client, headers)
    assert renewed.status_code == 202 and renewed.json["id"] != cancelled.json["id"]
    actions = [e.action for e in _row(AuditEntry) if e.entity == "account_deletion"]
    assert actions == ["account_deletion.request", "account_deletion.cancel", "account_deletion.request"]
    assert client.get("/api/v1/admin/account-deletions?status=nonsense", headers=admin).status_code == 422
    assert client.get("/api/v1/admin/account-deletions", headers=headers).status_code == 403


def test_a_deletion_waits_while_an_order_may_still_be_paid(client, admin):
    stock_pool(tonnes=1)
    token, user = login_user(client, "frank-code")
    headers = bearer(token)
    placed = client.post("/api/v1/orders", json={"product": "one_yuan", "units": 1}, headers=headers)
    assert placed.status_code == 201, placed.json
    number = placed.json["order"]["out_trade_no"]
    assert _request(client, headers).status_code == 202
    with unit_of_work() as session:  # due now
        session.execute(update(AccountDeletion).values(due_at=utcnow() - timedelta(seconds=1)))

    assert client.post("/api/v1/admin/account-deletions/run", headers=admin).json == {
        "completed": 0,
        "deferred": 1,
    }
    # Cancelled, but WeChat Pay has not confirmed the trade closed: a payment may still come.
    assert client.post(f"/api/v1/orders/{number}/cancel", headers=headers).status_code == 200
    assert carry_out_due(SYNC_DAYS).deferred == 1
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with unit_of_work() as session:
        session.execute(update(Order).where(Order.out_trade_no == number).values(trade_closed_at=utcnow()))

    ran = client.post("/api/v1/admin/account-deletions/run", headers=admin)

    assert ran.status_code == 200 and ran.json == {"completed": 1, "deferred": 0}
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    (request,) = _row(AccountDeletion, user_id=user["id"])
    assert request.status.value == "completed" and request.completed_by is not None


def test_the_scheduled_job_carries_out_due_deletions(app, client):
    from worker import tasks
    from worker.schedule import SCHEDULE

    assert "worker.tasks.carry_out_account_deletions" in [job.task for job in SCHEDULE]
    token, _ = login_user(client, "gina-code")
    assert _request(client, bearer(token)).status_code == 202
    with unit_of_work() as session:
        session.execute(update(AccountDeletion).values(due_at=utcnow() - timedelta(seconds=1)))
    tasks.use(app.extensions[RUNTIME_KEY])

    summary = tasks.carry_out_account_deletions()

    assert summary == {"completed": 1, "deferred": 0}
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_deletion_removes_the_users_subscribe_allowances_and_messages(client):
    alice_token, alice = login_user(client, "subscriber-alice")
    _, bob = login_user(client, "subscriber-bob")
    with unit_of_work() as session:
        for user in (alice, bob):
            session.add(
                SubscribeAllowance(
                    user_id=user["id"], template_id="tpl-cert", remaining=2, last_result="accept"
                )
            )
            session.add(
                SubscribeMessage(
                    kind=MessageKind.CERTIFICATE_ISSUED,
                    subject_id=f"c-{user['id']}",
                    user_id=user["id"],
                    template_id="tpl-cert",
                    data={"thing1": {"value": "x"}},
                )
            )
    assert _request(client, bearer(alice_token)).status_code == 202

    run = carry_out_due(SYNC_DAYS, now=_due_later())

    assert run.completed == 1
    assert _row(SubscribeAllowance, user_id=alice["id"]) == []
    assert _row(SubscribeMessage, user_id=alice["id"]) == []
    assert len(_row(SubscribeAllowance, user_id=bob["id"])) == 1
    assert len(_row(SubscribeMessage, user_id=bob["id"])) == 1
