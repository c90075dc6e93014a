"""Low-carbon actions: WeRun walking days and bus or metro trips, turned into grams and points.

Policies (docs/actions.md says why):
- **Walking** (WeRun): one action per user and Beijing day. A later upload of a day counts only
  upward: a higher count raises the credit and awards only the points not yet awarded; an equal
  or lower count changes nothing. Steps above `STEPS_DAILY_CAP` earn nothing.
- **Trips**: one action per trip; the credit of a kind is capped per user and day
  (`ACTION_DAILY_CAP_G`). An operator's trip id (`trip_ref`) can be claimed once: sending the same
  trip again answers the recorded action; another user's claim of it is refused.
- **Replays**: a WeRun `encryptedData` is accepted once (its SHA-256 is kept).
- **Review**: an implausible claim (too many steps, the same count day after day, a trip too
  long) is flagged, not credited; an admin accepts (credit and points then) or rejects it. While
  a day is under review, later uploads of it only raise the pending claim. A rejected new day
  stays rejected.
- The database is the record: rankings get the credits after the commit and may miss them when
  Redis is down (they are rebuilt from the database).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    TRIP_KINDS,
    Action,
    ActionFlag,
    ActionKind,
    ActionStatus,
    ActionUpload,
    User,
    utcnow,
)
from models.database import read_session, unit_of_work
from services.accounts import accounts
from services.actions import anti_cheat, methodology
from services.actions.action_credit import (
    Posting,
    credit,
    lock_user,
    open_flag,
    post_to_rankings,
    raise_claim,
)
from services.actions.action_policy import ActionPolicy
from services.actions.werun import WeRunDay, payload_hash, read_werun
from services.kernel.beijing_time import today, week_id, week_start
from services.kernel.errors import Conflict, UpstreamError, ValidationFailed
from services.kernel.paging import objects_page

TRIP_REF_MAX = 64


class WeChatSessionExpired(ValidationFailed):
    """The user's WeChat session key is gone (it lives for days); the mini-program must log in again."""

    code = "wechat_session_expired"


class ReplayedPayload(Conflict):
    code = "werun_replayed"


@dataclass(frozen=True)
class DayOutcome:
    """What one day of a WeRun upload did: `credited` (new day), `raised`, `flagged`, `unchanged`,
    `rejected` (a day an admin rejected stays so)."""

    date: date
    steps: int
    outcome: str
    action_id: int | None
    reduction_g: int
    points: int
    status: str | None


@dataclass(frozen=True)
class WeRunResult:
    days_received: int
    credited_g: int
    points: int
    flagged_days: int
    days: list[DayOutcome] = field(default_factory=list)


@dataclass(frozen=True)
class TripResult:
    action: Action
    created: bool


@dataclass(frozen=True)
class DayTotal:
    date: date
    reduction_g: int
    points: int


@dataclass(frozen=True)
class WeekTotal:
    week: str
    week_start: date
    reduction_g: int


@dataclass(frozen=True)
class Reductions:
    all_time_g: int
    all_time_points: int
    today_g: int
    this_week_g: int
    by_kind: dict[str, int]
    days: list[DayTotal]
    weeks: list[WeekTotal]


def _window(policy: ActionPolicy) -> tuple[date, date]:
    last = today()
    return last - timedelta(days=policy.max_age_days), last


# -- WeRun ----------------------------------------------------------------------------------------


def _refuse_replay(digest: str) -> None:
    session = read_session()
    try:
        seen = session.scalar(select(ActionUpload.id).where(ActionUpload.payload_hash == digest))
    finally:
        session.rollback()
    if seen is not None:
        raise ReplayedPayload("This WeRun data was already received; call wx.getWeRunData again.")


def _apply_day(
    session: Session,
    user: User,
    day: WeRunDay,
    action: Action | None,
    pending: ActionFlag | None,
    reasons: list[str],
    detail: str,
    digest: str,
    policy: ActionPolicy,
) -> tuple[str, Action, Posting | None]:
    if action is None:
        action = Action(
            user_id=user.id,
            kind=ActionKind.STEPS,
            date=day.day,
            quantity=day.steps,
            methodology=methodology.methodology_of(ActionKind.STEPS),
            payload_hash=digest,
        )
        session.add(action)
        session.flush()
        if reasons:
            open_flag(session, action, reasons, detail, day.steps, None)
            return "flagged", action, None
        return "credited", action, credit(session, user, action, policy)
    if action.status == ActionStatus.REJECTED:
        return "rejected", action, None
    if pending is not None:
        if day.steps > pending.claimed_quantity:
            raise_claim(pending, day.steps, reasons, detail)
            action.payload_hash = digest
        return "flagged", action, None
    if day.steps <= action.quantity:
        return "unchanged", action, None
    action.payload_hash = digest
    if reasons:
        open_flag(session, action, reasons, detail, day.steps, action.quantity)
        return "flagged", action, None
    action.quantity = day.steps
    return "raised", action, credit(session, user, action, policy)


