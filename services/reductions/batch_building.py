"""Forming reduction batches: one per methodology of a closed month, from its reviewed, unflagged actions.

An action goes into a batch when it is `accepted` (it passed the anti-cheat checks, or an admin
accepted its flag), has grams credited, has no pending flag and was never refused on review (no
rejected flag), and is in no batch yet. A month is closed for batching once no upload can change its
actions any more: `settle_days` (the actions' upload window) after its last day, in Beijing time.

The batch keeps each action's credited grams at the time it was made (`reduction_batch_actions`),
and a unique key on the action id keeps every action in one batch at most, even if two builds run
at once. Actions reviewed after a month's batch was made go into a later batch of the same month
and methodology (`sequence` 2, 3, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, insert, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    Action,
    ActionFlag,
    ActionStatus,
    FlagDecision,
    ReductionBatch,
    ReductionBatchAction,
)
from models.database import read_session, serialize_in, unit_of_work
from services.kernel import audit, beijing_time
from services.kernel.errors import Conflict, ValidationFailed
from services.reductions import reduction_batches
from services.reductions.reduction_policy import ReductionPolicy, current

_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")  # ASCII digits: \d takes any script's
FIRST_YEAR, LAST_YEAR = 2000, 2100
METHODOLOGY_MAX = 64
NOTE_MAX = 2000


@dataclass(frozen=True)
class MethodologyMonth:
    """What one methodology's actions of a month are: eligible now, waiting, refused or batched."""

    methodology: str
    eligible_actions: int
    eligible_g: int
    under_review_actions: int
    refused_actions: int
    batched_actions: int
    batched_g: int


def parse_month(text: str) -> date:
    """The first day of the month written `YYYY-MM`; ValidationFailed otherwise."""
    found = _MONTH.match(text or "")
    if not found or not FIRST_YEAR <= int(found.group(1)) <= LAST_YEAR:
        raise ValidationFailed(
            "Write the month as YYYY-MM.", errors={"month": [f"YYYY-MM, {FIRST_YEAR} to {LAST_YEAR}"]}
        )
    return date(int(found.group(1)), int(found.group(2)), 1)


def closes_on(month: date, policy: ReductionPolicy) -> date:
    """The first Beijing day on which `month` can be batched."""
    return beijing_time.add_months(month, 1) + timedelta(days=policy.settle_days)


def _in_month(month: date) -> list[ColumnElement[bool]]:
    return [Action.date >= month, Action.date < beijing_time.add_months(month, 1)]


def _refused() -> ColumnElement[bool]:
    """The action was refused on review, or has a claim waiting for it."""
    return exists().where(
        ActionFlag.action_id == Action.id,
        or_(ActionFlag.decision.is_(None), ActionFlag.decision == FlagDecision.REJECTED),
    )


def _batched() -> ColumnElement[bool]:
    return exists().where(ReductionBatchAction.action_id == Action.id)


def eligible(month: date, methodology: str | None = None) -> list[ColumnElement[bool]]:
    """The conditions an action of `month` meets to go into a batch now."""
    conditions = [
        *_in_month(month),
        Action.status == ActionStatus.ACCEPTED,
        Action.reduction_g > 0,
        ~_refused(),
        ~_batched(),
    ]
    if methodology is not None:
        conditions.append(Action.methodology == methodology)
    return conditions


def _check_methodology(methodology: str | None) -> None:
    if methodology is not None and not 1 <= len(methodology) <= METHODOLOGY_MAX:
        raise ValidationFailed(
            "Name one methodology.", errors={"methodology": [f"1 to {METHODOLOGY_MAX} characters"]}
        )


