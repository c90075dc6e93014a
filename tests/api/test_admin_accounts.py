"""Admin accounts from the CLI, admin login, organisations and their organisers, and the audit log."""

import json
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from models import AuditEntry, User, utcnow
from models.database import unit_of_work
from tests.support.accounts import ADMIN_PASSWORD, bearer, login_admin, login_user
from tests.support.organisations import invite, invite_and_accept


def admin_login(client, username, password):
    return client.post("/api/v1/auth/admin-login", json={"username": username, "password": password})


def audit_entries(client, token, **filters):
    response = client.get("/api/v1/admin/audit-log", query_string=filters, headers=bearer(token))
    assert response.status_code == 200, response.json
    return response.json


def create_organisation(client, token, **body):
    return client.post("/api/v1/admin/organisations", json={"kind": "company", **body}, headers=bearer(token))


# -- the admin command and admin login ------------------------------------------------------------


def test_cli_creates_an_admin_who_can_log_in(app, client):
    result = app.test_cli_runner().invoke(args=["admin", "create", "ops", "--password", ADMIN_PASSWORD])

    assert result.exit_code == 0, result.output
    assert "Created admin 'ops'" in result.output
    response = admin_login(client, "ops", ADMIN_PASSWORD)
    assert response.status_code == 200
    assert response.json["user"]["role"] == "admin"
    assert response.json["user"]["username"] == "ops"
    assert ADMIN_PASSWORD not in response.get_data(as_text=True)


def test_cli_asks_for_the_password_twice_when_not_given(app, client):
    result = app.test_cli_runner().invoke(
        args=["admin", "create", "ops"], input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n"
    )

    assert result.exit_code == 0, result.output
    assert ADMIN_PASSWORD not in result.output
    assert admin_login(client, "ops", ADMIN_PASSWORD).status_code == 200


def test_cli_refuses_an_existing_username(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["admin", "create", "ops", "--password", ADMIN_PASSWORD])

    result = runner.invoke(args=["admin", "create", "ops", "--password", ADMIN_PASSWORD + "2"])

    assert result.exit_code != 0
    assert "username 'ops' is taken" in result.output


@pytest.mark.parametrize(
    ("username", "password", "words"),
    [
        ("ops", "short", "at least 12 characters"),
        ("ops team", ADMIN_PASSWORD, "username: Use 3 to 64 letters"),
        ("op", ADMIN_PASSWORD, "username: Use 3 to 64 letters"),
    ],
)
def test_cli_refuses_a_bad_username_or_short_password(app, username, password, words):
    result = app.test_cli_runner().invoke(args=["admin", "create", username, "--password", password])

    assert result.exit_code != 0
    assert words in result.output
    with unit_of_work() as session:
        assert session.scalar(select(User.id)) is None


def test_wrong_password_and_unknown_admin_get_the_same_401(app, client):
    app.test_cli_runner().invoke(args=["admin", "create", "ops", "--password", ADMIN_PASSWORD])

    wrong = admin_login(client, "ops", "not the password")
    unknown = admin_login(client, "nobody", ADMIN_PASSWORD)

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json["message"] == unknown.json["message"] == "Wrong username or password."


def test_a_mini_program_user_cannot_use_admin_login(client):
    login_user(client)
    with unit_of_work() as session:
        session.execute(update(User).values(username="sneaky", password_hash=PasswordHasher().hash("pw")))

    assert admin_login(client, "sneaky", "pw").status_code == 401


def test_an_outdated_password_hash_is_upgraded_at_login(app, client):
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with unit_of_work() as session:
        session.add(User(username="ops", password_hash=weak.hash(ADMIN_PASSWORD), role="admin"))

    assert admin_login(client, "ops", ADMIN_PASSWORD).status_code == 200

    with unit_of_work() as session:
        new_hash = session.scalar(select(User.password_hash).where(User.username == "ops"))
    assert not PasswordHasher().check_needs_rehash(new_hash)
    assert admin_login(client, "ops", ADMIN_PASSWORD).status_code == 200


