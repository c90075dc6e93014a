"""Forwarded client addresses are read only from trusted proxies; `/metrics` answers only its token or a local scrape."""

from __future__ import annotations

import pytest
from flask import Flask, request

from tests.support.accounts import bearer


def _echo_address(app: Flask) -> None:
    app.add_url_rule(
        "/_test/address", "test_address", lambda: {"addr": request.remote_addr, "scheme": request.scheme}
    )


class TestNoTrustedProxy:
    def test_a_forwarded_address_is_ignored(self, app, client):
        _echo_address(app)
        answer = client.get(
            "/_test/address",
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": "10.0.0.5"},
        ).json
        assert answer == {"addr": "10.0.0.5", "scheme": "http"}


def _login_try(client, forwarded: str, username: str) -> int:
    return client.post(
        "/api/v1/auth/admin-login",
        json={"username": username, "password": "guess"},
        headers={"X-Forwarded-For": forwarded},
        environ_base={"REMOTE_ADDR": "10.0.0.5"},
    ).status_code


class TestLoginBucketsWithoutAProxy:
    @pytest.fixture
    def app_overrides(self):
        return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "2 per minute"}

    def test_a_forged_forwarded_address_does_not_open_a_fresh_bucket(self, client):
        tries = [_login_try(client, f"198.51.100.{n}", "nobody") for n in range(3)]
        assert tries == [401, 401, 429]  # one bucket: the peer's address, whatever the header says


class TestLoginBucketsBehindOneProxy:
    @pytest.fixture
    def app_overrides(self):
        return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "2 per minute", "TRUSTED_PROXIES": 1}

    def test_each_client_behind_the_proxy_has_its_own_bucket(self, client):
        first = [_login_try(client, "203.0.113.1", "first") for _ in range(2)]
        second = [_login_try(client, "203.0.113.2", "second") for _ in range(2)]
        assert first == second == [401, 401]
        assert _login_try(client, "203.0.113.1", "first") == 429


class TestOneTrustedProxy:
    @pytest.fixture
    def app_overrides(self):
        return {"TRUSTED_PROXIES": 1}

    def test_the_proxy_s_entry_is_the_client_address(self, app, client):
        _echo_address(app)
        answer = client.get(
            "/_test/address",
            # The client wrote the first entry itself; only the last one, added by our proxy, is trusted.
            headers={"X-Forwarded-For": "127.0.0.1, 203.0.113.9", "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": "10.0.0.5"},
        ).json
        assert answer == {"addr": "203.0.113.9", "scheme": "https"}

    def test_a_scrape_relayed_by_the_proxy_is_not_local(self, client):
        relayed = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
        assert relayed.status_code == 403
        assert client.get("/metrics").status_code == 200  # the host's own Prometheus


def test_a_local_scrape_through_a_proxy_on_this_host_is_refused(client):
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-Ip"):
        assert client.get("/metrics", headers={header: "203.0.113.9"}).status_code == 403, header
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


class TestMetricsBearer:
    @pytest.fixture
    def app_overrides(self):
        return {"METRICS_TOKEN": "a-long-scrape-secret"}

    @pytest.mark.parametrize(
        "authorization",
        [
            "",
            "Bearer a-long-scrape-secre",
            "Bearer a-long-scrape-secret ",
            "bearer a-long-scrape-secret",
            "Bearer ü",
        ],
    )
    def test_anything_but_the_exact_token_is_refused(self, client, authorization):
        headers = {"Authorization": authorization} if authorization else {}
        assert client.get("/metrics", headers=headers).status_code == 401

    def test_the_token_is_needed_even_from_this_host(self, client):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=bearer("a-long-scrape-secret")).status_code == 200
