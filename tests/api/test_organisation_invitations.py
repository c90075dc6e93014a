"""Membership by invitation: the owner invites, the invitee accepts or declines, and until then the
owner learns nothing about them; invitations expire, can be revoked and answer only once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from models import OrganisationInvitation, utcnow
from models.database import unit_of_work
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.organisations import invite, invite_and_accept


def _organisation(client, admin, owner_id, name="Acme"):
    created = client.post(
        "/api/v1/admin/organisations",
        json={"name": name, "kind": "company", "owner_id": owner_id},
        headers=bearer(admin),
    )
    assert created.status_code == 201, created.json
    return created.json["id"]


def _setup(client):
    admin, _ = login_admin(client)
    owner_token, owner = login_user(client, "owner-code")
    org_id = _organisation(client, admin, owner["id"])
    return admin, owner_token, org_id


def _events(org_id):
    return f"/api/v1/organisations/{org_id}/events"


def _my_organisations(client, token):
    return [o["id"] for o in client.get("/api/v1/me", headers=bearer(token)).json["organisations"]]


def test_the_owner_learns_nothing_about_an_invitee_before_they_accept(client):
    _, owner_token, org_id = _setup(client)
    helper_token, helper = login_user(client, "helper-code")
    client.patch("/api/v1/me", json={"display_name": "Helper Huang"}, headers=bearer(helper_token))

    real = invite(client, owner_token, org_id, helper["id"])
    ghost = invite(client, owner_token, org_id, 999_999)  # no user has this id

    assert (real.status_code, ghost.status_code) == (201, 201)
    for response in (real, ghost):  # the same answer either way, and no name anywhere
        assert set(response.json) == {"invitation", "code"}
        assert set(response.json["invitation"]) == {
            "id",
            "invitee_id",
            "status",
            "expires_at",
            "created_at",
            "responded_at",
        }
        assert response.json["invitation"]["status"] == "pending"
    listed = client.get(f"/api/v1/organisations/{org_id}/invitations", headers=bearer(owner_token))
    members = client.get(f"/api/v1/organisations/{org_id}/members", headers=bearer(owner_token))
    assert "Helper Huang" not in listed.get_data(as_text=True) + members.get_data(as_text=True)
    assert [m["user_id"] for m in members.json] != [] and helper["id"] not in [
        m["user_id"] for m in members.json
    ]
    # Invited is not a member: the invitee's own token opens nothing of the organisation yet.
    assert client.get(_events(org_id), headers=bearer(helper_token)).status_code == 403
    assert _my_organisations(client, helper_token) == []

    accepted = client.post(
        f"/api/v1/me/invitations/{real.json['invitation']['id']}/accept", headers=bearer(helper_token)
    )

    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    # The same token, resolved and cached before, now opens the organisation: the cache was dropped.
    assert client.get(_events(org_id), headers=bearer(helper_token)).status_code == 200
    assert _my_organisations(client, helper_token) == [org_id]
    members = client.get(f"/api/v1/organisations/{org_id}/members", headers=bearer(owner_token)).json
    assert {m["user_id"]: m["display_name"] for m in members}[helper["id"]] == "Helper Huang"


def test_the_invitee_sees_their_invitations_and_declines_one(client):
    _, owner_token, org_id = _setup(client)
    helper_token, helper = login_user(client, "helper-code")
    stranger_token, _ = login_user(client, "stranger-code")
    invitation_id = invite(client, owner_token, org_id, helper["id"]).json["invitation"]["id"]

    mine = client.get("/api/v1/me/invitations", headers=bearer(helper_token)).json
    assert [(i["id"], i["organisation"]["name"], i["status"]) for i in mine] == [
        (invitation_id, "Acme", "pending")
    ]
    assert client.get("/api/v1/me/invitations", headers=bearer(stranger_token)).json == []
    # Nobody else may answer it.
    for action in ("accept", "decline"):
        other = client.post(
            f"/api/v1/me/invitations/{invitation_id}/{action}", headers=bearer(stranger_token)
        )
        assert other.status_code == 404

    declined = client.post(f"/api/v1/me/invitations/{invitation_id}/decline", headers=bearer(helper_token))

    assert declined.status_code == 200 and declined.json["status"] == "declined"
    late = client.post(f"/api/v1/me/invitations/{invitation_id}/accept", headers=bearer(helper_token))
    assert late.status_code == 409 and "declined" in late.json["message"]
    assert _my_organisations(client, helper_token) == []
    assert client.get("/api/v1/me/invitations", headers=bearer(helper_token)).json == []
    listed = client.get(f"/api/v1/organisations/{org_id}/invitations", headers=bearer(owner_token)).json
    assert [i["status"] for i in listed] == ["declined"]


def test_an_open_invitation_is_redeemed_by_its_code_once(client):
    _, owner_token, org_id = _setup(client)
    issued = invite(client, owner_token, org_id)
    assert issued.status_code == 201 and issued.json["invitation"]["invitee_id"] is None
    code = issued.json["code"]
    assert len(code) >= 22  # 16 random bytes
    first_token, _ = login_user(client, "first-code")
    second_token, _ = login_user(client, "second-code")

    joined = client.post("/api/v1/me/invitations/redeem", json={"code": code}, headers=bearer(first_token))
    again = client.post("/api/v1/me/invitations/redeem", json={"code": code}, headers=bearer(second_token))
    wrong = client.post(
        "/api/v1/me/invitations/redeem", json={"code": code + "x"}, headers=bearer(second_token)
    )

    assert joined.status_code == 200 and joined.json["organisation"]["id"] == org_id
    assert _my_organisations(client, first_token) == [org_id]
    assert again.status_code == 409
    assert wrong.status_code == 404
    assert _my_organisations(client, second_token) == []
    # The code is kept only as a hash.
    with unit_of_work() as session:
        stored = session.scalars(select(OrganisationInvitation.code_hash)).all()
    assert code not in stored and all(len(h) == 64 for h in stored)


def test_a_code_addressed_to_one_user_opens_nothing_for_another(client):
    _, owner_token, org_id = _setup(client)
    _, helper = login_user(client, "helper-code")
    stranger_token, _ = login_user(client, "stranger-code")
    code = invite(client, owner_token, org_id, helper["id"]).json["code"]

    taken = client.post("/api/v1/me/invitations/redeem", json={"code": code}, headers=bearer(stranger_token))

    assert taken.status_code == 404
    assert _my_organisations(client, stranger_token) == []


def test_invitations_expire_and_can_be_revoked(client):
    _, owner_token, org_id = _setup(client)
    helper_token, helper = login_user(client, "helper-code")
    other_token, other = login_user(client, "other-code")
    expiring = invite(client, owner_token, org_id, helper["id"]).json["invitation"]["id"]
    revoked = invite(client, owner_token, org_id, other["id"]).json["invitation"]["id"]
    with unit_of_work() as session:
        session.execute(
            update(OrganisationInvitation)
            .where(OrganisationInvitation.id == expiring)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    withdrawn = client.delete(
        f"/api/v1/organisations/{org_id}/invitations/{revoked}", headers=bearer(owner_token)
    )

    assert withdrawn.status_code == 204
    assert client.get("/api/v1/me/invitations", headers=bearer(helper_token)).json == []
    expired = client.post(f"/api/v1/me/invitations/{expiring}/accept", headers=bearer(helper_token))
    assert expired.status_code == 409 and "expired" in expired.json["message"]
    refused = client.post(f"/api/v1/me/invitations/{revoked}/accept", headers=bearer(other_token))
    assert refused.status_code == 409 and "revoked" in refused.json["message"]
    assert _my_organisations(client, helper_token) == _my_organisations(client, other_token) == []
    listed = client.get(f"/api/v1/organisations/{org_id}/invitations", headers=bearer(owner_token)).json
    assert {i["id"]: i["status"] for i in listed} == {expiring: "expired", revoked: "revoked"}
    # An expired invitation does not block a fresh one.
    assert invite(client, owner_token, org_id, helper["id"]).status_code == 201


def test_the_invitation_lifetime_is_a_setting(app, client):
    app.config["ORGANISATION_INVITATION_TTL_H"] = 2
    _, owner_token, org_id = _setup(client)
    _, helper = login_user(client, "helper-code")
    before = utcnow()

    issued = invite(client, owner_token, org_id, helper["id"]).json["invitation"]

    with unit_of_work() as session:
        expires_at = session.get(OrganisationInvitation, issued["id"]).expires_at
    assert before + timedelta(hours=2) <= expires_at <= utcnow() + timedelta(hours=2)


def test_removal_and_a_new_owner_still_work_with_invitations(client):
    admin, owner_token, org_id = _setup(client)
    helper_token, helper = login_user(client, "helper-code")
    invite_and_accept(client, owner_token, org_id, helper_token, helper["id"])

    removed = client.delete(
        f"/api/v1/organisations/{org_id}/members/{helper['id']}", headers=bearer(owner_token)
    )
    assert removed.status_code == 204
    assert client.get(_events(org_id), headers=bearer(helper_token)).status_code == 403

    # An admin may make someone the owner directly (an appointment, not an invitation).
    promoted = client.patch(
        f"/api/v1/admin/organisations/{org_id}", json={"owner_id": helper["id"]}, headers=bearer(admin)
    )
    assert promoted.status_code == 200
    assert client.get(_events(org_id), headers=bearer(helper_token)).status_code == 200
    # Nobody becomes a member by being named in a POST any more.
    direct = client.post(
        f"/api/v1/organisations/{org_id}/members", json={"user_id": 1}, headers=bearer(admin)
    )
    assert direct.status_code == 405