# -- who may call admin endpoints -----------------------------------------------------------------


ADMIN_CALLS = [
    ("get", "/api/v1/admin/organisations", None),
    ("post", "/api/v1/admin/organisations", {"name": "Acme", "kind": "company"}),
    ("patch", "/api/v1/admin/organisations/1", {"name": "Acme 2"}),
    ("get", "/api/v1/admin/audit-log", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_admin_endpoints_refuse_users_with_403_and_strangers_with_401(client, method, path, body):
    token, _ = login_user(client)

    as_user = getattr(client, method)(path, json=body, headers=bearer(token))
    as_nobody = getattr(client, method)(path, json=body)

    assert as_user.status_code == 403
    assert as_user.json["error"] == "forbidden"
    assert as_nobody.status_code == 401


def test_users_cannot_manage_members_of_an_organisation_they_do_not_own(client):
    admin, _ = login_admin(client)
    organisation = create_organisation(client, admin, name="Acme").json
    token, user = login_user(client)
    members = f"/api/v1/organisations/{organisation['id']}/members"
    invitations = f"/api/v1/organisations/{organisation['id']}/invitations"

    assert invite(client, token, organisation["id"], user["id"]).status_code == 403
    assert invite(client, token, organisation["id"]).status_code == 403
    assert client.get(invitations, headers=bearer(token)).status_code == 403
    assert client.get(members, headers=bearer(token)).status_code == 403
    assert client.delete(f"{members}/{user['id']}", headers=bearer(token)).status_code == 403


# -- organisations and organisers -----------------------------------------------------------------


def test_an_admin_creates_an_organisation_whose_owner_becomes_its_organiser(client):
    admin, _ = login_admin(client)
    owner_token, owner = login_user(client, "owner-code")

    response = create_organisation(client, admin, name="三明林业局", kind="public_body", owner_id=owner["id"])

    assert response.status_code == 201
    organisation = response.json
    assert (organisation["name"], organisation["kind"], organisation["owner_id"]) == (
        "三明林业局",
        "public_body",
        owner["id"],
    )
    me = client.get("/api/v1/me", headers=bearer(owner_token)).json
    assert me["organisations"] == [
        {"id": organisation["id"], "name": "三明林业局", "kind": "public_body", "is_owner": True}
    ]


def test_the_owner_invites_organisers_who_accept_and_removes_them(client):
    admin, _ = login_admin(client)
    owner_token, owner = login_user(client, "owner-code")
    helper_token, helper = login_user(client, "helper-code")
    organisation = create_organisation(client, admin, name="Acme", owner_id=owner["id"]).json
    members = f"/api/v1/organisations/{organisation['id']}/members"

    joined = invite_and_accept(client, owner_token, organisation["id"], helper_token, helper["id"])

    assert joined["status"] == "accepted"
    assert joined["organisation"] == {"id": organisation["id"], "name": "Acme", "kind": "company"}
    listed_by_owner = client.get(members, headers=bearer(owner_token)).json
    assert [(m["user_id"], m["is_owner"]) for m in listed_by_owner] == [
        (owner["id"], True),
        (helper["id"], False),
    ]
    listed = client.get(members, headers=bearer(helper_token))
    assert [m["user_id"] for m in listed.json] == [owner["id"], helper["id"]]
    assert (
        client.get("/api/v1/me", headers=bearer(helper_token)).json["organisations"][0]["id"]
        == organisation["id"]
    )
    # An organiser who is not the owner cannot invite people.
    _, third = login_user(client, "third-code")
    assert invite(client, helper_token, organisation["id"], third["id"]).status_code == 403

    removed = client.delete(f"{members}/{helper['id']}", headers=bearer(owner_token))

    assert removed.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(helper_token)).json["organisations"] == []
    assert client.get(members, headers=bearer(helper_token)).status_code == 403


def test_member_mistakes_get_clear_errors(client):
    admin, _ = login_admin(client)
    _, owner = login_user(client, "owner-code")
    _, user = login_user(client, "user-code")
    organisation = create_organisation(client, admin, name="Acme", owner_id=owner["id"]).json
    members = f"/api/v1/organisations/{organisation['id']}/members"

    twice = invite(client, admin, organisation["id"], owner["id"])
    first = invite(client, admin, organisation["id"], user["id"])
    again = invite(client, admin, organisation["id"], user["id"])
    no_org = invite(client, admin, 999999, user["id"])
    not_member = client.delete(f"{members}/{user['id']}", headers=bearer(admin))
    owner_out = client.delete(f"{members}/{owner['id']}", headers=bearer(admin))
    bad_id = invite(client, admin, organisation["id"], "seven")

    assert twice.status_code == 409 and "member already" in twice.json["message"]
    assert first.status_code == 201
    assert again.status_code == 409 and "open invitation" in again.json["message"]
    assert no_org.status_code == 404
    assert not_member.status_code == 404
    assert owner_out.status_code == 409
    assert "owner" in owner_out.json["message"]
    assert bad_id.status_code == 422
    assert "user_id" in bad_id.json["errors"]["json"]


def test_organisation_mistakes_get_clear_errors(client):
    admin, _ = login_admin(client)
    assert create_organisation(client, admin, name="Acme").status_code == 201

    same_name = create_organisation(client, admin, name="Acme")
    bad_kind = create_organisation(client, admin, name="Beta", kind="bank")
    no_owner = create_organisation(client, admin, name="Gamma", owner_id=424242)
    no_name = create_organisation(client, admin, name="")

    assert same_name.status_code == 409
    assert (bad_kind.status_code, "kind" in bad_kind.json["errors"]["json"]) == (422, True)
    assert (no_owner.status_code, list(no_owner.json["errors"])) == (422, ["owner_id"])
    assert (no_name.status_code, "name" in no_name.json["errors"]["json"]) == (422, True)


def test_an_admin_changes_the_owner_who_then_becomes_an_organiser(client):
    admin, _ = login_admin(client)
    new_owner_token, new_owner = login_user(client, "new-owner")
    organisation = create_organisation(client, admin, name="Acme").json

    response = client.patch(
        f"/api/v1/admin/organisations/{organisation['id']}",
        json={"owner_id": new_owner["id"], "kind": "event_organiser"},
        headers=bearer(admin),
    )

    assert response.status_code == 200
    assert response.json["kind"] == "event_organiser"
    me = client.get("/api/v1/me", headers=bearer(new_owner_token)).json
    assert me["organisations"][0]["is_owner"] is True


def test_organisations_are_listed_page_by_page(client):
    admin, _ = login_admin(client)
    for n in range(5):
        create_organisation(client, admin, name=f"Org {n}")

    page = client.get("/api/v1/admin/organisations?page=2&page_size=2", headers=bearer(admin))

    assert page.status_code == 200
    assert [o["name"] for o in page.json] == ["Org 2", "Org 3"]
    assert json.loads(page.headers["X-Pagination"])["total"] == 5


# -- the audit log --------------------------------------------------------------------------------


def test_every_admin_write_is_in_the_audit_log_with_before_and_after(app, client):
    app.test_cli_runner().invoke(args=["admin", "create", "root", "--password", ADMIN_PASSWORD])
    admin = admin_login(client, "root", ADMIN_PASSWORD).json
    token, admin_id = admin["token"], admin["user"]["id"]
    _, owner = login_user(client, "owner-code")
    helper_token, helper = login_user(client, "helper-code")

    organisation = create_organisation(client, token, name="Acme").json
    org_id = organisation["id"]
    client.patch(f"/api/v1/admin/organisations/{org_id}", json={"name": "Acme Ltd"}, headers=bearer(token))
    invite_and_accept(client, token, org_id, helper_token, helper["id"])
    client.delete(f"/api/v1/organisations/{org_id}/members/{helper['id']}", headers=bearer(token))

    entries = list(reversed(audit_entries(client, token)))
    assert [(e["action"], e["entity"], e["actor_id"]) for e in entries] == [
        ("admin.create", "user", None),
        ("organisation.create", "organisation", admin_id),
        ("organisation.update", "organisation", admin_id),
        ("organisation.invite", "organisation_invitation", admin_id),
        ("organisation.add_member", "organisation_member", helper["id"]),  # the invitee accepted
        ("organisation.remove_member", "organisation_member", admin_id),
    ]
    created, create_org, rename, invited, add, remove = entries
    assert created["before"] is None
    assert created["after"]["username"] == "root"
    assert "password_hash" not in created["after"]
    assert (create_org["before"], create_org["after"]["name"]) == (None, "Acme")
    assert (rename["before"]["name"], rename["after"]["name"]) == ("Acme", "Acme Ltd")
    assert rename["entity_id"] == str(org_id)
    assert (invited["before"], invited["after"]["invitee_id"]) == (None, helper["id"])
    assert "code_hash" not in invited["after"]
    assert (add["before"], add["after"]["user_id"]) == (None, helper["id"])
    assert (remove["before"]["user_id"], remove["after"]) == (helper["id"], None)
    assert owner["id"] not in {e["actor_id"] for e in entries}


def test_the_owners_member_changes_are_audited_under_the_owner(client):
    admin, _ = login_admin(client)
    owner_token, owner = login_user(client, "owner-code")
    helper_token, helper = login_user(client, "helper-code")
    org_id = create_organisation(client, admin, name="Acme", owner_id=owner["id"]).json["id"]

    invite_and_accept(client, owner_token, org_id, helper_token, helper["id"])

    [entry] = audit_entries(client, admin, actor_id=owner["id"])
    assert (entry["action"], entry["after"]["invitee_id"]) == ("organisation.invite", helper["id"])
    [joined] = audit_entries(client, admin, actor_id=helper["id"])
    assert (joined["action"], joined["after"]["user_id"]) == ("organisation.add_member", helper["id"])


def test_the_audit_log_filters_and_pages(client):
    # Bounds taken around the writes themselves, however long they take.
    earlier = (utcnow() - timedelta(seconds=1)).isoformat()
    admin, admin_user = login_admin(client)
    for n in range(3):
        create_organisation(client, admin, name=f"Org {n}")
    org_id = str(create_organisation(client, admin, name="Target").json["id"])

    by_action = audit_entries(client, admin, action="organisation.create")
    by_entity = audit_entries(client, admin, entity="organisation", entity_id=org_id)
    by_actor = audit_entries(client, admin, actor_id=admin_user["id"])
    later = (utcnow() + timedelta(minutes=1)).isoformat()

    assert [e["after"]["name"] for e in by_action] == ["Target", "Org 2", "Org 1", "Org 0"]
    assert [e["entity_id"] for e in by_entity] == [org_id]
    assert len(by_actor) == 4
    assert audit_entries(client, admin, since=later) == []
    assert len(audit_entries(client, admin, since=earlier, until=later)) == 5  # with admin.create
    assert audit_entries(client, admin, until=earlier) == []
    page = client.get("/api/v1/admin/audit-log?page=2&page_size=2", headers=bearer(admin))
    assert len(page.json) == 2
    assert json.loads(page.headers["X-Pagination"])["total"] == 5


def test_the_audit_log_refuses_a_backwards_date_range(client):
    admin, _ = login_admin(client)

    response = client.get(
        "/api/v1/admin/audit-log",
        query_string={"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        headers=bearer(admin),
    )

    assert response.status_code == 422
    assert "until" in response.json["errors"]["query"]


def test_audit_entries_commit_with_the_change_they_describe(client):
    admin, _ = login_admin(client)
    create_organisation(client, admin, name="Acme")

    create_organisation(client, admin, name="Acme")  # refused: nothing changed, nothing audited

    with unit_of_work() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["admin.create", "organisation.create"]
