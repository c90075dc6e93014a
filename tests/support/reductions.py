"""Actions of a past month, and the admin steps that take a reduction batch to the pool."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask.testing import FlaskClient

from models import Action, ActionFlag, ActionKind, ActionStatus, FlagDecision, User, utcnow
from models.database import unit_of_work
from services.actions import methodology
from services.kernel import beijing_time

TONNE = 1_000_000


def closed_month() -> date:
    """The first day of a month long closed for batching (three months back, Beijing time)."""
    return beijing_time.add_months(beijing_time.today(), -3)


def user_id_of(user: dict[str, Any]) -> int:
    return int(user["id"])


def make_user(name: str) -> int:
    with unit_of_work() as session:
        user = User(username=name, display_name=name)
        session.add(user)
        session.flush()
        return user.id


def make_action(
    user_id: int,
    day: date,
    kind: ActionKind = ActionKind.BUS,
    grams: int = 1_000,
    *,
    status: ActionStatus = ActionStatus.ACCEPTED,
    flag: FlagDecision | str | None = "none",
    quantity: int = 10_000,
) -> int:
    """An action as the actions context leaves it: credited `grams` (none when flagged or rejected),
    with a flag in the state given (`"none"`: never flagged; None: a claim still pending)."""
    with unit_of_work() as session:
        action = Action(
            user_id=user_id,
            kind=kind,
            date=day,
            quantity=quantity,
            reduction_g=grams if status != ActionStatus.REJECTED else 0,
            points=0,
            status=status,
            methodology=methodology.methodology_of(kind),
        )
        session.add(action)
        session.flush()
        if flag != "none":
            decided = flag is not None
            session.add(
                ActionFlag(
                    action_id=action.id,
                    reason="trip_too_long",
                    claimed_quantity=quantity,
                    prior_quantity=None,
                    decision=flag,
                    decided_at=utcnow() if decided else None,
                )
            )
        return action.id


def build(client: FlaskClient, admin: dict[str, str], month: date, **body: Any):
    return client.post(
        "/api/v1/admin/reduction-batches", json={"month": f"{month:%Y-%m}", **body}, headers=admin
    )


def issue_body(**changes: Any) -> dict[str, Any]:
    body = {
        "issued_g": TONNE,
        "registry_ref": "HBCX-CIER-2026-0007",
        "registry_url": "https://registry.example.cn/cier/0007",
        "registry_name": "碳普惠登记系统",
        "serial_prefix": "CIER-HB-",
        "serial_start": 1,
        "issued_on": beijing_time.today().isoformat(),
        "price_fen_per_t": 30_000,
    }
    body.update(changes)
    return body


def submit_and_issue(
    client: FlaskClient, admin: dict[str, str], batch_id: int, **changes: Any
) -> dict[str, Any]:
    submitted = client.post(
        f"/api/v1/admin/reduction-batches/{batch_id}/submit", json={"application_ref": "SQ-7"}, headers=admin
    )
    assert submitted.status_code == 200, submitted.json
    issued = client.post(
        f"/api/v1/admin/reduction-batches/{batch_id}/issue", json=issue_body(**changes), headers=admin
    )
    assert issued.status_code == 200, issued.json
    return issued.json


def day_in(month: date, day: int) -> date:
    return month + timedelta(days=day - 1)
