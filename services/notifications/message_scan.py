"""The scan that finds what happened and enqueues one subscribe message per event and user.

A periodic job rather than a hook in each context: it reads the records the events leave, so no
context changes for it, and the outbox's unique (kind, subject, user) makes it safe to run twice
or at once: a second scan finds the row there and enqueues nothing. For each kind switched on, only
users who still allow a message of its template (and have a WeChat openid) are looked at:

- `certificate_issued`: a valid certificate issued within `lookback_h` (not the replacement a
  partial refund issues: the refund's message tells that); subject the certificate;
- `refund_done`: a refund that succeeded within `lookback_h`, to whoever placed the order;
- `points_expiring`: points of lots that expire within `points_notice_days` and are not spent,
  summed per user and Beijing day of expiry, one message per such day (subject the day);
- `event_neutralised`: an event that reached `offset` within `lookback_h`, to whoever placed its
  offset order; subject the event;
- `bank_transfer_expiring`: an unpaid order paid by bank transfer whose grams are released within
  `bank_transfer_notice_h`; subject the order.

Certificates, refunds and events older than `lookback_h` are never messaged: the news is stale.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import String, cast, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from models import (
    Certificate,
    CertificateStatus,
    Event,
    EventStage,
    MessageKind,
    Order,
    OrderStatus,
    PointsEntry,
    Refund,
    RefundStatus,
    SubscribeAllowance,
    SubscribeMessage,
    User,
    utcnow,
)
from models.database import unit_of_work
from services.kernel.beijing_time import beijing_date
from services.notifications.message_fields import Fen, Measure, data_of
from services.notifications.message_settings import SubscribeSettings, Template
from services.sales.payment_opening import BANK_TRANSFER

SCAN_LIMIT = 500
NOTES = {
    MessageKind.CERTIFICATE_ISSUED: "碳中和证书已签发，点击查看",
    MessageKind.REFUND_DONE: "退款已完成，请留意到账",
    MessageKind.POINTS_EXPIRING: "积分即将过期，请尽快使用",
    MessageKind.EVENT_NEUTRALISED: "活动已完成碳中和，点击查看",
    MessageKind.BANK_TRANSFER_EXPIRING: "订单即将过期，请尽快完成转账",
}


@dataclass(frozen=True)
class Found:
    """One message to enqueue: about `subject_id`, to `user_id`, with its values and page query."""

    subject_id: str
    user_id: int
    values: dict[str, Any]
    query: str = ""


@dataclass(frozen=True)
class ScanCounts:
    enqueued: int = 0


def scan(settings: SubscribeSettings, now: datetime | None = None) -> ScanCounts:
    """Job: enqueue the messages of events found since `lookback_h` ago, one per event and user."""
    now = now or utcnow()
    enqueued = 0
    for kind, template in settings.templates.items():
        with unit_of_work() as session:
            found = FINDERS[kind](session, template, settings, now)
            enqueued += _enqueue(session, template, found, now)
    return ScanCounts(enqueued)


def _enqueue(session: Session, template: Template, found: Iterable[Found], now: datetime) -> int:
    """Insert the outbox rows, due at once; one already there (the same event) is left alone."""
    rows = [
        {
            "kind": template.kind,
            "subject_id": item.subject_id,
            "user_id": item.user_id,
            "template_id": template.template_id,
            "page": _page(template.page, item.query),
            "data": data_of(template.fields, {"note": NOTES[template.kind], **item.values}),
            "created_at": utcnow(),
            "updated_at": utcnow(),
            "next_attempt_at": now,
        }
        for item in found
    ]
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    inserted = session.scalars(
        insert(SubscribeMessage)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["kind", "subject_id", "user_id"])
        .returning(SubscribeMessage.id)
    )
    return len(inserted.all())


def _page(page: str, query: str) -> str:
    if not page:
        return ""
    return f"{page}?{query}"[:255] if query else page


def _allowed(template: Template):
    """The users who still allow a message of the template and can receive one."""
    return (
        select(SubscribeAllowance.user_id)
        .join(User, User.id == SubscribeAllowance.user_id)
        .where(
            SubscribeAllowance.template_id == template.template_id,
            SubscribeAllowance.remaining > 0,
            User.openid.is_not(None),
            User.deleted_at.is_(None),
        )
    )


def _not_enqueued(kind: MessageKind, subject: Any, user: Any):
    return ~exists().where(
        SubscribeMessage.kind == kind,
        SubscribeMessage.subject_id == cast(subject, String),
        SubscribeMessage.user_id == user,
    )


def _kg(grams: int) -> Measure:
    return Measure(Decimal(grams) / 1000, "千克")


def certificates_issued(
    session: Session, template: Template, settings: SubscribeSettings, now: datetime
) -> list[Found]:
    replaced = aliased(Certificate)
    rows = session.execute(
        select(Certificate)
        .where(
            Certificate.issued_at >= now - timedelta(hours=settings.lookback_h),
            Certificate.status == CertificateStatus.VALID,
            Certificate.user_id.in_(_allowed(template)),
            ~exists().where(replaced.replaced_by_id == Certificate.id),
            _not_enqueued(template.kind, Certificate.id, Certificate.user_id),
        )
        .order_by(Certificate.id)
        .limit(SCAN_LIMIT)
    ).scalars()
    return [
        Found(
            str(c.id),
            c.user_id,
            {"number": c.number, "kg": _kg(c.grams), "issued_at": c.issued_at},
            f"scene={c.verification_code}",
        )
        for c in rows
    ]


def refunds_done(
    session: Session, template: Template, settings: SubscribeSettings, now: datetime
) -> list[Found]:
    rows = session.execute(
        select(Refund.id, Order.user_id, Order.out_trade_no, Refund.amount_fen, Refund.completed_at)
        .join(Order, Order.id == Refund.order_id)
        .where(
            Refund.status == RefundStatus.SUCCEEDED,
            Refund.completed_at >= now - timedelta(hours=settings.lookback_h),
            Order.user_id.in_(_allowed(template)),
            _not_enqueued(template.kind, Refund.id, Order.user_id),
        )
        .order_by(Refund.id)
        .limit(SCAN_LIMIT)
    ).all()
    return [
        Found(
            str(refund_id),
            user_id,
            {"order_no": out_trade_no, "amount": Fen(fen), "refunded_at": completed_at},
            f"out_trade_no={out_trade_no}",
        )
        for refund_id, user_id, out_trade_no, fen, completed_at in rows
    ]


def points_expiring(
    session: Session, template: Template, settings: SubscribeSettings, now: datetime
) -> list[Found]:
    rows = session.execute(
        select(PointsEntry.user_id, PointsEntry.expires_at, PointsEntry.remaining)
        .where(
            PointsEntry.remaining > 0,
            PointsEntry.expires_at > now,
            PointsEntry.expires_at <= now + timedelta(days=settings.points_notice_days),
            PointsEntry.user_id.in_(_allowed(template)),
        )
        .order_by(PointsEntry.user_id, PointsEntry.expires_at)
        .limit(SCAN_LIMIT * 10)
    ).all()
    due: dict[tuple[int, Any], int] = defaultdict(int)
    for user_id, expires_at, remaining in rows:
        due[(user_id, beijing_date(expires_at))] += remaining
    return [
        Found(day.isoformat(), user_id, {"points": Measure(points, "积分"), "expires_on": day})
        for (user_id, day), points in list(due.items())[:SCAN_LIMIT]
    ]


def events_neutralised(
    session: Session, template: Template, settings: SubscribeSettings, now: datetime
) -> list[Found]:
    rows = session.execute(
        select(Event.id, Order.user_id, Event.name, Event.public_code, Order.grams, Event.offset_at)
        .join(Order, Order.out_trade_no == Event.offset_order_no)
        .where(
            Event.stage.in_((EventStage.OFFSET, EventStage.DECLARED)),
            Event.offset_at >= now - timedelta(hours=settings.lookback_h),
            Order.user_id.in_(_allowed(template)),
            _not_enqueued(template.kind, Event.id, Order.user_id),
        )
        .order_by(Event.id)
        .limit(SCAN_LIMIT)
    ).all()
    return [
        Found(
            str(event_id),
            user_id,
            {"event": name, "kg": _kg(grams), "offset_at": offset_at},
            f"scene={public_code}",
        )
        for event_id, user_id, name, public_code, grams, offset_at in rows
    ]


def bank_transfers_expiring(
    session: Session, template: Template, settings: SubscribeSettings, now: datetime
) -> list[Found]:
    rows = session.execute(
        select(Order.id, Order.user_id, Order.out_trade_no, Order.amount_fen, Order.expires_at)
        .where(
            Order.provider == BANK_TRANSFER,
            Order.status.in_((OrderStatus.CREATED, OrderStatus.AWAITING_PAYMENT)),
            Order.expires_at > now,
            Order.expires_at <= now + timedelta(hours=settings.bank_transfer_notice_h),
            Order.user_id.in_(_allowed(template)),
            _not_enqueued(template.kind, Order.id, Order.user_id),
        )
        .order_by(Order.id)
        .limit(SCAN_LIMIT)
    ).all()
    return [
        Found(
            str(order_id),
            user_id,
            {"order_no": out_trade_no, "amount": Fen(fen), "expires_at": expires_at},
            f"out_trade_no={out_trade_no}",
        )
        for order_id, user_id, out_trade_no, fen, expires_at in rows
    ]


FINDERS: dict[MessageKind, Callable[[Session, Template, SubscribeSettings, datetime], list[Found]]] = {
    MessageKind.CERTIFICATE_ISSUED: certificates_issued,
    MessageKind.REFUND_DONE: refunds_done,
    MessageKind.POINTS_EXPIRING: points_expiring,
    MessageKind.EVENT_NEUTRALISED: events_neutralised,
    MessageKind.BANK_TRANSFER_EXPIRING: bank_transfers_expiring,
}
