"""Content security: what a user writes for others to see passes WeChat's msgSecCheck before it is public.

The texts checked are those a user writes and the public reads: the display name (the rankings),
the holder name of an order (its certificate's verification page and poster, a tree adoption's
record) and the name of an event (its public disclosure and poster). Organisation names are set by
admins, and whatever an admin writes is exempt; so are the names the service puts itself (an
organisation's name as a holder, the default holder).

Each text is checked when it is written, with WeChat's msgSecCheck v2 (`POST wxa/msg_sec_check`,
through wechatpy, the author's openid, scene 1 "profile"):

- `pass`: public at once;
- `risky`: refused, `ContentRefused` (422) naming the field and WeChat's label in words;
- `review`: stored but kept private and checked again later, like a text WeChat could not judge;
- WeChat unreachable (a timeout, an HTTP error, `-1` busy, any other error) or an author with no
  openid to check with: stored, private, checked again later. After WeChat itself failed (not a
  refusal of one user's openid) it is not asked again for `RETRY_AFTER_S` seconds (a Redis
  marker), so an outage costs one timeout, not one per request; the worker's re-check, which keeps
  its own backoff, ends that pause once WeChat answers.

A text not public yet has a row in `content_checks` (`pending`), keyed by its kind and subject;
public surfaces ask `withheld_in` / `withheld_subjects_in` and show a placeholder instead. A text
with no row is public, so everything written before these checks existed stays as it was. The
worker (`recheck_due`, `worker.tasks.recheck_texts`) asks WeChat again with a doubling backoff: a
pass deletes the row (the text is public), a risky answer marks it `risky` (withheld for good; the
author still sees their own text and may write another), and after `max_attempts` it stays
private. msgSecCheck accepts only openids of users who opened the mini-program within two hours, so
a re-check may wait for the author's next visit.

Where no WeChat is configured (the sandbox login of the embedded default, or no
`WECHAT_APPID`/`WECHAT_SECRET`) every text passes locally, without a call: production requires
both credentials and refuses the sandbox login, so there every text is checked.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import redis
from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from models import ContentCheck, ContentStatus, Event, Order, Role, User, utcnow
from models.database import read_session, unit_of_work
from services.accounts.wechat_client import WeChatSettings, WeChatUnreachable, wxa_post
from services.kernel.errors import ContentRefused
from services.kernel.redis_store import get_redis

log = logging.getLogger(__name__)

DISPLAY_NAME = "display_name"  # subject: the user's id
HOLDER_NAME = "holder_name"  # subject: the order's out_trade_no (its certificate and adoption show it)
EVENT_NAME = "event_name"  # subject: the event's id
KINDS = (DISPLAY_NAME, HOLDER_NAME, EVENT_NAME)

# What public surfaces show in place of a text that is not public.
PLACEHOLDER = "—"

SCENE_PROFILE = 1  # msgSecCheck v2 scenes: 1 profile, 2 comment, 3 forum, 4 social log
RETRY_AFTER_S = 60
RECHECK_FIRST_S = 60
RECHECK_MAX_S = 6 * 3600
_UNAVAILABLE_KEY = "content-check:unavailable"

# WeChat's labels (msgSecCheck v2 `result.label`) in words, for the refusal.
LABELS: Mapping[int, str] = {
    100: "normal",
    10001: "advertising",
    20001: "political",
    20002: "pornographic",
    20003: "abusive",
    20006: "illegal",
    20008: "fraudulent",
    20012: "vulgar",
    20013: "infringing copyright",
    21000: "otherwise inappropriate",
}
_V1_RISKY = 87014  # msgSecCheck v1's "risky content" error, should WeChat answer it
_FIELD_WORDS = {"display_name": "display name", "holder_name": "holder name", "name": "event name"}

Status = Literal["pass", "pending", "risky"]


@dataclass(frozen=True)
class ContentCheckSettings:
    """`wechat` None: no WeChat to ask (sandbox login or no credentials), every text passes locally."""

    wechat: WeChatSettings | None = None
    max_attempts: int = 20

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ContentCheckSettings:
        """Pick the settings of content checks out of the application's settings."""
        local = bool(config["WECHAT_SANDBOX_LOGIN"]) or not (
            config["WECHAT_APPID"] and config["WECHAT_SECRET"]
        )
        return cls(
            wechat=None if local else WeChatSettings.from_config(config),
            max_attempts=int(config["CONTENT_CHECK_MAX_ATTEMPTS"]),
        )


