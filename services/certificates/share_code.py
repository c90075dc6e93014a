"""The code printed on a certificate, a poster or a PDF that opens the record it belongs to.

With the mini-program's credentials set (`WECHAT_APPID`, `WECHAT_SECRET`) and a page for the
record's kind, it is a mini-program code from WeChat (`wxacode.getUnlimited`, through wechatpy) with
the record's public code as its `scene`: scanned in WeChat it opens that page of the mini-program,
which reads the scene and shows the record. Each code is fetched once and kept in Redis
(`WECHAT_CODE_CACHE_S`). Otherwise, and whenever WeChat cannot give one (an error, a timeout, an
image that is not one), it is a QR code of the record's web page (`/verify/<code>` …), logged, so a
poster or a PDF never fails for want of WeChat. After a failure WeChat is not asked again for
`RETRY_AFTER_S` seconds, so that an outage costs one timeout, not one per poster.

The Redis keys name the public code (printed on the certificate anyway) and a digest of the app id,
page and version; never the access token or the app secret.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import qrcode
import redis
import requests
from PIL import Image, UnidentifiedImageError
from qrcode.constants import ERROR_CORRECT_M
from wechatpy.exceptions import WeChatClientException

from services.accounts.wechat_client import WeChatSettings, WeChatUnreachable, wxa_post
from services.kernel.redis_store import get_redis

log = logging.getLogger(__name__)

# What a code opens; each kind has its own page of the mini-program.
CERTIFICATE = "certificate"
CLAIM = "claim"
EVENT = "event"
# Kinds without a page of the mini-program yet: always the QR code of their web page.
ADOPTION = "adoption"
LAND_COMPENSATION = "land_compensation"
PAGE_SETTINGS = {
    CERTIFICATE: "WECHAT_CERTIFICATE_PAGE",
    CLAIM: "WECHAT_CLAIM_PAGE",
    EVENT: "WECHAT_EVENT_PAGE",
}
ENV_VERSIONS = ("release", "trial", "develop")

# getUnlimited's scene: at most 32 visible characters of this set (WeChat's documentation).
_SCENE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
CODE_WIDTH_PX = 430  # WeChat's default; it accepts 280 to 1280
RETRY_AFTER_S = 60
_KEY_PREFIX = "share-code"

Mode = Literal["wxacode", "qr"]


@dataclass(frozen=True)
class ShareCodeSettings:
    """`wechat` None: no mini-program credentials, every code is a QR code of the web page."""

    wechat: WeChatSettings | None = None
    pages: Mapping[str, str] = field(default_factory=dict)
    env_version: str = "release"
    cache_s: int = 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ShareCodeSettings:
        """Pick the settings of mini-program codes out of the application's settings."""
        wechat = (
            WeChatSettings.from_config(config) if config["WECHAT_APPID"] and config["WECHAT_SECRET"] else None
        )
        return cls(
            wechat=wechat,
            pages={kind: config[name] for kind, name in PAGE_SETTINGS.items()},
            env_version=config["WECHAT_CODE_ENV_VERSION"],
            cache_s=int(config["WECHAT_CODE_CACHE_S"]),
        )


@dataclass(frozen=True)
class ShareCode:
    """A PNG to print, and what it is: a mini-program code (`wxacode`) or a QR code of `web_url`."""

    png: bytes
    mode: Mode
    kind: str
    code: str
    web_url: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.png).hexdigest()


_settings = ShareCodeSettings()


def configure(settings: ShareCodeSettings) -> None:
    """Use these settings from now on (the composition root calls it at start)."""
    global _settings
    _settings = settings


def qr_png(url: str) -> bytes:
    """A QR code of `url` as a PNG: black on white, a quiet zone of four modules, 10 px a module."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


def share_code(kind: str, code: str, web_url: str) -> ShareCode:
    """The code that opens the record `code` of `kind`: a mini-program code when WeChat can give one,
    else a QR code of `web_url`. Never raises for WeChat's sake."""
    settings = _settings
    page = settings.pages.get(kind, "")
    if settings.wechat is not None and page and _SCENE.fullmatch(code):
        png = _mini_program_code(settings, settings.wechat, page, code)
        if png is not None:
            return ShareCode(png, "wxacode", kind, code, web_url)
    return ShareCode(qr_png(web_url), "qr", kind, code, web_url)


def _keys(settings: ShareCodeSettings, wechat: WeChatSettings, page: str, code: str) -> tuple[str, str]:
    """The cache key of one code and the key that marks WeChat unavailable, for this app and page."""
    version = f"{wechat.appid}|{page}|{settings.env_version}|{CODE_WIDTH_PX}"
    digest = hashlib.sha256(version.encode()).hexdigest()[:16]
    return f"{_KEY_PREFIX}:{digest}:{code}", f"{_KEY_PREFIX}:{digest}:unavailable"


def _mini_program_code(
    settings: ShareCodeSettings, wechat: WeChatSettings, page: str, code: str
) -> bytes | None:
    """The cached or freshly fetched mini-program code as a PNG; None when there is none to be had."""
    key, unavailable = _keys(settings, wechat, page, code)
    store = get_redis()
    try:
        cached = store.get(key)
        if cached:
            return bytes(cached)
        if store.exists(unavailable):
            return None
    except redis.RedisError as error:
        log.warning("mini-program code cache unavailable (%s): printing a QR code", type(error).__name__)
        return None
    png = _fetch(settings, wechat, page, code)
    try:
        if png is None:
            store.set(unavailable, b"1", ex=RETRY_AFTER_S)
        elif settings.cache_s > 0:
            store.set(key, png, ex=settings.cache_s)
    except redis.RedisError as error:
        log.warning("mini-program code not cached (%s)", type(error).__name__)
    return png


def _fetch(settings: ShareCodeSettings, wechat: WeChatSettings, page: str, code: str) -> bytes | None:
    """Ask WeChat for the code (its image re-encoded as PNG); None, logged, when WeChat fails."""
    try:
        # wechatpy 1.8's get_wxa_code_unlimited sends neither check_path nor env_version (WeChat added
        # them later), so the same call through the wxa API's own post, with both.
        answer = wxa_post(
            wechat,
            "wxa/getwxacodeunlimit",
            {
                "scene": code,
                "page": page,
                "width": CODE_WIDTH_PX,
                "check_path": settings.env_version == "release",
                "env_version": settings.env_version,
            },
        )
        if not isinstance(answer, requests.Response):
            raise ValueError("answered JSON without an image")
        with Image.open(io.BytesIO(answer.content)) as image:
            image.load()
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()
    except WeChatClientException as error:
        log.warning(
            "WeChat getwxacodeunlimit failed for a %s page: errcode=%s errmsg=%s; printing a QR code",
            page,
            error.errcode,
            error.errmsg,
        )
    except WeChatUnreachable as error:
        log.warning("WeChat getwxacodeunlimit unusable (%s); printing a QR code", error.kind)
    except (UnidentifiedImageError, OSError, ValueError) as error:  # not an image we can read
        log.warning("WeChat getwxacodeunlimit unusable (%s); printing a QR code", type(error).__name__)
    return None
