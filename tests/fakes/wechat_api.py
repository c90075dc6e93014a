"""A loopback fake of WeChat's mini-program API, speaking its wire protocol over real HTTP.

It answers `GET /cgi-bin/token` (the access token), `GET /sns/jscode2session` (login) and
`POST /wxa/getwxacodeunlimit` (a mini-program code) the way api.weixin.qq.com does, so that wechatpy
itself runs in the tests. A test registers each login code; a code works once. A mini-program code
is a real PNG: a round badge holding a QR code of `page=<page>&scene=<scene>`, so a test decodes what
it would open; `fail_codes_with(45009, "...")` makes WeChat refuse them. `fail_with("http_500")` or
`fail_with("hang")` imitates WeChat being down.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import pytest
import qrcode
from PIL import Image, ImageDraw

Failure = Literal["http_500", "hang"]
HANG_LIMIT_S = 30
# getwxacodeunlimit's scene: at most 32 visible characters of this set.
SCENE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
ENV_VERSIONS = ("release", "trial", "develop")


@dataclass
class _Code:
    openid: str | None = None
    session_key: str | None = None
    unionid: str | None = None
    errcode: int = 0
    errmsg: str = ""
    used: bool = False


class FakeWeChatAPI:
    """One fake WeChat server on 127.0.0.1 and a free port; `base_url` ends with a slash."""

    def __init__(self, appid: str = "wxfake0000000001", secret: str = "fake-app-secret") -> None:
        self.appid = appid
        self.secret = secret
        self.failure: Failure | None = None
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.issued_tokens: list[str] = []
        self._codes: dict[str, _Code] = {}
        # Pages of the released mini-program: with check_path, a code for any other page is refused.
        self.released_pages: set[str] = set()
        self.code_failure: tuple[int, str] | None = None
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- test controls ---------------------------------------------------------------------------

    def add_code(self, code: str, openid: str, session_key: str, unionid: str | None = None) -> None:
        """Register a `wx.login` code that logs `openid` in, once."""
        with self._lock:
            self._codes[code] = _Code(openid=openid, session_key=session_key, unionid=unionid)

    def add_refused_code(self, code: str, errcode: int, errmsg: str) -> None:
        """Register a code WeChat refuses, e.g. 40226 "high risk user"."""
        with self._lock:
            self._codes[code] = _Code(errcode=errcode, errmsg=errmsg)

    def fail_codes_with(self, errcode: int | None, errmsg: str = "") -> None:
        """Refuse every mini-program code with this error (e.g. 45009 "reach max api daily quota
        limit"), or make them again (None)."""
        self.code_failure = None if errcode is None else (errcode, errmsg)

    def fail_with(self, failure: Failure | None) -> None:
        """Answer every request with HTTP 500, or never answer (until stopped), or recover (None)."""
        self.failure = failure
        if failure != "hang":
            self._release.set()
            self._release = threading.Event()

    def count(self, path: str) -> int:
        """How many requests reached `path` (e.g. "/cgi-bin/token")."""
        with self._lock:
            return sum(1 for seen, _params in self.requests if seen == path)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def settings(self, **extra: Any) -> dict[str, Any]:
        """App settings that send WeChat login to this fake (for the `app_overrides` fixture)."""
        return {
            "WECHAT_SANDBOX_LOGIN": False,
            "WECHAT_API_BASE": self.base_url,
            "WECHAT_APPID": self.appid,
            "WECHAT_SECRET": self.secret,
            "WECHAT_TIMEOUT_S": 1.0,
            **extra,
        }

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> FakeWeChatAPI:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-wechat-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- the protocol ------------------------------------------------------------------------------

    def _check_app(self, params: dict[str, str]) -> dict[str, Any] | None:
        if not params.get("appid"):
            return {"errcode": 41002, "errmsg": "appid missing"}
        if not params.get("secret"):
            return {"errcode": 41004, "errmsg": "appsecret missing"}
        if params["appid"] != self.appid:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if params["secret"] != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        return None

    def token(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        error = self._check_app(params)
        if error:
            return error
        token = "ACCESS_TOKEN_" + secrets.token_hex(16)
        with self._lock:
            self.issued_tokens.append(token)
        return {"access_token": token, "expires_in": 7200}

    def getwxacodeunlimit(self, params: dict[str, str], body: bytes) -> dict[str, Any] | bytes:
        """A mini-program code as a PNG, or WeChat's error JSON."""
        with self._lock:
            known = params.get("access_token") in self.issued_tokens
        if not known:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return {"errcode": 47001, "errmsg": "data format error"}
        if not isinstance(data, dict):
            return {"errcode": 47001, "errmsg": "data format error"}
        if self.code_failure is not None:
            return {"errcode": self.code_failure[0], "errmsg": self.code_failure[1]}
        scene, page = data.get("scene"), data.get("page", "")
        if not isinstance(scene, str) or not SCENE.fullmatch(scene):
            return {"errcode": 40169, "errmsg": "invalid length for scene, or the data is not json string"}
        env_version = data.get("env_version", "release")
        if env_version not in ENV_VERSIONS:
            return {"errcode": 40097, "errmsg": "invalid args"}
        if data.get("check_path", True) and page and page not in self.released_pages:
            return {"errcode": 41030, "errmsg": "invalid page"}
        width = data.get("width", 430)
        if not isinstance(width, int) or not 280 <= width <= 1280:
            return {"errcode": 40097, "errmsg": "invalid args"}
        return _badge(f"page={page}&scene={scene}", width)

    def jscode2session(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("grant_type") != "authorization_code":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        error = self._check_app(params)
        if error:
            return error
        code = params.get("js_code")
        if not code:
            return {"errcode": 41008, "errmsg": "missing code"}
        with self._lock:
            entry = self._codes.get(code)
            if entry is None:
                return {"errcode": 40029, "errmsg": "invalid code"}
            if entry.errcode:
                return {"errcode": entry.errcode, "errmsg": entry.errmsg}
            if entry.used:
                return {"errcode": 40163, "errmsg": "code been used"}
            entry.used = True
        answer: dict[str, Any] = {"session_key": entry.session_key, "openid": entry.openid}
        if entry.unionid:
            answer["unionid"] = entry.unionid
        return answer


def _badge(text: str, width: int) -> bytes:
    """A round mini-program-code look-alike of `width` px holding a QR code of `text`, as a PNG."""
    image = Image.new("RGB", (width, width), "white")
    ImageDraw.Draw(image).ellipse((0, 0, width - 1, width - 1), fill=(238, 238, 238))
    qr = qrcode.QRCode(border=2, box_size=1)
    qr.add_data(text)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    module = max(1, int(width / 1.42) // len(matrix))  # inscribed in the circle
    side = module * len(matrix)
    code = Image.new("RGB", (side, side), "white")
    pixels = ImageDraw.Draw(code)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                pixels.rectangle(
                    (x * module, y * module, (x + 1) * module - 1, (y + 1) * module - 1), fill="black"
                )
    image.paste(code, ((width - side) // 2, (width - side) // 2))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer
    routes = {"/cgi-bin/token": "token", "/sns/jscode2session": "jscode2session"}

    post_routes = {"/wxa/getwxacodeunlimit": "getwxacodeunlimit"}

    def _receive(self) -> tuple[FakeWeChatAPI, str, dict[str, str]] | None:
        """The request logged, and its path and query; None once a failure was answered instead."""
        fake: FakeWeChatAPI = self.server.fake  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        params = {name: values[-1] for name, values in parse_qs(url.query).items()}
        with fake._lock:
            fake.requests.append((url.path, params))
        if fake.failure == "hang":
            fake._release.wait(HANG_LIMIT_S)
            self._send(504, b"<html>gateway timeout</html>", "text/html")
            return None
        if fake.failure == "http_500":
            self._send(500, b"<html><body>500 Internal Server Error</body></html>", "text/html")
            return None
        return fake, url.path, params

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        received = self._receive()
        if received is None:
            return
        fake, path, params = received
        handler = self.post_routes.get(path)
        if handler is None:
            self._send(404, b'{"errcode":-1,"errmsg":"not found"}', "application/json")
            return
        answer = getattr(fake, handler)(params, body)
        if isinstance(answer, bytes):
            self._send(200, answer, "image/png")
        else:
            self._send(200, json.dumps(answer).encode(), "application/json; encoding=utf-8")

    def do_GET(self) -> None:
        received = self._receive()
        if received is None:
            return
        fake, path, params = received
        handler = self.routes.get(path)
        if handler is None:
            self._send(404, b'{"errcode":-1,"errmsg":"not found"}', "application/json")
            return
        body = json.dumps(getattr(fake, handler)(params)).encode()
        self._send(200, body, "application/json; encoding=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout tests)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def wechat_api() -> Iterator[FakeWeChatAPI]:
    """A running fake WeChat API; pass `wechat_api.settings()` through `app_overrides` to use it."""
    fake = FakeWeChatAPI().start()
    yield fake
    fake.stop()
