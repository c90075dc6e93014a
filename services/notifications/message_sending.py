"""The job that sends the outbox's due subscribe messages, each at most once.

A message is due while `pending` or `retrying` once its `next_attempt_at` has come, or `sending`
once its claim has lapsed (a run that died mid-send). Each is claimed in its own short transaction
by a conditional UPDATE (`status` and `attempts` as read): of two runs at once only one
claims it, the other moves on. The claim takes one of the user's allowances of the template (none
left: `refused` without a call) and holds the message for `CLAIM_S`; the call to WeChat is made
with no transaction open; its answer is recorded in a second transaction:

- sent: `sent`, the allowance spent;
- 43101: `refused`, not tried again;
- busy, 5xx, a timeout: `retrying` after `backoff_s`, doubled at each attempt, until `attempts`
  in all, then `failed`;
- anything else: `failed`.

Whatever does not end sent gives its allowance back. Three answers in a row without an errcode
(5xx, timeouts: WeChat is down) end the run; the messages left wait for the next, unattempted. Without WeChat (no credentials, or the
sandbox login) every due message is marked `skipped` and nothing is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import MessageStatus, SubscribeMessage, User, utcnow
from models.database import read_session, unit_of_work
from services.accounts.wechat_client import MiniProgramClient, build_client
from services.notifications import message_scan, message_settings, subscriptions
from services.notifications.message_settings import SubscribeSettings
from services.notifications.subscribe_send import Answer, Verdict, send

BATCH = 200
CLAIM_S = 600  # far longer than any call to WeChat may take (`WECHAT_TIMEOUT_S` ≤ 120)
MAX_BACKOFF_S = 86_400
UNREACHABLE_STOP = 3  # answers in a row with no errcode (5xx, timeouts) that end a run
DUE = (MessageStatus.PENDING, MessageStatus.RETRYING, MessageStatus.SENDING)


@dataclass
class SendCounts:
    sent: int = 0
    refused: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class _Claim:
    id: int
    user_id: int
    openid: str
    template_id: str
    data: dict
    page: str
    attempts: int


def send_due(settings: SubscribeSettings, now: datetime | None = None, batch: int = BATCH) -> SendCounts:
    """Job: send the messages due at `now`, one claim and one answer each."""
    now = now or utcnow()
    counts = SendCounts()
    session = read_session()
    try:
        due = list(
            session.scalars(
                select(SubscribeMessage.id)
                .where(SubscribeMessage.status.in_(DUE), SubscribeMessage.next_attempt_at <= now)
                .order_by(SubscribeMessage.next_attempt_at, SubscribeMessage.id)
                .limit(batch)
            )
        )
    finally:
        session.rollback()
    if not due:
        return counts
    if settings.wechat is None:
        counts.skipped = _skip(due, now)
        return counts
    client = build_client(settings.wechat)
    unreachable = 0
    try:
        for message_id in due:
            claim = _claim(message_id, now, counts)
            if claim is None:
                continue
            answer = _send(client, claim, settings)
            _record(claim, answer, settings, now, counts)
            unreachable = unreachable + 1 if answer.verdict is Verdict.RETRY and answer.errcode is None else 0
            if unreachable >= UNREACHABLE_STOP:
                break  # WeChat is down: the rest wait for the next run, their attempts untouched
    finally:
        client.close()
    return counts


def _skip(due: list[int], now: datetime) -> int:
    with unit_of_work() as session:
        messages = session.scalars(
            select(SubscribeMessage)
            .where(
                SubscribeMessage.id.in_(due),
                SubscribeMessage.status.in_(DUE),
                SubscribeMessage.next_attempt_at <= now,
            )
            .with_for_update(skip_locked=True)
        ).all()
        for message in messages:
            _end(session, message, MessageStatus.SKIPPED, None, "no_wechat_credentials")
        return len(messages)


def _claim(message_id: int, now: datetime, counts: SendCounts) -> _Claim | None:
    """Claim one due message and take its allowance; None when another run has it, or it ended here."""
    with unit_of_work() as session:
        message = session.get(SubscribeMessage, message_id, populate_existing=True)
        if message is None or message.status not in DUE or message.next_attempt_at > now:
            return None
        claimed = session.execute(
            update(SubscribeMessage)
            .where(
                SubscribeMessage.id == message_id,
                SubscribeMessage.status == message.status,
                SubscribeMessage.attempts == message.attempts,
                SubscribeMessage.next_attempt_at <= now,
            )
            .values(
                status=MessageStatus.SENDING,
                attempts=SubscribeMessage.attempts + 1,
                next_attempt_at=_later(now, CLAIM_S),
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            return None
        session.refresh(message)
        openid = session.scalar(
            select(User.openid).where(User.id == message.user_id, User.deleted_at.is_(None))
        )
        if not message.allowance_taken:
            if openid is None or not subscriptions.take_in(session, message.user_id, message.template_id):
                message.status = MessageStatus.REFUSED
                message.last_error = "no_openid" if openid is None else "no_allowance"
                counts.refused += 1
                return None
            message.allowance_taken = True
        elif openid is None:
            _end(session, message, MessageStatus.REFUSED, None, "no_openid")
            counts.refused += 1
            return None
        return _Claim(
            message.id,
            message.user_id,
            openid,
            message.template_id,
            dict(message.data),
            message.page,
            message.attempts,
        )


def _send(client: MiniProgramClient, claim: _Claim, settings: SubscribeSettings) -> Answer:
    return send(client, claim.openid, claim.template_id, claim.data, claim.page, settings.miniprogram_state)


def _record(
    claim: _Claim, answer: Answer, settings: SubscribeSettings, now: datetime, counts: SendCounts
) -> None:
    """Write what came of the send, if the claim is still this run's."""
    with unit_of_work() as session:
        message = session.scalar(
            select(SubscribeMessage)
            .where(
                SubscribeMessage.id == claim.id,
                SubscribeMessage.status == MessageStatus.SENDING,
                SubscribeMessage.attempts == claim.attempts,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if message is None:
            return
        message.last_errcode = answer.errcode
        message.last_error = answer.error
        if answer.verdict is Verdict.SENT:
            message.status = MessageStatus.SENT
            message.sent_at = utcnow()
            counts.sent += 1
        elif answer.verdict is Verdict.RETRY and claim.attempts < settings.attempts:
            _end(session, message, MessageStatus.RETRYING, answer.errcode, answer.error)
            backoff = min(settings.backoff_s * 2 ** (claim.attempts - 1), MAX_BACKOFF_S)
            message.next_attempt_at = _later(now, backoff)
            counts.retrying += 1
        elif answer.verdict is Verdict.REFUSED:
            _end(session, message, MessageStatus.REFUSED, answer.errcode, answer.error)
            counts.refused += 1
        else:
            _end(session, message, MessageStatus.FAILED, answer.errcode, answer.error)
            counts.failed += 1


def _later(now: datetime, seconds: int) -> datetime:
    """`seconds` after now: the run's `now`, or the clock if the run has gone on past it."""
    return max(now, utcnow()) + timedelta(seconds=seconds)


def _end(
    session: Session, message: SubscribeMessage, status: MessageStatus, errcode: int | None, error: str
) -> None:
    """Leave the message in `status` without having been sent: its allowance goes back."""
    if message.allowance_taken:
        subscriptions.give_back_in(session, message.user_id, message.template_id)
        message.allowance_taken = False
    message.status = status
    message.last_errcode = errcode
    message.last_error = error


@dataclass(frozen=True)
class JobCounts:
    enqueued: int
    sent: int
    refused: int
    retrying: int
    failed: int
    skipped: int


def scan_and_send(settings: SubscribeSettings | None = None, now: datetime | None = None) -> JobCounts:
    """Job: enqueue the messages of what happened since the last runs, then send what is due."""
    settings = settings or message_settings.current()
    scanned = message_scan.scan(settings, now)
    sent = send_due(settings, now)
    return JobCounts(scanned.enqueued, sent.sent, sent.refused, sent.retrying, sent.failed, sent.skipped)
