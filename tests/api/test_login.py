"""Mini-program login through a fake WeChat API on the wire, tokens, expiry and logout."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import AuthToken, User, utcnow
from models.database import unit_of_work
from services.accounts import tokens
from services.accounts.accounts import SESSION_KEY_TTL_S, get_session_key, session_key_name
from services.kernel.redis_store import get_redis
from tests.support.accounts import bearer


@pytest.fixture
def app_overrides(wechat_api):
    return wechat_api.settings()


def login(client, code):
    return client.post("/api/v1/auth/login", json={"code": code})


def users():
    with unit_of_work() as session:
        return session.scalars(select(User).order_by(User.id)).all()


def test_first_login_creates_a_user_and_gives_a_working_token(client, wechat_api):
    wechat_api.add_code("code-1", openid="o-alice", session_key="c2Vzc2lvbi1rZXktYWxpY2U=")

    response = login(client, "code-1")

    assert response.status_code == 200
    body = response.json
    assert body["user"]["role"] == "user"
    assert body["user"]["organisations"] == []
    assert body["expires_at"].endswith("+00:00")
    assert [u.openid for u in users()] == ["o-alice"]
    me = client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.json["id"] == body["user"]["id"]


def test_the_same_openid_logs_in_the_same_user(client, wechat_api):
    wechat_api.add_code("code-1", openid="o-alice", session_key="k1")
    wechat_api.add_code("code-2", openid="o-alice", session_key="k2")
    wechat_api.add_code("code-3", openid="o-bob", session_key="k3")

    first = login(client, "code-1").json
    second = login(client, "code-2").json
    other = login(client, "code-3").json

    assert first["user"]["id"] == second["user"]["id"]
    assert other["user"]["id"] != first["user"]["id"]
    assert first["token"] != second["token"]
    assert len(users()) == 2


def test_unionid_is_kept_and_not_lost_by_a_later_login_without_it(client, wechat_api):
    wechat_api.add_code("code-1", openid="o-alice", session_key="k1", unionid="u-alice")
    wechat_api.add_code("code-2", openid="o-alice", session_key="k2")

    login(client, "code-1")
    login(client, "code-2")

    assert [(u.openid, u.unionid) for u in users()] == [("o-alice", "u-alice")]


def test_session_key_is_kept_in_redis_for_days_and_never_returned(client, wechat_api):
    wechat_api.add_code("code-1", openid="o-alice", session_key="secret-session-key-1")
    wechat_api.add_code("code-2", openid="o-alice", session_key="secret-session-key-2")

    first = login(client, "code-1")
    user_id = first.json["user"]["id"]
    assert get_session_key(user_id) == "secret-session-key-1"
    second = login(client, "code-2")

    assert get_session_key(user_id) == "secret-session-key-2"
    assert 0 < get_redis().ttl(session_key_name(user_id)) <= SESSION_KEY_TTL_S
    for response in (first, second):
        assert b"secret-session-key" not in response.data
        assert b"o-alice" not in response.data
    me = client.get("/api/v1/me", headers=bearer(second.json["token"]))
    assert b"secret-session-key" not in me.data


def test_a_used_code_is_refused_with_a_clear_message(client, wechat_api):
    wechat_api.add_code("code-1", openid="o-alice", session_key="k1")
    assert login(client, "code-1").status_code == 200

    again = login(client, "code-1")

    assert again.status_code == 422
    assert again.json["error"] == "invalid_login_code"
    assert "already been used" in again.json["message"]
    assert "code" in again.json["errors"]


def test_an_unknown_code_is_refused(client, wechat_api):
    response = login(client, "never-issued")

    assert response.status_code == 422
    assert response.json["error"] == "invalid_login_code"
    assert "invalid or has expired" in response.json["message"]
    assert users() == []


def test_a_login_wechat_blocks_as_high_risk_is_refused(client, wechat_api):
    wechat_api.add_refused_code("risky", 40226, "high risk user")

    response = login(client, "risky")

    assert response.status_code == 422
    assert "high-risk" in response.json["message"]


def test_a_missing_code_names_the_field(client):
    response = client.post("/api/v1/auth/login", json={})

    assert response.status_code == 422
    assert "code" in response.json["errors"]["json"]


@pytest.mark.parametrize("failure", ["http_500", "hang"])
def test_wechat_down_gives_503_and_creates_nobody(client, wechat_api, failure):
    wechat_api.add_code("code-1", openid="o-alice", session_key="k1")
    wechat_api.fail_with(failure)

    started = time.monotonic()
    response = login(client, "code-1")

    assert response.status_code == 503
    assert response.json["error"] == "upstream_unavailable"
    assert response.headers["Retry-After"]
    assert time.monotonic() - started < 10  # the timeout (1 s here) bounds a hanging WeChat
    assert users() == []

    wechat_api.fail_with(None)
    assert login(client, "code-1").status_code == 200


def test_wechat_down_after_the_token_was_fetched_gives_503(client, wechat_api):
    wechat_api.add_code("code-1", openid="o-alice", session_key="k1")
    wechat_api.add_code("code-2", openid="o-alice", session_key="k2")
    assert login(client, "code-1").status_code == 200
    wechat_api.fail_with("http_500")

    assert login(client, "code-2").status_code == 503


def test_wrong_app_secret_is_an_upstream_failure_not_a_bad_code(app, client, wechat_api):
    app.config["WECHAT_SECRET"] = "not-the-secret"
    wechat_api.add_code("code-1", openid="o-alice", session_key="k1")

    response = login(client, "code-1")

    assert response.status_code == 503
    assert wechat_api.count("/cgi-bin/token") == 1


def test_the_access_token_is_fetched_once_and_shared_through_redis(client, wechat_api):
    for n in range(3):
        wechat_api.add_code(f"code-{n}", openid=f"o-{n}", session_key="k")

    for n in range(3):
        assert login(client, f"code-{n}").status_code == 200

    assert wechat_api.count("/cgi-bin/token") == 1
    assert wechat_api.count("/sns/jscode2session") == 3
    [token] = wechat_api.issued_tokens
    assert token.encode() in get_redis().get(f"wx:{wechat_api.appid}_access_token")
    sent = [
        params.get("access_token") for path, params in wechat_api.requests if path == "/sns/jscode2session"
    ]
    assert sent == [token, token, token]

    # Redis is where the token lives: without it the next login fetches a new one.
    get_redis().delete(f"wx:{wechat_api.appid}_access_token")
    wechat_api.add_code("code-x", openid="o-x", session_key="k")
    assert login(client, "code-x").status_code == 200
    assert wechat_api.count("/cgi-bin/token") == 2


def test_an_expired_token_is_refused(client, wechat_api):
    wechat_api.add_code("code-1", openid="o-alice", session_key="k1")
    token = login(client, "code-1").json["token"]
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200

    with unit_of_work() as session:
        session.execute(update(AuthToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    # Time has "passed" in the database only; a resolved token stays cached at most PRINCIPAL_CACHE_S.
    get_redis().flushdb()

    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert "expired" in response.json["message"]


def test_tokens_expire_after_the_configured_lifetime(app, client, wechat_api, monkeypatch):
    # The token service's clock is moved by hand: no sleep that a slow machine could outrun.
    now = [utcnow()]
    monkeypatch.setattr(tokens, "utcnow", lambda: now[0])
    app.config["TOKEN_TTL_S"] = 600
    wechat_api.add_code("code-1", openid="o-alice", session_key="k1")
    token = login(client, "code-1").json["token"]
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200

    # A resolved token is cached in Redis for at most what is left of its lifetime (in real
    # seconds, which this clock does not move): drop the cache to ask the database at each step.
    get_redis().flushdb()
    now[0] += timedelta(seconds=599)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    cached = [key for key in get_redis().scan_iter("auth:principal:*")]
    assert cached and all(0 < get_redis().ttl(key) <= 1 for key in cached)  # never outlives the token
    get_redis().flushdb()
    now[0] += timedelta(seconds=2)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_logout_revokes_only_that_token(client, wechat_api):
    wechat_api.add_code("phone", openid="o-alice", session_key="k1")
    wechat_api.add_code("tablet", openid="o-alice", session_key="k2")
    phone = login(client, "phone").json["token"]
    tablet = login(client, "tablet").json["token"]

    response = client.post("/api/v1/auth/logout", headers=bearer(phone))

    assert response.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(phone)).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=bearer(phone)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(tablet)).status_code == 200


def test_a_disabled_account_cannot_log_in(client, wechat_api):
    wechat_api.add_code("code-1", openid="o-alice", session_key="k1")
    wechat_api.add_code("code-2", openid="o-alice", session_key="k2")
    token = login(client, "code-1").json["token"]
    with unit_of_work() as session:
        session.execute(update(User).values(is_active=False))

    assert login(client, "code-2").status_code == 403
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


@pytest.mark.postgres
def test_concurrent_first_logins_of_one_openid_make_one_user(pg_app, pg_client, wechat_api):
    from concurrent.futures import ThreadPoolExecutor

    for n in range(6):
        wechat_api.add_code(f"code-{n}", openid="o-alice", session_key=f"k{n}")

    def attempt(n):
        with pg_app.test_client() as client:
            return login(client, f"code-{n}")

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(attempt, range(6)))

    assert [r.status_code for r in responses] == [200] * 6
    assert len({r.json["user"]["id"] for r in responses}) == 1
    assert wechat_api.count("/cgi-bin/token") >= 1
    assert get_redis().get(f"wx:{wechat_api.appid}_access_token") is not None
