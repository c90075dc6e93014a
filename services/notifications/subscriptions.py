"""The sends each user allows: what `wx.requestSubscribeMessage` answered, counted per template.

One-time subscribe messages: each "accept" the mini-program reports allows one message of that
template (up to `MAX_ALLOWANCE` held at once); "reject", "ban" (the template is banned) and
"filter" (WeChat filtered it) allow none and leave what earlier accepts allowed. Only the template
ids of kinds switched on are taken; any other is refused whole (`ValidationFailed`).

The sending job takes an allowance when it claims a message (`take_in`), and gives it back when
the message ends otherwise than sent (`give_back_in`): an allowance is spent only by a message sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from models import SUBSCRIBE_RESULTS, MessageKind, SubscribeAllowance, SubscribeMessage, utcnow
from models.database import read_session, unit_of_work
from services.kernel.errors import ValidationFailed
from services.notifications.message_settings import SubscribeSettings

MAX_ALLOWANCE = 50
MAX_RESULTS = 10


@dataclass(frozen=True)
class Allowance:
    """What one kind's template allows the user: messages left, and the last result reported."""

    kind: MessageKind
    template_id: str
    remaining: int
    last_result: str | None


def record_results(user_id: int, results: Mapping[str, str], settings: SubscribeSettings) -> None:
    """Count the results of one `wx.requestSubscribeMessage`: each accept allows one more message."""
    known = settings.template_ids()
    errors = {
        template_id: ["Not a subscribe message template of this service."]
        for template_id in results
        if template_id not in known
    }
    errors.update(
        {
            template_id: [f"Must be one of: {', '.join(SUBSCRIBE_RESULTS)}."]
            for template_id, result in results.items()
            if result not in SUBSCRIBE_RESULTS
        }
    )
    if errors or not results or len(results) > MAX_RESULTS:
        raise ValidationFailed(
            f"Report the results of configured subscribe message templates, 1 to {MAX_RESULTS} of them.",
            errors={"results": errors or [f"Between 1 and {MAX_RESULTS} templates."]},
        )
    with unit_of_work() as session:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        for template_id, result in sorted(results.items()):
            added = 1 if result == "accept" else 0
            session.execute(
                insert(SubscribeAllowance)
                .values(user_id=user_id, template_id=template_id, remaining=0, last_result=result)
                .on_conflict_do_nothing(index_elements=["user_id", "template_id"])
            )
            grown = SubscribeAllowance.remaining + added
            session.execute(
                update(SubscribeAllowance)
                .where(SubscribeAllowance.user_id == user_id, SubscribeAllowance.template_id == template_id)
                .values(
                    remaining=case((grown > MAX_ALLOWANCE, MAX_ALLOWANCE), else_=grown),
                    last_result=result,
                    updated_at=utcnow(),
                )
            )


def allowances(user_id: int, settings: SubscribeSettings) -> list[Allowance]:
    """What each kind switched on allows the user, in the order of the kinds."""
    templates = list(settings.templates.values())
    if not templates:
        return []
    rows = {
        row.template_id: row
        for row in read_session().scalars(
            select(SubscribeAllowance).where(
                SubscribeAllowance.user_id == user_id,
                SubscribeAllowance.template_id.in_([t.template_id for t in templates]),
            )
        )
    }
    return [
        Allowance(
            template.kind,
            template.template_id,
            rows[template.template_id].remaining if template.template_id in rows else 0,
            rows[template.template_id].last_result if template.template_id in rows else None,
        )
        for template in templates
    ]


def allowances_page(
    user_id: int, settings: SubscribeSettings, page: int, page_size: int
) -> tuple[list[Allowance], int]:
    """One page of `allowances`, and how many there are."""
    every = allowances(user_id, settings)
    start = (page - 1) * page_size
    return every[start : start + page_size], len(every)


def take_in(session: Session, user_id: int, template_id: str) -> bool:
    """Take one of the user's allowances of the template; False when none is left."""
    taken = session.execute(
        update(SubscribeAllowance)
        .where(
            SubscribeAllowance.user_id == user_id,
            SubscribeAllowance.template_id == template_id,
            SubscribeAllowance.remaining > 0,
        )
        .values(remaining=SubscribeAllowance.remaining - 1, updated_at=utcnow())
    )
    return taken.rowcount == 1


def give_back_in(session: Session, user_id: int, template_id: str) -> None:
    """Give back an allowance taken for a message that was not sent."""
    session.execute(
        update(SubscribeAllowance)
        .where(SubscribeAllowance.user_id == user_id, SubscribeAllowance.template_id == template_id)
        .values(remaining=SubscribeAllowance.remaining + 1, updated_at=utcnow())
    )


def erase_user_in(session: Session, user_id: int) -> int:
    """An account deletion's part here, in its unit of work: the user's allowances and messages
    (sent or not) are deleted, so nothing more is sent and nothing of them is kept; gives the rows."""
    messages = session.execute(delete(SubscribeMessage).where(SubscribeMessage.user_id == user_id)).rowcount
    allowances = session.execute(
        delete(SubscribeAllowance).where(SubscribeAllowance.user_id == user_id)
    ).rowcount
    return int(messages or 0) + int(allowances or 0)