_settings = ContentCheckSettings()


def configure(settings: ContentCheckSettings) -> None:
    """Use these settings from now on (the composition root calls it at start)."""
    global _settings
    _settings = settings


@dataclass(frozen=True)
class Verdict:
    """What became of a text: `pass` (public) or `pending` (kept private, checked again)."""

    status: Literal["pass", "pending"]
    suggest: str | None = None
    label: int | None = None


PASSED = Verdict("pass")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def label_words(label: int | None) -> str:
    """WeChat's label in words ("abusive" for 20003)."""
    return LABELS.get(label, "otherwise inappropriate") if label is not None else "inappropriate"


# -- asking WeChat ----------------------------------------------------------------------------------


def _ask(wechat: WeChatSettings, openid: str, text: str) -> tuple[str, int | None] | None:
    """WeChat's (suggest, label) for `text`, or None (logged) when it could not say; WeChat itself
    unwell (HTTP error, busy, unreachable) pauses the writers' calls for `RETRY_AFTER_S`."""
    try:
        answer = wxa_post(
            wechat,
            "wxa/msg_sec_check",
            {"content": text, "version": 2, "scene": SCENE_PROFILE, "openid": openid},
        )
    except WeChatClientException as error:
        if error.errcode == _V1_RISKY:
            return "risky", 21000
        log.warning("WeChat msgSecCheck failed: errcode=%s errmsg=%s", error.errcode, error.errmsg)
        if error.errcode in (None, -1):  # an HTTP error, or "system busy"
            _mark_unavailable()
        return None
    except WeChatUnreachable as error:
        log.warning("WeChat msgSecCheck unreachable (%s)", error.kind)
        _mark_unavailable()
        return None
    result = answer.get("result") if isinstance(answer, dict) else None
    suggest = result.get("suggest") if isinstance(result, dict) else None
    if suggest not in ("pass", "review", "risky"):
        log.warning("WeChat msgSecCheck answered without a suggestion")
        return None
    label = result.get("label")
    return str(suggest), label if isinstance(label, int) and not isinstance(label, bool) else None


def _marked_unavailable() -> bool:
    try:
        return bool(get_redis().exists(_UNAVAILABLE_KEY))
    except redis.RedisError:
        return False


def _mark_unavailable(unavailable: bool = True) -> None:
    with contextlib.suppress(redis.RedisError):
        if unavailable:
            get_redis().set(_UNAVAILABLE_KEY, b"1", ex=RETRY_AFTER_S)
        else:
            get_redis().delete(_UNAVAILABLE_KEY)


def _author(user_id: int | None) -> tuple[str | None, bool]:
    """The author's openid and whether they are an admin (whose text is exempt)."""
    if user_id is None:
        return None, False
    session = read_session()
    try:
        row = session.execute(select(User.openid, User.role).where(User.id == user_id)).first()
    finally:
        session.rollback()
    if row is None:
        return None, False
    return row.openid, row.role == Role.ADMIN


def refusal(field: str, label: int | None) -> ContentRefused:
    """The 422 for a risky text of `field`."""
    words = label_words(label)
    what = _FIELD_WORDS.get(field, field.replace("_", " "))
    return ContentRefused(
        f"The {what} was refused by WeChat's content security check: it reads as {words}. Write another.",
        errors={field: [f"refused by WeChat's content security check as {words} (label {label})"]},
        label=label,
    )


