"""Admin work on rewards: items, coupon codes, and the fulfilment of redemptions; every write is audited.

Cancelling a redemption gives its points back through the ledger (`points.refund_spend`, a new
lot expiring like freshly earned points) and its unit of stock back to the item. A coupon code
handed out stays with the cancelled redemption: the user has seen it, so it is never handed out again.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
from services.kernel import audit
from services.kernel.errors import Conflict, InvalidState, NotFound, ValidationFailed
from services.kernel.paging import objects_page
from services.points import points
from services.rewards import redemption_states

ITEM_FIELDS = (
    "kind",
    "name",
    "description",
    "image_url",
    "cost_points",
    "stock",
    "per_user_limit",
    "valid_from",
    "valid_until",
    "active",
    "uses_codes",
)
# No 0/O, 1/I/L: codes are read aloud and typed from screenshots.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_CODES_PER_CALL = 10_000
_IN_CHUNK = 500


@dataclass(frozen=True)
class CodeLoad:
    """What loading or generating codes did: the codes added and the item's counts after it."""

    item_id: int
    added: list[str]
    available: int
    assigned: int


def create_item(actor_id: int | None, data: Mapping[str, Any]) -> RewardItem:
    """Add a reward item."""
    with unit_of_work() as session:
        item = RewardItem()
        _apply(item, data)
        item.active = data.get("active", True)
        item.uses_codes = data.get("uses_codes", False)
        _check_window(item)
        session.add(item)
        session.flush()
        audit.record(
            session, actor_id, "reward_item.create", "reward_item", item.id, None, audit.snapshot(item)
        )
        return item


def update_item(actor_id: int | None, item_id: int, changes: Mapping[str, Any]) -> RewardItem:
    """Change a reward item; `stock` sets what is left now (null: unlimited)."""
    with unit_of_work() as session:
        item = _locked_item(session, item_id)
        before = audit.snapshot(item)
        _apply(item, changes)
        _check_window(item)
        session.flush()
        audit.record(
            session, actor_id, "reward_item.update", "reward_item", item.id, before, audit.snapshot(item)
        )
        return item


def get_item(item_id: int) -> RewardItem:
    """Any reward item, active or not."""
    item = read_session().get(RewardItem, item_id)
    if item is None:
        raise NotFound(f"Reward {item_id} does not exist.")
    return item


def list_items(
    *, page: int, page_size: int, kind: RewardKind | None = None, active: bool | None = None
) -> tuple[list[RewardItem], int]:
    """Every reward item, newest first, filtered by kind and active flag."""
    conditions = []
    if kind is not None:
        conditions.append(RewardItem.kind == kind)
    if active is not None:
        conditions.append(RewardItem.active.is_(active))
    session = read_session()
    return objects_page(
        session, select(RewardItem).where(*conditions).order_by(RewardItem.id.desc()), page, page_size
    )


def add_codes(actor_id: int | None, item_id: int, codes: Iterable[str]) -> CodeLoad:
    """Load coupon codes (from a file or a list) into an item that uses codes; each is unique everywhere."""
    cleaned = [code.strip() for code in codes if code.strip()]
    _check_count(len(cleaned))
    repeated = sorted(code for code, n in Counter(cleaned).items() if n > 1)
    if repeated:
        raise ValidationFailed(
            "The list repeats some codes.", errors={"codes": [f"Repeated: {', '.join(repeated[:20])}"]}
        )
    with unit_of_work() as session:
        item = _code_item(session, item_id)
        taken = _existing(session, cleaned)
        if taken:
            raise Conflict(
                f"{len(taken)} of these codes exist already.",
                errors={"codes": [f"Already loaded: {', '.join(sorted(taken)[:20])}"]},
            )
        return _store_codes(session, actor_id, item, cleaned, "reward_codes.load")


def generate_codes(
    actor_id: int | None, item_id: int, count: int, prefix: str = "", length: int = 12
) -> CodeLoad:
    """Generate `count` random codes (`secrets`, from an alphabet without look-alike characters)."""
    _check_count(count)
    with unit_of_work() as session:
        item = _code_item(session, item_id)
        codes: set[str] = set()
        while len(codes) < count:
            fresh = {
                prefix + "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))
                for _ in range(count - len(codes))
            }
            codes |= fresh - _existing(session, list(fresh))
        return _store_codes(session, actor_id, item, sorted(codes), "reward_codes.generate")


def list_redemptions(
    *,
    page: int,
    page_size: int,
    state: RedemptionState | None = None,
    item_id: int | None = None,
    user_id: int | None = None,
    kind: RewardKind | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[Redemption], int]:
    """Redemptions matching every given filter, newest first; `since` inclusive, `until` exclusive."""
    query = select(Redemption)
    if state is not None:
        query = query.where(Redemption.state == state)
    if item_id is not None:
        query = query.where(Redemption.item_id == item_id)
    if user_id is not None:
        query = query.where(Redemption.user_id == user_id)
    if kind is not None:
        query = query.where(Redemption.item_id.in_(select(RewardItem.id).where(RewardItem.kind == kind)))
    if since is not None:
        query = query.where(Redemption.created_at >= since)
    if until is not None:
        query = query.where(Redemption.created_at < until)
    session = read_session()
    return objects_page(session, query.order_by(Redemption.id.desc()), page, page_size)


