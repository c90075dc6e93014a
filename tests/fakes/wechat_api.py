"""A loopback fake of WeChat's mini-program API, speaking its wire protocol over real HTTP.

It answers `GET /cgi-bin/token` (the access token), `GET /sns/jscode2session` (login) and
`POST /wxa/getwxacodeunlimit` (a mini-program code) the way api.weixin.qq.com does, so that wechatpy
itself runs in the tests. A test registers each login code; a code works once. A mini-program code
is a real PNG: a round badge holding a QR code of `page=<page>&scene=<scene>`, so a test decodes what
it would open; `fail_codes_with(45009, "...")` makes WeChat refuse them. `fail_with("http_500")` or
`fail_with("hang")` imitates WeChat being down.

`POST /cgi-bin/message/subscribe/send` (a subscribe message) checks the access token, the body and
each `data` value against its field type's limits (errcode 47003, as WeChat), and records each
message it accepts in `subscribe_messages`; `answer_subscribe_with(-1, 43101, "http_500", "hang")`
scripts the answers of the next sends, one each, before they are accepted again.

`POST /wxa/msg_sec_check` (content security, v2) passes every text (label 100) but those containing
a word given to `judge_content(word, "risky" | "review", label)`; it answers only for openids that
logged in here (or were `visit`ed), as WeChat answers only for users who opened the mini-program
within two hours (61010). `POST /wxa/business/getuserphonenumber` gives the number registered with
`add_phone_code` once per code (40029 for any other). `answer_sec_check_with` / `answer_phone_with`
script the next answers of each (an errcode such as -1, `"http_500"`, `"hang"`).
"""

from __future__ import annotations

import io
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import pytest
import qrcode
from PIL import Image, ImageDraw

