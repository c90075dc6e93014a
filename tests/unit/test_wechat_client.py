"""The WeChat client's wiring, the sandbox login and how WeChat's answers become domain errors."""

import logging

import pytest
import requests
from wechatpy.exceptions import APILimitedException, WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage

from services.accounts import wechat_client
from services.accounts.wechat_client import (
    MiniProgramClient,
    WeChatSettings,
    code_to_session,
    sandbox_session,
)
from services.kernel.errors import InvalidLoginCode, UpstreamError

SETTINGS = WeChatSettings(appid="wx1", secret="s", api_base="http://wechat.test/base", sandbox_login=False)


def test_every_url_is_under_the_configured_base():
    client = MiniProgramClient("wx1", "s", "http://wechat.test/base", session=MemoryStorage(), timeout=2)

    assert client.API_BASE_URL == "http://wechat.test/base/cgi-bin/"
    assert client.wxa.API_BASE_URL == "http://wechat.test/base/"
    assert client._http.timeout_s == 2


def test_sandbox_session_is_stable_per_code_and_distinct_between_codes():
    first, again, other = sandbox_session("abc"), sandbox_session("abc"), sandbox_session("abd")

    assert first == again
    assert first.openid != other.openid
    assert first.openid.startswith("sandbox-")
    assert len(first.openid) <= 64  # fits users.openid
    assert first.session_key != other.session_key


def test_sandbox_login_makes_no_call(monkeypatch):
    def no_network(_settings):
        raise AssertionError("sandbox login must not build a WeChat client")

    monkeypatch.setattr(wechat_client, "build_client", no_network)

    info = code_to_session("abc", WeChatSettings("", "", "http://unused/", sandbox_login=True))

    assert info == sandbox_session("abc")


class _Wxa:
    def __init__(self, outcome):
        self.outcome = outcome

    def code_to_session(self, code):
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class _Client:
    def __init__(self, outcome):
        self.wxa = _Wxa(outcome)

    def close(self):
        pass


@pytest.mark.parametrize(
    ("outcome", "error", "words"),
    [
        (WeChatClientException(40029, "invalid code"), InvalidLoginCode, "invalid or has expired"),
        (WeChatClientException(40163, "code been used"), InvalidLoginCode, "already been used"),
        (WeChatClientException(40226, "high risk"), InvalidLoginCode, "high-risk"),
        (WeChatClientException(-1, "system busy"), UpstreamError, "unavailable"),
        (WeChatClientException(None, None), UpstreamError, "unavailable"),  # HTTP 5xx
        (WeChatClientException(40125, "invalid appsecret"), UpstreamError, "unavailable"),
        (APILimitedException(45011, "api minute-quota reach limit"), UpstreamError, "unavailable"),
        (requests.ConnectTimeout("timed out"), UpstreamError, "unavailable"),
        (requests.ConnectionError("refused"), UpstreamError, "unavailable"),
        ({"errcode": 0}, UpstreamError, "without a user"),
        ({"openid": "o1"}, UpstreamError, "without a user"),
    ],
)
def test_wechat_answers_become_domain_errors(monkeypatch, outcome, error, words):
    monkeypatch.setattr(wechat_client, "build_client", lambda _settings: _Client(outcome))

    with pytest.raises(error) as info:
        code_to_session("c", SETTINGS)

    assert words in info.value.message
    assert type(info.value) is error


def test_a_good_answer_gives_openid_session_key_and_unionid(monkeypatch):
    answer = {"openid": "o1", "session_key": "k1", "unionid": "u1"}
    monkeypatch.setattr(wechat_client, "build_client", lambda _settings: _Client(answer))

    info = code_to_session("c", SETTINGS)

    assert (info.openid, info.session_key, info.unionid) == ("o1", "k1", "u1")


def test_an_unreachable_wechat_logs_neither_the_app_secret_nor_the_login_code(monkeypatch, caplog):
    # What requests raises for a refused connection: its text holds the URL with its query string.
    url = "/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=TOPSECRET&js_code=LOGINCODE"
    refused = requests.ConnectionError(f"Max retries exceeded with url: {url}")
    monkeypatch.setattr(wechat_client, "build_client", lambda _settings: _Client(refused))

    with caplog.at_level(logging.WARNING, logger=wechat_client.__name__), pytest.raises(UpstreamError):
        code_to_session("LOGINCODE", SETTINGS)

    assert "ConnectionError" in caplog.text
    assert "TOPSECRET" not in caplog.text
    assert "LOGINCODE" not in caplog.text
