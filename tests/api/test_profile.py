"""A user's own profile: read and change it through `/me`, and only their own."""

import pytest

from tests.support.accounts import bearer, login_user


def test_me_needs_a_valid_token(client):
    assert client.get("/api/v1/me").status_code == 401
    response = client.get("/api/v1/me", headers=bearer("made-up"))
    assert response.status_code == 401
    assert response.json["error"] == "unauthenticated"


def test_a_new_user_has_an_empty_profile(client):
    token, user = login_user(client)

    me = client.get("/api/v1/me", headers=bearer(token)).json

    assert me == user
    assert me["display_name"] == me["avatar_url"] == me["city"] == me["region"] == ""
    assert me["role"] == "user"
    assert me["username"] is None


def test_profile_changes_are_saved_and_trimmed(client):
    token, _ = login_user(client)
    changes = {
        "display_name": "  林小绿 ",
        "avatar_url": "https://thirdwx.qlogo.cn/mmopen/abc/132",
        "city": "三明",
        "region": "福建",
    }

    response = client.patch("/api/v1/me", json=changes, headers=bearer(token))

    assert response.status_code == 200
    me = client.get("/api/v1/me", headers=bearer(token)).json
    assert me["display_name"] == "林小绿"
    assert me["avatar_url"] == changes["avatar_url"]
    assert (me["city"], me["region"]) == ("三明", "福建")


def test_a_partial_change_keeps_the_other_fields_and_empty_clears(client):
    token, _ = login_user(client)
    client.patch(
        "/api/v1/me", json={"city": "丽水", "avatar_url": "http://example.org/a.png"}, headers=bearer(token)
    )

    response = client.patch("/api/v1/me", json={"avatar_url": ""}, headers=bearer(token))

    assert response.json["city"] == "丽水"
    assert response.json["avatar_url"] == ""


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("display_name", "x" * 65),
        ("city", "x" * 65),
        ("region", "x" * 65),
        ("avatar_url", "https://example.org/" + "a" * 500),
        ("avatar_url", "javascript:alert(1)"),
        ("avatar_url", "ftp://example.org/a.png"),
        ("avatar_url", "not a url"),
        ("avatar_url", "https://"),
    ],
)
def test_invalid_profile_values_are_refused_naming_the_field(client, field, value):
    token, _ = login_user(client)

    response = client.patch("/api/v1/me", json={field: value}, headers=bearer(token))

    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert client.get("/api/v1/me", headers=bearer(token)).json[field] == ""


@pytest.mark.parametrize("field", ["role", "id", "openid", "username", "is_active"])
def test_fields_a_user_must_not_set_are_refused(client, field):
    token, _ = login_user(client)

    response = client.patch(
        "/api/v1/me", json={field: "admin" if field == "role" else 2}, headers=bearer(token)
    )

    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert client.get("/api/v1/me", headers=bearer(token)).json["role"] == "user"


def test_me_is_whoever_the_token_belongs_to(client):
    alice, alice_user = login_user(client, "alice-code")
    bob, bob_user = login_user(client, "bob-code")

    client.patch("/api/v1/me", json={"display_name": "Alice"}, headers=bearer(alice))
    client.patch("/api/v1/me", json={"display_name": "Bob"}, headers=bearer(bob))

    assert client.get("/api/v1/me", headers=bearer(alice)).json["id"] == alice_user["id"]
    assert client.get("/api/v1/me", headers=bearer(alice)).json["display_name"] == "Alice"
    assert client.get("/api/v1/me", headers=bearer(bob)).json["id"] == bob_user["id"]
    assert client.get("/api/v1/me", headers=bearer(bob)).json["display_name"] == "Bob"


def test_there_is_no_way_to_name_another_user_in_the_api(client):
    _, alice_user = login_user(client, "alice-code")
    bob, _ = login_user(client, "bob-code")

    for path in (f"/api/v1/users/{alice_user['id']}", f"/api/v1/me/{alice_user['id']}"):
        assert client.get(path, headers=bearer(bob)).status_code in (404, 405)
    assert client.get(f"/api/v1/me?id={alice_user['id']}", headers=bearer(bob)).json["id"] != alice_user["id"]
    spec = client.get("/api/openapi.json").json
    # Outside /admin/, a user id in a path only ever removes an organiser; nothing reads or edits a user.
    # Bank partners name users, but only in a signed body (never a path, never with a user's token) and
    # within the user's consent.
    for path, operations in spec["paths"].items():
        if path.startswith("/api/v1/partner/"):
            assert "{" not in path
            for operation in (op for name, op in operations.items() if name != "parameters"):
                assert operation["security"] == [{"partnerSignature": []}]
        elif "/admin/" not in path and "user" in path and "{" in path:
            assert path == "/api/v1/organisations/{organisation_id}/members/{user_id}"
            assert set(operations) - {"parameters"} == {"delete"}
    read = client.post("/api/v1/partner/carbon-reads", json={"user": "anyone"}, headers=bearer(bob))
    assert read.status_code == 401