Failure = Literal["http_500", "hang"]
SubscribeAnswer = int | Literal["http_500", "hang"]
ScriptedAnswer = int | Literal["http_500", "hang"]
HANG_LIMIT_S = 30
# getwxacodeunlimit's scene: at most 32 visible characters of this set.
SCENE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
ENV_VERSIONS = ("release", "trial", "develop")
MINIPROGRAM_STATES = ("developer", "trial", "formal")
# A subscribe message's data keys and the longest value of each type (WeChat's documented limits).
SUBSCRIBE_KEY = re.compile(
    r"(character_string|phone_number|car_number|thing|number|letter|symbol|time|date|amount|name|phrase)[0-9]{1,2}"
)
SUBSCRIBE_LIMITS = {
    "thing": 20,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "phone_number": 17,
    "car_number": 8,
    "phrase": 5,
    "name": 20,
}
SUBSCRIBE_PATTERNS = {
    "number": re.compile(r"[0-9]+(\.[0-9]+)?"),
    "letter": re.compile(r"[A-Za-z]+"),
    "character_string": re.compile(r"[!-~]+"),
    "phrase": re.compile(r"[\u3400-\u9fff]+"),
    "amount": re.compile(r"[¥$€£]?[0-9]{1,10}(\.[0-9]{1,2})?元?"),
}


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
        # Subscribe messages accepted, as sent (the body's JSON), and the scripted next answers.
        self.subscribe_messages: list[dict[str, Any]] = []
        self.subscribe_answers: list[SubscribeAnswer] = []
        # Content security: words that make a text risky or "review", openids that may be checked,
        # the bodies checked; phone-number codes; the scripted next answers of each.
        self.content_verdicts: dict[str, tuple[str, int]] = {}
        self.visited_openids: set[str] = set()
        self.sec_checks: list[dict[str, Any]] = []
        self.sec_check_answers: list[ScriptedAnswer] = []
        self.phone_codes: dict[str, dict[str, str]] = {}
        self.used_phone_codes: set[str] = set()
        self.phone_answers: list[ScriptedAnswer] = []
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

    def answer_subscribe_with(self, *answers: SubscribeAnswer) -> None:
        """The answers of the next subscribe message sends, in order: an errcode (-1 busy, 43101
        the user refused, ...), `"http_500"` or `"hang"`; once they are used up, sends succeed."""
        with self._lock:
            self.subscribe_answers.extend(answers)

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

    def judge_content(self, word: str, suggest: str = "risky", label: int = 20003) -> None:
        """msgSecCheck answers `suggest` ("risky" or "review") with `label` for any text holding `word`."""
        with self._lock:
            self.content_verdicts[word] = (suggest, label)

    def visit(self, openid: str) -> None:
        """The user opened the mini-program just now, so msgSecCheck answers for their openid."""
        with self._lock:
            self.visited_openids.add(openid)

    def answer_sec_check_with(self, *answers: ScriptedAnswer) -> None:
        """The answers of the next msgSecCheck calls, in order (an errcode, `"http_500"`, `"hang"`)."""
        with self._lock:
            self.sec_check_answers.extend(answers)

    def add_phone_code(
        self, code: str, phone_number: str = "13800001234", pure: str | None = None, country_code: str = "86"
    ) -> None:
        """Register a getPhoneNumber code that gives this number, once."""
        with self._lock:
            self.phone_codes[code] = {
                "phoneNumber": phone_number,
                "purePhoneNumber": pure or phone_number,
                "countryCode": country_code,
            }

    def answer_phone_with(self, *answers: ScriptedAnswer) -> None:
        """The answers of the next getuserphonenumber calls, in order (an errcode, `"http_500"`, `"hang"`)."""
        with self._lock:
            self.phone_answers.extend(answers)

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

    def subscribe_send(self, params: dict[str, str], body: bytes) -> dict[str, Any] | SubscribeAnswer:
        """subscribeMessage.send: WeChat's JSON answer, or a scripted `"http_500"` / `"hang"`."""
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
        if not isinstance(data.get("touser"), str) or not data["touser"]:
            return {"errcode": 40003, "errmsg": "invalid openid"}
        if not isinstance(data.get("template_id"), str) or not data["template_id"]:
            return {"errcode": 40037, "errmsg": "invalid template_id"}
        if data.get("miniprogram_state", "formal") not in MINIPROGRAM_STATES:
            return {"errcode": 47003, "errmsg": "argument invalid! miniprogram_state invalid"}
        invalid = _invalid_subscribe_field(data.get("data"))
        if invalid is not None:
            where = f"data.{invalid}.value" if invalid else "data"
            return {"errcode": 47003, "errmsg": f"argument invalid! {where} invalid"}
        with self._lock:
            answer = self.subscribe_answers.pop(0) if self.subscribe_answers else 0
            if answer == 0:
                self.subscribe_messages.append(data)
        if isinstance(answer, str):
            return answer
        if answer == 0:
            return {"errcode": 0, "errmsg": "ok", "msgid": secrets.randbelow(2**53)}
        messages = {-1: "system error", 43101: "user refuse to accept the msg"}
        return {"errcode": answer, "errmsg": messages.get(answer, "error")}

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
            if entry.openid:
                self.visited_openids.add(entry.openid)
        answer: dict[str, Any] = {"session_key": entry.session_key, "openid": entry.openid}
        if entry.unionid:
            answer["unionid"] = entry.unionid
        return answer

    def _body(self, params: dict[str, str], body: bytes) -> dict[str, Any]:
        """The request's JSON object, or WeChat's error answer as `{"errcode": ...}` under "error"."""
        with self._lock:
            known = params.get("access_token") in self.issued_tokens
        if not known:
            error = {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
            return {"error": error}
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            data = None
        if not isinstance(data, dict):
            return {"error": {"errcode": 47001, "errmsg": "data format error"}}
        return {"data": data}

    @staticmethod
    def _scripted(answers: list[ScriptedAnswer]) -> dict[str, Any] | str | None:
        if not answers:
            return None
        answer = answers.pop(0)
        if isinstance(answer, str):
            return answer
        return {"errcode": answer, "errmsg": {-1: "system error"}.get(answer, "error")}

    def msg_sec_check(self, params: dict[str, str], body: bytes) -> dict[str, Any] | str:
        """msgSecCheck v2: `result.suggest` and `result.label` for the content, or WeChat's error."""
        parsed = self._body(params, body)
        if "error" in parsed:
            return parsed["error"]
        data = parsed["data"]
        content, openid = data.get("content"), data.get("openid")
        if data.get("version") != 2 or data.get("scene") not in (1, 2, 3, 4):
            return {"errcode": 40097, "errmsg": "invalid args"}
        if not isinstance(content, str) or not content or len(content) > 2500:
            return {"errcode": 40097, "errmsg": "invalid args"}
        if not isinstance(openid, str) or not openid:
            return {"errcode": 40003, "errmsg": "invalid openid"}
        with self._lock:
            scripted = self._scripted(self.sec_check_answers)
            if scripted is not None:
                return scripted
            if openid not in self.visited_openids:
                return {"errcode": 61010, "errmsg": "user is not in the mini program within 2 hours"}
            self.sec_checks.append(data)
            suggest, label = next(
                (verdict for word, verdict in self.content_verdicts.items() if word in content), ("pass", 100)
            )
        detail = [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90}]
        return {
            "errcode": 0,
            "errmsg": "ok",
            "result": {"suggest": suggest, "label": label},
            "detail": detail,
            "trace_id": secrets.token_hex(12),
        }

    def getuserphonenumber(self, params: dict[str, str], body: bytes) -> dict[str, Any] | str:
        """The phone number a getPhoneNumber code gives, once; 40029 for an unknown or used code."""
        parsed = self._body(params, body)
        if "error" in parsed:
            return parsed["error"]
        code = parsed["data"].get("code")
        with self._lock:
            scripted = self._scripted(self.phone_answers)
            if scripted is not None:
                return scripted
            info = self.phone_codes.get(code) if isinstance(code, str) else None
            if info is None or code in self.used_phone_codes:
                return {"errcode": 40029, "errmsg": "invalid code"}
            self.used_phone_codes.add(code)
        watermark = {"timestamp": int(time.time()), "appid": self.appid}
        return {"errcode": 0, "errmsg": "ok", "phone_info": {**info, "watermark": watermark}}