def record_werun(
    user_id: int, encrypted_data: str, iv: str, policy: ActionPolicy, now: datetime | None = None
) -> WeRunResult:
    """Decrypt a WeRun upload with the user's session key and credit its days (see the module policy)."""
    if not policy.wechat_appid:
        raise UpstreamError("WeRun is not available: the mini-program AppID (WECHAT_APPID) is not set.")
    digest = payload_hash(encrypted_data)
    _refuse_replay(digest)
    session_key = accounts.get_session_key(user_id)
    if session_key is None:
        message = "Your WeChat session has expired; call wx.login, then wx.getWeRunData again."
        raise WeChatSessionExpired(message, errors={"encryptedData": [message]})
    data = read_werun(
        encrypted_data, iv, session_key, policy.wechat_appid, now or utcnow(), policy.werun_max_age_s
    )
    first, last = _window(policy)
    days = [d for d in data.days if first <= d.day <= last and d.steps > 0]
    flat = anti_cheat.flat_run_days(data.days, policy.steps_flat_run_days)

    outcomes: list[DayOutcome] = []
    postings: list[Posting | None] = []
    with unit_of_work() as session:
        user = lock_user(session, user_id)
        session.add(
            ActionUpload(
                user_id=user_id,
                kind=ActionKind.STEPS,
                payload_hash=digest,
                days=len(data.days),
                watermark_at=data.watermark_at,
            )
        )
        try:
            session.flush()
        except IntegrityError:
            raise ReplayedPayload(
                "This WeRun data was already received; call wx.getWeRunData again."
            ) from None
        existing = {
            a.date: a
            for a in session.scalars(
                select(Action)
                .where(
                    Action.user_id == user_id,
                    Action.kind == ActionKind.STEPS,
                    Action.date.in_([d.day for d in days]),
                )
                # Rows this session may hold from before the user's lock are refreshed.
                .execution_options(populate_existing=True)
            )
        }
        pending = {
            f.action_id: f
            for f in session.scalars(
                select(ActionFlag)
                .where(
                    ActionFlag.action_id.in_([a.id for a in existing.values()]), ActionFlag.decision.is_(None)
                )
                .execution_options(populate_existing=True)
            )
        }
        for day in days:
            reasons = anti_cheat.step_flags(day, flat, policy.steps_flag_above)
            detail = anti_cheat.describe_step_flags(
                reasons, day.steps, policy.steps_flag_above, policy.steps_flat_run_days
            )
            found = existing.get(day.day)
            outcome, action, posting = _apply_day(
                session,
                user,
                day,
                found,
                pending.get(found.id) if found else None,
                reasons,
                detail,
                digest,
                policy,
            )
            postings.append(posting)
            session.flush()
            outcomes.append(
                DayOutcome(
                    day.day,
                    day.steps,
                    outcome,
                    action.id,
                    action.reduction_g,
                    action.points,
                    action.status.value,
                )
            )
    post_to_rankings(postings)
    credits = [p for p in postings if p is not None]
    return WeRunResult(
        days_received=len(data.days),
        credited_g=sum(p.grams for p in credits),
        points=sum(p.points for p in credits),
        flagged_days=sum(1 for o in outcomes if o.outcome == "flagged"),
        days=outcomes,
    )


# -- trips ----------------------------------------------------------------------------------------