def screen(author_id: int | None, field: str, text: str) -> Verdict:
    """Check `text` that `author_id` wrote into `field`, before it is stored (outside any transaction).

    `pass` for an empty text, an admin's text, and wherever no WeChat is configured; `pending` when
    WeChat answers "review" or cannot be asked; `ContentRefused` when it is risky.
    """
    settings = _settings
    if not text.strip() or settings.wechat is None:
        return PASSED
    openid, is_admin = _author(author_id)
    if is_admin:
        return PASSED
    if not openid:
        return Verdict("pending")  # msgSecCheck needs the author's openid; checked again later
    if _marked_unavailable():
        return Verdict("pending")
    answer = _ask(settings.wechat, openid, text)
    if answer is None:
        return Verdict("pending")
    suggest, label = answer
    if suggest == "risky":
        raise refusal(field, label)
    if suggest == "review":
        return Verdict("pending", suggest, label)
    return PASSED


# -- recording and reading --------------------------------------------------------------------------


def record_in(
    session: Session,
    kind: str,
    subject: str,
    text: str,
    verdict: Verdict,
    author_id: int | None,
    now: datetime | None = None,
) -> None:
    """Record what `screen` said of the text now stored for (kind, subject), in the caller's unit of
    work: a passed (or exempt) text drops any earlier row, a pending one is kept private."""
    row = session.scalar(
        select(ContentCheck).where(ContentCheck.kind == kind, ContentCheck.subject == subject)
    )
    if verdict.status == "pass":
        if row is not None:
            session.delete(row)
            session.flush()
        return
    now = now or utcnow()
    if row is None:
        row = ContentCheck(kind=kind, subject=subject, created_at=now)
        session.add(row)
    row.digest = digest(text)
    row.status = ContentStatus.PENDING
    row.suggest = verdict.suggest
    row.label = verdict.label
    row.author_id = author_id
    row.attempts = 1
    row.next_check_at = now + timedelta(seconds=RECHECK_FIRST_S)
    row.checked_at = now
    session.flush()


def record(kind: str, subject: str, text: str, verdict: Verdict, author_id: int | None) -> None:
    """`record_in` as its own unit of work (before the row that holds the text is written)."""
    if verdict.status == "pass":
        return
    with unit_of_work() as session:
        record_in(session, kind, subject, text, verdict, author_id)


def clear_in(session: Session, kind: str, subjects: Iterable[str] | Select) -> int:
    """Make these texts public (an admin or the service wrote over them), in the caller's unit of
    work; `subjects` may be a query of them. How many rows went."""
    wanted = subjects if isinstance(subjects, Select) else list(subjects)
    if isinstance(wanted, list) and not wanted:
        return 0
    return int(
        session.execute(
            delete(ContentCheck).where(ContentCheck.kind == kind, ContentCheck.subject.in_(wanted))
        ).rowcount
        or 0
    )


def status_in(session: Session, kind: str, subject: str) -> Status:
    """`pass` (public), `pending` or `risky` (not public) for the text of (kind, subject)."""
    found = session.scalar(
        select(ContentCheck.status).where(ContentCheck.kind == kind, ContentCheck.subject == subject)
    )
    return "pass" if found is None else found.value


def withheld_in(session: Session, kind: str, subject: str) -> bool:
    """Whether public surfaces must show `PLACEHOLDER` instead of the text of (kind, subject)."""
    return status_in(session, kind, subject) != "pass"


def withheld_subjects_in(session: Session, kind: str, subjects: Iterable[str]) -> set[str]:
    """Which of `subjects` have a text of `kind` that is not public."""
    wanted = list(dict.fromkeys(subjects))
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(ContentCheck.subject).where(ContentCheck.kind == kind, ContentCheck.subject.in_(wanted))
        )
    )


def order_holder_withheld_in(session: Session, order_id: int) -> bool:
    """Whether the holder name of the order (so of its certificate or adoption) is not public, in one read."""
    found = session.scalar(
        select(ContentCheck.id)
        .join(Order, Order.out_trade_no == ContentCheck.subject)
        .where(ContentCheck.kind == HOLDER_NAME, Order.id == order_id)
    )
    return found is not None


def public_text(session: Session, kind: str, subject: str, text: str) -> str:
    """`text` if it is public, else `PLACEHOLDER`."""
    return PLACEHOLDER if withheld_in(session, kind, subject) else text


# -- the worker's re-check --------------------------------------------------------------------------