def _invalid_subscribe_field(data: Any) -> str | None:
    """The first key of a subscribe message's `data` whose value WeChat would refuse; "" for no
    data at all; None when every value fits its type."""
    if not isinstance(data, dict) or not data:
        return ""
    for key, entry in data.items():
        match = SUBSCRIBE_KEY.fullmatch(key)
        value = entry.get("value") if isinstance(entry, dict) else None
        if match is None or not isinstance(value, str) or not value:
            return key
        kind = match[1]
        limit = SUBSCRIBE_LIMITS.get(kind)
        if kind == "name" and not value.isascii():
            limit = 10
        if limit is not None and len(value) > limit:
            return key
        pattern = SUBSCRIBE_PATTERNS.get(kind)
        if pattern is not None and not pattern.fullmatch(value):
            return key
        if any(ord(c) < 32 for c in value):
            return key
    return None


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

    post_routes = {
        "/wxa/getwxacodeunlimit": "getwxacodeunlimit",
        "/cgi-bin/message/subscribe/send": "subscribe_send",
        "/wxa/msg_sec_check": "msg_sec_check",
        "/wxa/business/getuserphonenumber": "getuserphonenumber",
    }

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
        if answer == "hang":
            fake._release.wait(HANG_LIMIT_S)
            self._send(504, b"<html>gateway timeout</html>", "text/html")
        elif answer == "http_500":
            self._send(500, b"<html><body>500 Internal Server Error</body></html>", "text/html")
        elif isinstance(answer, bytes):
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
