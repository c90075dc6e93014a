"""Admin review of flagged actions: list the claims held back, accept (credit and points) or reject.

Accepting credits the claimed count (still within the daily caps) and awards the points it newly
earns; rejecting keeps what was credited before the claim (nothing, for a new day or trip, which
becomes `rejected`). Every decision is in the audit log, with the flag and the action before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from models import Action, ActionFlag, ActionKind, ActionStatus, FlagDecision, User, utcnow
from models.database import read_session, unit_of_work
from services.actions.action_credit import Posting, credit, lock_user, post_to_rankings
from services.actions.action_policy import ActionPolicy
from services.kernel import audit
from services.kernel.errors import InvalidState, NotFound, ValidationFailed
from services.kernel.paging import rows_page

DECISION_FILTERS = ("pending", "accepted", "rejected", "any")
VERBS = {"accept": FlagDecision.ACCEPTED, "reject": FlagDecision.REJECTED}


@dataclass(frozen=True)
class FlagView:
    id: int
    reasons: list[str]
    detail: str
    claimed_quantity: int
    prior_quantity: int | None
    at: datetime
    decision: str | None
    reviewed_by: int | None
    decided_at: datetime | None
    note: str
    user_id: int
    user_display_name: str
    action_id: int
    kind: ActionKind
    date: date
    status: ActionStatus
    quantity: int
    reduction_g: int
    points: int


def _view(flag: ActionFlag, action: Action, display_name: str) -> FlagView:
    return FlagView(
        id=flag.id,
        reasons=[r for r in flag.reason.split(",") if r],
        detail=flag.detail,
        claimed_quantity=flag.claimed_quantity,
        prior_quantity=flag.prior_quantity,
        at=flag.at,
        decision=flag.decision.value if flag.decision else None,
        reviewed_by=flag.reviewed_by,
        decided_at=flag.decided_at,
        note=flag.note,
        user_id=action.user_id,
        user_display_name=display_name,
        action_id=action.id,
        kind=action.kind,
        date=action.date,
        status=action.status,
        quantity=action.quantity,
        reduction_g=action.reduction_g,
        points=action.points,
    )


def list_flags(
    decision: str = "pending", *, page: int = 1, page_size: int = 20
) -> tuple[list[FlagView], int]:
    """Flags by decision (`pending` first-come first-served; decided ones newest first) and their total."""
    if decision not in DECISION_FILTERS:
        raise ValidationFailed(
            "Unknown decision filter.", errors={"decision": [f"One of {list(DECISION_FILTERS)}."]}
        )
    conditions = []
    if decision == "pending":
        conditions.append(ActionFlag.decision.is_(None))
    elif decision != "any":
        conditions.append(ActionFlag.decision == FlagDecision(decision))
    order = ActionFlag.id.asc() if decision == "pending" else ActionFlag.id.desc()
    session = read_session()
    try:
        rows, total = rows_page(
            session,
            select(ActionFlag, Action, User.display_name)
            .join(Action, Action.id == ActionFlag.action_id)
            .join(User, User.id == Action.user_id)
            .where(*conditions)
            .order_by(order),
            page,
            page_size,
        )
        return [_view(flag, action, name) for flag, action, name in rows], total
    finally:
        session.rollback()


def decide_flag(actor_id: int, flag_id: int, verb: str, note: str, policy: ActionPolicy) -> FlagView:
    """Accept or reject a pending flag (audit-logged); a decided flag cannot be decided again (409)."""
    if verb not in VERBS:
        raise ValidationFailed("Unknown decision.", errors={"decision": [f"One of {sorted(VERBS)}."]})
    posting: Posting | None = None
    with unit_of_work() as session:
        user_id = session.scalar(
            select(Action.user_id)
            .join(ActionFlag, ActionFlag.action_id == Action.id)
            .where(ActionFlag.id == flag_id)
        )
        if user_id is None:
            raise NotFound(f"No action flag {flag_id}.")
        user = lock_user(session, user_id)
        flag = session.get_one(ActionFlag, flag_id, populate_existing=True)
        action = session.get_one(Action, flag.action_id, populate_existing=True)
        if flag.decision is not None:
            raise InvalidState(f"This flag was already {flag.decision.value}.", decision=flag.decision.value)
        before = {"flag": audit.snapshot(flag), "action": audit.snapshot(action)}
        if VERBS[verb] == FlagDecision.ACCEPTED:
            action.quantity = max(action.quantity, flag.claimed_quantity)
            action.status = ActionStatus.ACCEPTED
            posting = credit(session, user, action, policy)
        else:
            action.status = ActionStatus.REJECTED if flag.prior_quantity is None else ActionStatus.ACCEPTED
        flag.decision = VERBS[verb]
        flag.reviewed_by = actor_id
        flag.decided_at = utcnow()
        flag.note = note[:255]
        session.flush()
        audit.record(
            session,
            actor_id,
            f"action_flag.{verb}",
            "action_flag",
            flag.id,
            before=before,
            after={"flag": audit.snapshot(flag), "action": audit.snapshot(action)},
        )
        view = _view(flag, action, user.display_name)
    post_to_rankings([posting])
    return view