@dataclass(frozen=True)
class RecheckRun:
    """What one run of the re-check did."""

    published: int = 0
    withheld: int = 0
    still_pending: int = 0
    skipped: int = 0


def _text_of(kind: str, subject: str) -> Select | None:
    if kind == DISPLAY_NAME and subject.isdigit():
        return select(User.display_name).where(User.id == int(subject))
    if kind == HOLDER_NAME:
        return select(Order.holder_name).where(Order.out_trade_no == subject)
    if kind == EVENT_NAME and subject.isdigit():
        return select(Event.name).where(Event.id == int(subject))
    return None


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(RECHECK_FIRST_S * 2 ** min(attempts, 20), RECHECK_MAX_S))


def _due(now: datetime, limit: int, max_attempts: int) -> list[tuple[int, str, str, str, int | None]]:
    session = read_session()
    try:
        rows = session.execute(
            select(
                ContentCheck.id,
                ContentCheck.kind,
                ContentCheck.subject,
                ContentCheck.digest,
                ContentCheck.author_id,
            )
            .where(
                ContentCheck.status == ContentStatus.PENDING,
                ContentCheck.next_check_at <= now,
                ContentCheck.attempts < max_attempts,
            )
            .order_by(ContentCheck.next_check_at, ContentCheck.id)
            .limit(limit)
        ).all()
    finally:
        session.rollback()
    return [tuple(row) for row in rows]


def _current_text(kind: str, subject: str) -> str | None:
    query = _text_of(kind, subject)
    if query is None:
        return None
    session = read_session()
    try:
        return session.scalar(query)
    finally:
        session.rollback()


def _settle(row_id: int, checked: str, answer: tuple[str, int | None] | None, now: datetime) -> str:
    """Write what WeChat said of the text whose digest was `checked`, unless it changed meanwhile."""
    with unit_of_work() as session:
        row = session.scalar(
            select(ContentCheck)
            .where(ContentCheck.id == row_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is None or row.digest != checked or row.status != ContentStatus.PENDING:
            return "skipped"  # written again meanwhile: that write's verdict stands
        row.attempts += 1
        row.checked_at = now
        if answer is not None and answer[0] == "pass":
            session.delete(row)
            return "published"
        if answer is not None:
            row.suggest, row.label = answer
        if answer is not None and answer[0] == "risky":
            row.status = ContentStatus.RISKY
            row.next_check_at = None
            return "withheld"
        exhausted = row.attempts >= _settings.max_attempts
        row.next_check_at = None if exhausted else now + _backoff(row.attempts)
        return "still_pending"


def _answer_now(
    settings: ContentCheckSettings, author_id: int | None, text: str
) -> tuple[str, int | None] | None:
    """WeChat's (suggest, label) for a pending text now, a pass where nothing is to be asked, or None."""
    if settings.wechat is None or not text.strip():
        return "pass", None
    openid, is_admin = _author(author_id)
    if is_admin:
        return "pass", None
    answer = _ask(settings.wechat, openid, text) if openid else None
    if answer is not None:
        _mark_unavailable(False)  # WeChat answers again: writers may ask it at once
    return answer


def recheck_due(now: datetime | None = None, limit: int = 200) -> RecheckRun:
    """Ask WeChat again about the pending texts that are due (the worker's job): publish those that
    pass, withhold those found risky, try the others again later."""
    settings = _settings
    now = now or utcnow()
    counts = {"published": 0, "withheld": 0, "still_pending": 0, "skipped": 0}
    for row_id, kind, subject, checked, author_id in _due(now, limit, settings.max_attempts):
        text = _current_text(kind, subject)
        if text is None:
            with unit_of_work() as session:  # its order was never recorded, or it is gone
                session.execute(
                    delete(ContentCheck).where(ContentCheck.id == row_id, ContentCheck.digest == checked)
                )
            counts["skipped"] += 1
            continue
        if digest(text) != checked:
            counts["skipped"] += 1  # a newer text is being written; its own check stands
            continue
        counts[_settle(row_id, checked, _answer_now(settings, author_id, text), now)] += 1
    return RecheckRun(**counts)
