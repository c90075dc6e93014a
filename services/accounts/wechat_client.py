"""WeChat mini-program login (`code2Session`) through wechatpy, with the access token kept in Redis.

With `WECHAT_SANDBOX_LOGIN` (the embedded demo) no call is made: the code itself names the user,
so the same code always logs in the same user.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from services.kernel.errors import InvalidLoginCode, UpstreamError
from services.kernel.redis_store import get_redis

log = logging.getLogger(__name__)

SANDBOX_OPENID_PREFIX = "sandbox-"
ACCESS_TOKEN_PREFIX = "wx"

# code2Session answers that mean "this code cannot log anyone in", unlike "WeChat is unwell".
_REFUSED_CODE_MESSAGES = {
    40029: "The login code is invalid or has expired; call wx.login again.",
    40163: "The login code has already been used; call wx.login again.",
    40226: "WeChat refused this login as high-risk.",
}


@dataclass(frozen=True)
class WeChatSettings:
    appid: str
    secret: str
    api_base: str
    sandbox_login: bool
    timeout_s: float = 5.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WeChatSettings:
        """Pick the WeChat settings out of the application's settings."""
        return cls(
            appid=config["WECHAT_APPID"],
            secret=config["WECHAT_SECRET"],
            api_base=config["WECHAT_API_BASE"],
            sandbox_login=bool(config["WECHAT_SANDBOX_LOGIN"]),
            timeout_s=float(config["WECHAT_TIMEOUT_S"]),
        )


@dataclass(frozen=True)
class SessionInfo:
    """What code2Session tells about a user; `session_key` is a secret that never leaves the server."""

    openid: str
    session_key: str
    unionid: str | None = None


class _TimeoutSession(requests.Session):
    """wechatpy fetches the access token without a timeout; give every request one."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout_s
        return super().request(method, url, *args, **kwargs)


class MiniProgramClient(WeChatClient):
    """`WeChatClient` with every URL under `api_base` (WeChat itself, a proxy, or a fake in tests)."""

    def __init__(
        self, appid: str, secret: str, api_base: str, session: Any = None, timeout: float = 5.0
    ) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout)
        self.api_base = api_base.rstrip("/") + "/"
        self.API_BASE_URL = self.api_base + "cgi-bin/"
        self.wxa.API_BASE_URL = self.api_base
        self._http = _TimeoutSession(timeout)

    def close(self) -> None:
        self._http.close()

    def fetch_access_token(self) -> dict[str, Any]:
        # wechatpy hard-codes api.weixin.qq.com here.
        return self._fetch_access_token(
            url=self.api_base + "cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


def build_client(settings: WeChatSettings) -> MiniProgramClient:
    """A client whose access token is shared through Redis by every process."""
    storage = RedisStorage(get_redis(), prefix=ACCESS_TOKEN_PREFIX)
    return MiniProgramClient(
        settings.appid, settings.secret, settings.api_base, session=storage, timeout=settings.timeout_s
    )


class WeChatUnreachable(Exception):
    """WeChat (or Redis, which holds the access token) could not be asked, or answered nonsense.

    `kind` is the failure's class name and all that may be logged: a requests error's text holds the
    URL, whose query carries the access token (or the app secret, or a user's login code)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# What a call to WeChat raises when it never got a usable answer (ValueError: not JSON).
_TRANSPORT_ERRORS = (requests.RequestException, redis.RedisError, ValueError, KeyError)


def wxa_post(via: WeChatSettings | MiniProgramClient, path: str, data: dict[str, Any]) -> Any:
    """POST `data` to the mini-program API `path` through wechatpy, with the shared access token.

    WeChat's refusals (an errcode) come back as wechatpy's `WeChatClientException` for the caller
    to read; failing to reach WeChat raises `WeChatUnreachable`. `via` is the settings to make a
    client from for this one call (closed after it), or a client to reuse for a batch of calls.
    """
    client = via if isinstance(via, MiniProgramClient) else build_client(via)
    try:
        return client.wxa._post(path, data=data)
    except _TRANSPORT_ERRORS as error:
        raise WeChatUnreachable(type(error).__name__) from error
    finally:
        if client is not via:
            client.close()


def sandbox_session(code: str) -> SessionInfo:
    """The demo's stand-in for code2Session: a stable openid and session key derived from the code."""
    digest = hashlib.sha256(b"sandbox-login:" + code.encode()).digest()
    return SessionInfo(
        openid=SANDBOX_OPENID_PREFIX + digest[:16].hex(),
        session_key=base64.b64encode(digest[16:]).decode(),
    )


def code_to_session(code: str, settings: WeChatSettings) -> SessionInfo:
    """Exchange a `wx.login` code for the user's openid and session key.

    Raises `InvalidLoginCode` when WeChat refuses the code, `UpstreamError` when WeChat (or Redis,
    which holds the access token) cannot be reached or answers nonsense.
    """
    if settings.sandbox_login:
        return sandbox_session(code)
    client = build_client(settings)
    try:
        result = client.wxa.code_to_session(code)
    except WeChatClientException as exc:
        if exc.errcode in _REFUSED_CODE_MESSAGES:
            message = _REFUSED_CODE_MESSAGES[exc.errcode]
            raise InvalidLoginCode(message, errors={"code": [message]}) from exc
        log.warning("WeChat code2Session failed: errcode=%s errmsg=%s", exc.errcode, exc.errmsg)
        raise UpstreamError("WeChat login is unavailable; retry shortly.") from exc
    except _TRANSPORT_ERRORS as exc:
        # The kind of failure only: a requests error's text holds the URL, whose query carries the
        # app secret (access token fetch) or the user's login code (code2Session).
        log.warning("WeChat code2Session unreachable: %s", type(exc).__name__)
        raise UpstreamError("WeChat login is unavailable; retry shortly.") from exc
    finally:
        client.close()
    if not isinstance(result, dict) or not result.get("openid") or not result.get("session_key"):
        log.warning("WeChat code2Session answered without openid or session_key")
        raise UpstreamError("WeChat login answered without a user; retry shortly.")
    return SessionInfo(
        openid=str(result["openid"]),
        session_key=str(result["session_key"]),
        unionid=str(result["unionid"]) if result.get("unionid") else None,
    )
