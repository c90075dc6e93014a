"""One `subscribeMessage.send` through wechatpy, and what its answer means for the message.

The call is `POST cgi-bin/message/subscribe/send?access_token=…` through the wxa API's own post
(wechatpy 1.8's `send_subscribe_message` sends no `miniprogram_state`), with the client of
`services.accounts.wechat_client.build_client`, whose access token is shared through Redis.

- errcode 0: sent;
- 43101 (the user refused, or has no send left): refused, never tried again;
- -1 (system busy), an HTTP error (5xx), a timeout or a broken connection, the API's rate limits
  (45009, 45011), an access token WeChat no longer takes (40001, 42001; wechatpy fetches a new one
  once first), no access token to be had (40013, 40125: the app id or secret is wrong; 40164: the
  server's address is not on the mini-program's IP whitelist; the operator's to fix, so the
  message waits), Redis unreachable for the token: try again later;
- anything else (an openid, template, page or field WeChat does not take): failed.

Only errcodes and the kind of a failure are logged or kept: a requests error's text holds the URL,
whose query carries the access token.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Any

from wechatpy.exceptions import WeChatClientException

from services.accounts.wechat_client import MiniProgramClient, WeChatUnreachable, wxa_post

log = logging.getLogger(__name__)

SEND_PATH = "cgi-bin/message/subscribe/send"
USER_REFUSED = 43101
RETRY_ERRCODES = frozenset({-1, 40001, 40013, 40125, 40164, 42001, 45009, 45011})
ERRMSG_MAX = 128


class Verdict(enum.StrEnum):
    SENT = "sent"
    REFUSED = "refused"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Answer:
    """What came of one send: the verdict, WeChat's errcode (None: no answer) and a short reason."""

    verdict: Verdict
    errcode: int | None
    error: str = ""


def send(
    client: MiniProgramClient,
    openid: str,
    template_id: str,
    data: dict[str, Any],
    page: str,
    miniprogram_state: str,
) -> Answer:
    """Send one message; never raises for WeChat's sake."""
    body: dict[str, Any] = {
        "touser": openid,
        "template_id": template_id,
        "data": data,
        "miniprogram_state": miniprogram_state,
        "lang": "zh_CN",
    }
    if page:
        body["page"] = page
    try:
        wxa_post(client, SEND_PATH, body)
    except WeChatClientException as error:
        return _refused_by_wechat(error)
    except WeChatUnreachable as error:
        log.warning("WeChat subscribeMessage.send unreachable (%s); tried again later", error.kind)
        return Answer(Verdict.RETRY, None, error.kind)
    return Answer(Verdict.SENT, 0)


def _refused_by_wechat(error: WeChatClientException) -> Answer:
    errcode = error.errcode
    if errcode is None:  # an HTTP error status: wechatpy wraps it with no errcode
        status = getattr(error.response, "status_code", None)
        log.warning("WeChat subscribeMessage.send answered HTTP %s; tried again later", status)
        return Answer(Verdict.RETRY, None, f"HTTP {status}")
    errcode = int(errcode)
    errmsg = str(error.errmsg or "")[:ERRMSG_MAX]
    if errcode == USER_REFUSED:
        log.info("WeChat subscribeMessage.send: the user refused (43101); not sent")
        return Answer(Verdict.REFUSED, errcode, errmsg)
    verdict = Verdict.RETRY if errcode in RETRY_ERRCODES else Verdict.FAILED
    log.warning("WeChat subscribeMessage.send failed: errcode=%s errmsg=%s (%s)", errcode, errmsg, verdict)
    return Answer(verdict, errcode, errmsg)
