"""Crediting an action: grams after the daily caps, the points they newly earn, the review flags.

Shared by the recording services and the admin review. Everything here runs in the caller's unit
of work, with the user's row locked (`lock_user`), so that caps and credits of one user are
computed one write at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Action, ActionFlag, ActionKind, ActionStatus, PointsSource, User, utcnow
from services.actions import methodology
from services.actions.action_policy import ActionPolicy
from services.kernel.errors import NotFound
from services.points import points, rankings

GRAMS_PER_KG = 1000


@dataclass(frozen=True)
class Posting:
    """Grams and points newly credited to a user on a day; the grams go to the rankings after the commit."""

    user_id: int
    city: str
    grams: int
    day: date
    points: int


def lock_user(session: Session, user_id: int) -> User:
    """The user's row, locked to the end of the transaction: one action write per user at a time."""
    user = session.scalars(
        select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if user is None:
        raise NotFound("No such user.")
    return user


def points_for_reduction(grams: int, per_kg: int) -> int:
    """Points for `grams` avoided at `per_kg` points per kilogram, rounded down."""
    return grams * per_kg // GRAMS_PER_KG


def describe(action: Action) -> str:
    if action.kind == ActionKind.STEPS:
        return f"walking {action.quantity} steps on {action.date.isoformat()}"
    return f"{action.kind.value} trip {action.quantity / 1000:g} km on {action.date.isoformat()}"


def _trip_grams(session: Session, action: Action, policy: ActionPolicy) -> int:
    """The trip's reduction, cut to what is left of its kind's daily cap for the user that day."""
    full = methodology.reduction_for_trip(action.kind, action.quantity)
    used = session.scalar(
        select(func.coalesce(func.sum(Action.reduction_g), 0)).where(
            Action.user_id == action.user_id,
            Action.kind == action.kind,
            Action.date == action.date,
            Action.id != action.id,
        )
    )
    return max(0, min(full, policy.cap_g(action.kind) - int(used or 0)))


def capped_grams(session: Session, action: Action, policy: ActionPolicy) -> int:
    """Grams the action earns at its current quantity, after the daily cap of its kind."""
    if action.kind == ActionKind.STEPS:
        return methodology.reduction_for_steps(min(action.quantity, policy.steps_daily_cap))
    return _trip_grams(session, action, policy)


def credit(session: Session, user: User, action: Action, policy: ActionPolicy) -> Posting | None:
    """Raise the action's credit to what its quantity earns now; award only the points not yet awarded.

    Each award's source id is `<action id>:<points awarded in total>`, which only grows, so an
    action is awarded any given total at most once.
    """
    grams = capped_grams(session, action, policy)
    if grams <= action.reduction_g:
        return None
    total = points_for_reduction(grams, policy.points_per_kg)
    awarded = max(0, total - action.points)
    if awarded:
        _pending, expires_at = points.award_dates(utcnow(), 0, policy.points_expiry_days)
        points.award(
            session,
            user.id,
            awarded,
            PointsSource.ACTION,
            f"{action.id}:{total}",
            describe(action),
            expires_at=expires_at,
        )
        action.points = total
    posting = Posting(user.id, user.city, grams - action.reduction_g, action.date, awarded)
    action.reduction_g = grams
    return posting


def open_flag(
    session: Session, action: Action, reasons: Sequence[str], detail: str, claimed: int, prior: int | None
) -> ActionFlag:
    """Hold a claim for review; the action is `flagged` until an admin decides."""
    flag = ActionFlag(
        action_id=action.id,
        reason=",".join(reasons),
        detail=detail[:255],
        claimed_quantity=claimed,
        prior_quantity=prior,
        at=utcnow(),
    )
    session.add(flag)
    action.status = ActionStatus.FLAGGED
    session.flush()
    return flag


def raise_claim(flag: ActionFlag, claimed: int, reasons: Sequence[str], detail: str) -> None:
    """A later upload of a day under review: the pending claim takes the higher count."""
    if claimed > flag.claimed_quantity:
        flag.claimed_quantity = claimed
        merged = list(dict.fromkeys([*flag.reason.split(","), *reasons]))
        flag.reason = ",".join(r for r in merged if r)[:128]
        if detail:
            flag.detail = detail[:255]


def post_to_rankings(postings: Sequence[Posting | None]) -> None:
    """Add committed credits to the rankings (never raises: the database is the record)."""
    for posting in postings:
        if posting is not None and posting.grams:
            rankings.record_reduction(posting.user_id, posting.city, posting.grams, posting.day)