def move_redemption(
    actor_id: int | None,
    redemption_id: int,
    target: RedemptionState,
    note: str = "",
    *,
    refund_expiry_days: int = 0,
) -> Redemption:
    """Issue, mark used or cancel a redemption; cancelling returns its points and its unit of stock."""
    with unit_of_work() as session:
        redemption = session.scalar(
            select(Redemption)
            .where(Redemption.id == redemption_id)
            .with_for_update(of=Redemption)
            .execution_options(populate_existing=True)
        )
        if redemption is None:
            raise NotFound(f"Redemption {redemption_id} does not exist.")
        before = audit.snapshot(redemption)
        now = utcnow()
        redemption_states.move(redemption, target, now)
        if target == RedemptionState.CANCELLED:
            _give_back(session, redemption, now, refund_expiry_days)
        session.flush()
        audit.record(
            session,
            actor_id,
            f"redemption.{target.value}",
            "redemption",
            redemption.id,
            before,
            {**(audit.snapshot(redemption) or {}), "note": note},
        )
        return redemption


def _give_back(session: Session, redemption: Redemption, now: datetime, expiry_days: int) -> None:
    session.execute(
        update(RewardItem)
        .where(RewardItem.id == redemption.item_id)
        .values(stock=RewardItem.stock + 1)  # NULL (unlimited) stays NULL
        .execution_options(synchronize_session=False)
    )
    refund = points.refund_spend(
        session,
        redemption.user_id,
        PointsSource.REDEMPTION,
        redemption.id,
        f"Cancelled: {redemption.item.name}"[:200],
        expires_at=points.award_dates(now, 0, expiry_days)[1],
    )
    if refund is None:
        raise InvalidState(f"Redemption {redemption.id} has no points spend to give back.")


def _apply(item: RewardItem, changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        if key not in ITEM_FIELDS:
            raise ValidationFailed(f"`{key}` cannot be set here.", errors={key: ["Cannot be set."]})
        setattr(item, key, value)


def _check_window(item: RewardItem) -> None:
    if item.valid_from is not None and item.valid_until is not None and item.valid_until <= item.valid_from:
        raise ValidationFailed(
            "The validity window ends before it starts.",
            errors={"valid_until": ["Must be after valid_from."]},
        )


def _locked_item(session: Session, item_id: int) -> RewardItem:
    item = session.scalar(
        select(RewardItem)
        .where(RewardItem.id == item_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if item is None:
        raise NotFound(f"Reward {item_id} does not exist.")
    return item


def _code_item(session: Session, item_id: int) -> RewardItem:
    item = session.get(RewardItem, item_id)
    if item is None:
        raise NotFound(f"Reward {item_id} does not exist.")
    if not item.uses_codes:
        raise InvalidState(
            f"{item.name} does not hand out codes; set `uses_codes` on it first.", item_id=item.id
        )
    return item


def _check_count(count: int) -> None:
    if not 1 <= count <= MAX_CODES_PER_CALL:
        raise ValidationFailed(
            f"Load between 1 and {MAX_CODES_PER_CALL} codes at a time.",
            errors={"codes": [f"1 to {MAX_CODES_PER_CALL} codes."]},
        )


def _existing(session: Session, codes: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(codes), _IN_CHUNK):
        chunk = codes[start : start + _IN_CHUNK]
        found.update(session.scalars(select(CouponCode.code).where(CouponCode.code.in_(chunk))))
    return found


def _store_codes(
    session: Session, actor_id: int | None, item: RewardItem, codes: list[str], action: str
) -> CodeLoad:
    now = utcnow()
    session.add_all(CouponCode(item_id=item.id, code=code, created_at=now) for code in codes)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("Another load added some of these codes at the same time; try again.") from exc
    counts = dict(
        session.execute(
            select(CouponCode.state, func.count())
            .where(CouponCode.item_id == item.id)
            .group_by(CouponCode.state)
        ).all()
    )
    result = CodeLoad(
        item_id=item.id,
        added=codes,
        available=_count_of(counts, CouponState.AVAILABLE),
        assigned=_count_of(counts, CouponState.ASSIGNED),
    )
    # The codes themselves stay out of the audit log: they are worth money.
    audit.record(
        session,
        actor_id,
        action,
        "reward_item",
        item.id,
        None,
        {"added": len(codes), "available": result.available, "assigned": result.assigned},
    )
    return result


def _count_of(counts: Mapping[Any, int], state: CouponState) -> int:
    return sum(n for key, n in counts.items() if str(getattr(key, "value", key)) == state.value)