def month_summary(month: date) -> list[MethodologyMonth]:
    """Each methodology of `month`: how many actions (and grams) a build would take now, how many
    wait for review, were refused on review, or are already in a batch."""
    batched, refused = _batched(), _refused()
    pending_review = or_(
        Action.status == ActionStatus.FLAGGED,
        exists().where(ActionFlag.action_id == Action.id, ActionFlag.decision.is_(None)),
    )
    take = ~batched & (Action.status == ActionStatus.ACCEPTED) & (Action.reduction_g > 0) & ~refused
    session = read_session()
    try:
        rows = session.execute(
            select(
                Action.methodology,
                func.sum(case((take, 1), else_=0)),
                func.sum(case((take, Action.reduction_g), else_=0)),
                func.sum(case((~batched & pending_review, 1), else_=0)),
                func.sum(
                    case(
                        (
                            ~batched & ~pending_review & ((Action.status == ActionStatus.REJECTED) | refused),
                            1,
                        ),
                        else_=0,
                    )
                ),
                func.sum(case((batched, 1), else_=0)),
                func.sum(
                    case(
                        (
                            batched,
                            select(ReductionBatchAction.grams)
                            .where(ReductionBatchAction.action_id == Action.id)
                            .scalar_subquery(),
                        ),
                        else_=0,
                    )
                ),
            )
            .where(*_in_month(month))
            .group_by(Action.methodology)
            .order_by(Action.methodology)
        ).all()
        return [MethodologyMonth(row[0], *(int(value or 0) for value in row[1:])) for row in rows]
    finally:
        session.rollback()


def build_batches(
    actor_id: int | None,
    month: date,
    methodology: str | None = None,
    *,
    note: str = "",
    today: date | None = None,
    policy: ReductionPolicy | None = None,
) -> list[dict[str, Any]]:
    """Make one draft batch per methodology (or only `methodology`) of a closed month, from every
    action eligible now; one unit of work, one audit entry per batch.

    A month still open is refused (422); a month with nothing left to batch is a conflict (409).
    """
    policy = policy or current()
    _check_methodology(methodology)
    if len(note) > NOTE_MAX:
        raise ValidationFailed("The note is too long.", errors={"note": [f"At most {NOTE_MAX} characters."]})
    month = beijing_time.month_start(month)
    opens = closes_on(month, policy)
    if (today or beijing_time.today()) < opens:
        raise ValidationFailed(
            f"{month:%Y-%m} can be batched from {opens.isoformat()} (Beijing time), when uploads can no "
            "longer change its actions.",
            errors={"month": [f"open until {opens.isoformat()}"]},
        )
    with unit_of_work() as session:
        serialize_in(session, "reductions.build")
        groups = session.execute(
            select(Action.methodology)
            .where(*eligible(month, methodology))
            .group_by(Action.methodology)
            .order_by(Action.methodology)
        ).scalars()
        made: list[ReductionBatch] = []
        try:
            for name in list(groups):
                batch = _build_one(session, actor_id, month, name, note)
                if batch is not None:
                    made.append(batch)
        except IntegrityError as exc:
            raise Conflict("Another build took some of these actions at the same time; build again.") from exc
        if not made:
            what = f"methodology {methodology!r} of " if methodology else ""
            raise Conflict(f"No reviewed, unflagged action of {what}{month:%Y-%m} is left to batch.")
        return [reduction_batches.view_in(session, batch) for batch in made]


def _build_one(
    session: Session, actor_id: int | None, month: date, methodology: str, note: str
) -> ReductionBatch | None:
    sequence = (
        session.scalar(
            select(func.max(ReductionBatch.sequence)).where(
                ReductionBatch.month == month, ReductionBatch.methodology == methodology
            )
        )
        or 0
    ) + 1
    # Counts are placeholders until the members are in: the rows inserted are the record.
    batch = ReductionBatch(
        month=month,
        methodology=methodology,
        sequence=sequence,
        grams=1,
        actions=1,
        contributors=1,
        created_by=actor_id,
        note=note,
    )
    session.add(batch)
    session.flush()
    session.execute(
        insert(ReductionBatchAction).from_select(
            ["batch_id", "action_id", "user_id", "grams"],
            select(literal(batch.id), Action.id, Action.user_id, Action.reduction_g)
            .where(*eligible(month, methodology))
            .order_by(Action.id),
        )
    )
    grams, actions, contributors = session.execute(
        select(
            func.coalesce(func.sum(ReductionBatchAction.grams), 0),
            func.count(ReductionBatchAction.id),
            func.count(func.distinct(ReductionBatchAction.user_id)),
        ).where(ReductionBatchAction.batch_id == batch.id)
    ).one()
    if not actions:
        session.delete(batch)
        session.flush()
        return None
    batch.grams, batch.actions, batch.contributors = int(grams), int(actions), int(contributors)
    session.flush()
    audit.record(
        session, actor_id, "reduction_batch.build", "reduction_batch", batch.id, None, audit.snapshot(batch)
    )
    return batch