def km_to_metres(km: Decimal) -> int:
    return int((km * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _check_trip(mode: str, km: Decimal, on: date, trip_ref: str | None, policy: ActionPolicy) -> ActionKind:
    errors: dict[str, list[str]] = {}
    kind = ActionKind(mode) if mode in {k.value for k in TRIP_KINDS} else None
    if kind is None:
        errors["mode"] = [f"One of {sorted(k.value for k in TRIP_KINDS)}."]
    if km_to_metres(km) <= 0:
        errors["km"] = ["Must be at least 0.001 km."]
    first, last = _window(policy)
    if on > last:
        errors["date"] = ["Must not be in the future (Beijing date)."]
    elif on < first:
        errors["date"] = [f"Must be within the last {policy.max_age_days} days."]
    if trip_ref is not None and not 1 <= len(trip_ref) <= TRIP_REF_MAX:
        errors["trip_ref"] = [f"1 to {TRIP_REF_MAX} characters."]
    if errors or kind is None:
        raise ValidationFailed("The trip is not valid; see `errors`.", errors=errors)
    return kind


def _same_trip(
    session: Session, user_id: int, kind: ActionKind, trip_ref: str, metres: int, on: date
) -> Action | None:
    existing = session.scalar(
        select(Action)
        .where(Action.kind == kind, Action.trip_ref == trip_ref)
        .execution_options(populate_existing=True)
    )
    if existing is None:
        return None
    if existing.user_id != user_id:
        raise Conflict("This trip was already claimed.", errors={"trip_ref": ["Already claimed."]})
    if (existing.quantity, existing.date) != (metres, on):
        raise Conflict(
            "You recorded this trip before with another distance or date.",
            errors={"trip_ref": ["Already recorded with other details."]},
        )
    return existing


def record_trip(
    user_id: int,
    mode: str,
    km: Decimal,
    policy: ActionPolicy,
    *,
    on: date | None = None,
    trip_ref: str | None = None,
) -> TripResult:
    """Record a bus or metro trip and credit its saving (capped per day); `created` is False for a repeat."""
    on = on or today()
    trip_ref = trip_ref.strip() if trip_ref is not None else None
    kind = _check_trip(mode, km, on, trip_ref, policy)
    metres = km_to_metres(km)
    posting = None
    with unit_of_work() as session:
        user = lock_user(session, user_id)
        if trip_ref:
            existing = _same_trip(session, user_id, kind, trip_ref, metres, on)
            if existing is not None:
                return TripResult(existing, False)
        action = Action(
            user_id=user_id,
            kind=kind,
            date=on,
            quantity=metres,
            methodology=methodology.methodology_of(kind),
            trip_ref=trip_ref or None,
        )
        session.add(action)
        try:
            session.flush()
        except IntegrityError:  # another user claimed the same trip id at the same moment
            raise Conflict(
                "This trip was already claimed.", errors={"trip_ref": ["Already claimed."]}
            ) from None
        reasons = anti_cheat.trip_flags(metres, policy.trip_flag_km)
        if reasons:
            detail = f"{metres / 1000:g} km is longer than the plausible {policy.trip_flag_km} km of one trip"
            open_flag(session, action, reasons, detail, metres, None)
        else:
            posting = credit(session, user, action, policy)
        session.flush()
    post_to_rankings([posting])
    return TripResult(action, True)


# -- reading --------------------------------------------------------------------------------------


def list_my_actions(
    user_id: int,
    *,
    page: int = 1,
    page_size: int = 20,
    kind: str | None = None,
    status: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> tuple[list[Action], int]:
    """The user's own actions, newest day first; `since` and `until` are inclusive Beijing dates."""
    conditions = [Action.user_id == user_id]
    if kind is not None:
        conditions.append(Action.kind == ActionKind(kind))
    if status is not None:
        conditions.append(Action.status == ActionStatus(status))
    if since is not None:
        conditions.append(Action.date >= since)
    if until is not None:
        conditions.append(Action.date <= until)
    session = read_session()
    try:
        rows, total = objects_page(
            session,
            select(Action).where(*conditions).order_by(Action.date.desc(), Action.id.desc()),
            page,
            page_size,
        )
        for row in rows:
            session.expunge(row)
        return rows, total
    finally:
        session.rollback()


def my_reductions(user_id: int, *, days: int = 30, weeks: int = 12, on: date | None = None) -> Reductions:
    """The user's credited grams: all time, by kind, per day for `days` days and per week for `weeks` weeks."""
    last = on or today()
    first_day = last - timedelta(days=days - 1)
    first_week = week_start(last) - timedelta(weeks=weeks - 1)
    mine = Action.user_id == user_id
    session = read_session()
    try:
        all_g, all_points = session.execute(
            select(
                func.coalesce(func.sum(Action.reduction_g), 0), func.coalesce(func.sum(Action.points), 0)
            ).where(mine)
        ).one()
        by_kind = {
            kind.value: int(grams)
            for kind, grams in session.execute(
                select(Action.kind, func.sum(Action.reduction_g)).where(mine).group_by(Action.kind)
            )
        }
        per_day = {
            day: (int(grams), int(points))
            for day, grams, points in session.execute(
                select(Action.date, func.sum(Action.reduction_g), func.sum(Action.points))
                .where(mine, Action.date >= min(first_day, first_week), Action.date <= last)
                .group_by(Action.date)
            )
        }
    finally:
        session.rollback()
    day_totals = [
        DayTotal(d, *per_day.get(d, (0, 0))) for d in (first_day + timedelta(days=i) for i in range(days))
    ]
    week_totals = []
    for i in range(weeks):
        start = first_week + timedelta(weeks=i)
        grams = sum(per_day.get(start + timedelta(days=n), (0, 0))[0] for n in range(7))
        week_totals.append(WeekTotal(week_id(start), start, grams))
    return Reductions(
        all_time_g=int(all_g),
        all_time_points=int(all_points),
        today_g=per_day.get(last, (0, 0))[0],
        this_week_g=week_totals[-1].reduction_g,
        by_kind={kind.value: by_kind.get(kind.value, 0) for kind in ActionKind},
        days=day_totals,
        weeks=week_totals,
    )
