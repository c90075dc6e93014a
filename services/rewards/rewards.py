"""Rewards for users: the public catalogue, redeeming an item with points, and one's own redemptions.

A redemption is one unit of work: take one unit of the item's stock with a conditional update
(which also locks the item row, so redemptions of one item are serialised), check the validity
window and the per-user limit, spend the points through the ledger (which locks the user's
balance), hand out a coupon code when the item has codes, record the redemption. Any failure
rolls all of it back, so no item goes beyond its stock and no balance goes negative.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    CouponCode,
    CouponState,
    PointsSource,
    Redemption,
    RedemptionState,
    RewardItem,
    RewardKind,
    utcnow,
)
from models.database import read_session, unit_of_work
from services.kernel import idempotency
from services.kernel.errors import (
    NotFound,
    NotRedeemable,
    OutOfStock,
    RedemptionLimitReached,
    ValidationFailed,
)
from services.kernel.paging import objects_page
from services.points import points
from services.rewards import redemption_states

IDEMPOTENCY_SCOPE = "redemptions"
IDEMPOTENCY_KEY_MAX = 128
REASON_MAX = 200


@dataclass(frozen=True)
class RedeemRequest:
    """What a user asks for: one unit of `item_id`, with an optional note (e.g. delivery details)."""

    item_id: int
    note: str = ""


def redeem(
    user_id: int, request: RedeemRequest, idempotency_key: str, *, now: datetime | None = None
) -> Redemption:
    """Redeem one unit of an item with points. Same key and request: the same redemption; other request: 422.

    Raises NotFound (no such item), NotRedeemable (inactive, not yet or no longer valid),
    OutOfStock (no stock or no coupon code left), RedemptionLimitReached, InsufficientPoints.
    """
    _check_key(idempotency_key)
    request_hash = hashlib.sha256(json.dumps(asdict(request), sort_keys=True).encode()).hexdigest()
    try:
        with unit_of_work() as session:
            existing = _replay(session, user_id, idempotency_key, request_hash)
            if existing is not None:
                return existing
            redemption = _redeem_in(session, user_id, request, idempotency_key, now or utcnow())
            idempotency.remember(
                session, user_id, IDEMPOTENCY_SCOPE, idempotency_key, request_hash, redemption.id
            )
            session.flush()
            return redemption
    except IntegrityError:
        # Two requests with one key raced; the one that committed is the answer.
        with unit_of_work() as session:
            existing = _replay(session, user_id, idempotency_key, request_hash)
        if existing is None:
            raise
        return existing


def _redeem_in(
    session: Session, user_id: int, request: RedeemRequest, idempotency_key: str, now: datetime
) -> Redemption:
    item = session.get(RewardItem, request.item_id)
    if item is None:
        raise NotFound(f"Reward {request.item_id} does not exist.")
    check_redeemable(item, now)
    if not _take_one(session, item.id):
        raise OutOfStock(f"{item.name} is out of stock.", item_id=item.id)
    session.refresh(item)  # the row is locked now: read what an admin may have changed meanwhile
    check_redeemable(item, now)
    _check_limit(session, item, user_id)
    redemption = Redemption(
        user_id=user_id,
        item=item,
        points=item.cost_points,
        state=RedemptionState.PENDING,
        idempotency_key=idempotency_key,
        note=request.note,
        created_at=now,
    )
    session.add(redemption)
    session.flush()
    points.spend(
        session,
        user_id,
        item.cost_points,
        PointsSource.REDEMPTION,
        redemption.id,
        f"Reward: {item.name}"[:REASON_MAX],
        now=now,
    )
    if item.uses_codes:
        _assign_code(session, item, redemption, now)
        redemption_states.move(redemption, RedemptionState.ISSUED, now)
    session.flush()
    return redemption


def check_redeemable(item: RewardItem, now: datetime) -> None:
    """Raise NotRedeemable unless the item is active and `now` is within its validity window."""
    if not item.active:
        raise NotRedeemable(f"{item.name} is not offered any more.", item_id=item.id)
    if item.valid_from is not None and now < item.valid_from:
        raise NotRedeemable(
            f"{item.name} can be redeemed from {item.valid_from.isoformat()}.",
            item_id=item.id,
            valid_from=item.valid_from.isoformat(),
        )
    if item.valid_until is not None and now >= item.valid_until:
        raise NotRedeemable(
            f"{item.name} could be redeemed until {item.valid_until.isoformat()}.",
            item_id=item.id,
            valid_until=item.valid_until.isoformat(),
        )


def _take_one(session: Session, item_id: int) -> bool:
    """Take one unit of stock (NULL, unlimited, stays NULL); the update locks the item row till commit."""
    result = session.execute(
        update(RewardItem)
        .where(RewardItem.id == item_id, (RewardItem.stock.is_(None)) | (RewardItem.stock >= 1))
        .values(stock=RewardItem.stock - 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _check_limit(session: Session, item: RewardItem, user_id: int) -> None:
    # Safe without a lock of its own: the item row is locked, so this user's redemptions of the
    # item are serialised and each one sees the ones committed before it.
    if item.per_user_limit is None:
        return
    held = (
        session.scalar(
            select(func.count()).where(
                Redemption.user_id == user_id,
                Redemption.item_id == item.id,
                Redemption.state != RedemptionState.CANCELLED,
            )
        )
        or 0
    )
    if held >= item.per_user_limit:
        raise RedemptionLimitReached(
            f"{item.name} can be redeemed {item.per_user_limit} time(s) per person.",
            item_id=item.id,
            per_user_limit=item.per_user_limit,
        )


def _assign_code(session: Session, item: RewardItem, redemption: Redemption, now: datetime) -> None:
    # SKIP LOCKED lets concurrent assignments pass each other on PostgreSQL; SQLite renders no
    # FOR UPDATE at all and serialises writers itself, so the first available row is right there.
    code = session.scalars(
        select(CouponCode)
        .where(CouponCode.item_id == item.id, CouponCode.state == CouponState.AVAILABLE)
        .order_by(CouponCode.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if code is None:
        raise OutOfStock(f"No codes are left for {item.name}.", item_id=item.id)
    code.state = CouponState.ASSIGNED
    code.redemption_id = redemption.id
    code.assigned_at = now
    redemption.coupon = code


def _check_key(key: str | None) -> None:
    if not key or len(key) > IDEMPOTENCY_KEY_MAX:
        raise ValidationFailed(
            "Send an Idempotency-Key header (1 to 128 characters) so that a retry cannot redeem twice.",
            errors={"Idempotency-Key": [f"Required, 1 to {IDEMPOTENCY_KEY_MAX} characters."]},
        )


def _replay(session: Session, user_id: int, key: str, request_hash: str) -> Redemption | None:
    resource_id = idempotency.stored_resource(
        session, user_id, IDEMPOTENCY_SCOPE, key, request_hash, "redemption"
    )
    return None if resource_id is None else session.get_one(Redemption, int(resource_id))


def list_items(
    *, kind: RewardKind | None = None, page: int = 1, page_size: int = 20, now: datetime | None = None
) -> tuple[list[RewardItem], int]:
    """Active items not past their validity window (upcoming ones included), by id, and their count."""
    now = now or utcnow()
    conditions = [
        RewardItem.active.is_(True),
        RewardItem.valid_until.is_(None) | (RewardItem.valid_until > now),
    ]
    if kind is not None:
        conditions.append(RewardItem.kind == kind)
    session = read_session()
    return objects_page(
        session, select(RewardItem).where(*conditions).order_by(RewardItem.id), page, page_size
    )


def get_item(item_id: int) -> RewardItem:
    """One active item of the catalogue."""
    item = read_session().get(RewardItem, item_id)
    if item is None or not item.active:
        raise NotFound(f"Reward {item_id} does not exist.")
    return item


def my_redemptions(user_id: int, page: int = 1, page_size: int = 20) -> tuple[list[Redemption], int]:
    """One page of the user's redemptions, newest first, with their item and coupon code."""
    session = read_session()
    condition = Redemption.user_id == user_id
    return objects_page(
        session, select(Redemption).where(condition).order_by(Redemption.id.desc()), page, page_size
    )
