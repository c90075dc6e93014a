"""Events: plan with an estimate, account for the actual emissions, by the national event guideline.

Each source's emissions are activity × factor, computed in Decimal and rounded half-up to the gram
once per source. Only members of the event's organisation (and admins) see or change an event.
The estimate is frozen when the event leaves the plan stage; the actual is frozen once an offset
order has been placed for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import (
    Channel,
    Event,
    EventSource,
    EventStage,
    EventTravelGroup,
    Order,
    OrderStatus,
    Organisation,
    Phase,
    SourceKind,
    utcnow,
)
from models.database import read_session, unit_of_work
from services.accounts import content_check
from services.accounts.tokens import Principal
from services.kernel.errors import InvalidState, NotFound, ValidationFailed
from services.kernel.order_effects import Fulfilled, Refunded
from services.kernel.paging import objects_page
from services.neutralisation import event_factors

CUSTOM_FACTOR = "custom"
PLAN_FIELDS = ("name", "start_date", "end_date", "venue_city", "expected_attendees", "boundary")
PLAN_FIELDS += ("reduction_measures", "offset_plan")
# Orders of an offset that still count: paid or waiting to be paid.
LIVE_ORDER_STATES = (
    OrderStatus.CREATED,
    OrderStatus.AWAITING_PAYMENT,
    OrderStatus.PAID,
    OrderStatus.FULFILLED,
    OrderStatus.PARTIALLY_REFUNDED,
)


def grams_of(activity: Decimal, kg_per_unit: Decimal) -> int:
    """Activity × factor (kg per unit) in grams, rounded half-up once."""
    return int((activity * kg_per_unit * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class EventView:
    event: Event
    organisation_name: str
    sources: list[EventSource]
    travel: list[EventTravelGroup]
    totals: dict[str, int]
    offset_order: Order | None
    # Whether the public disclosure shows the name: `pass`, or `pending` / `risky` (content_check).
    name_status: str = "pass"


# -- reading --------------------------------------------------------------------------------------


def _event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(f"Event {event_id} does not exist.")
    return event


def member_event(session: Session, principal: Principal, event_id: int, lock: bool = False) -> Event:
    """The event, if the caller is a member of its organisation (or an admin); locked when asked."""
    if lock:
        event = session.scalar(select(Event).where(Event.id == event_id).with_for_update())
        if event is None:
            raise NotFound(f"Event {event_id} does not exist.")
    else:
        event = _event(session, event_id)
    principal.require_member(event.organisation_id)
    return event


def totals_in(session: Session, event_id: int) -> dict[str, int]:
    rows = session.execute(
        select(EventSource.phase, func.coalesce(func.sum(EventSource.grams), 0))
        .where(EventSource.event_id == event_id)
        .group_by(EventSource.phase)
    ).all()
    found = {phase.value: int(grams) for phase, grams in rows}
    return {phase.value: found.get(phase.value, 0) for phase in Phase}


def offset_order_in(session: Session, event: Event) -> Order | None:
    if not event.offset_order_no:
        return None
    return session.scalar(select(Order).where(Order.out_trade_no == event.offset_order_no))


def offset_fulfilled_in(session: Session, order: Order) -> bool:
    """The event this order offsets moves to `offset`, in the transaction that fulfils the order.

    Only the event that names this order as its offset, and only from `accounted`; True when it moved.
    """
    return _move_offset_stage(
        session, order, EventStage.ACCOUNTED, EventStage.OFFSET, order.fulfilled_at or utcnow()
    )


def offset_refunded_in(session: Session, order: Order) -> bool:
    """A fully refunded offset order no longer offsets its event: `offset` goes back to `accounted`.

    A declared event stays declared; its disclosure shows it is no longer covered by credits.
    """
    return _move_offset_stage(session, order, EventStage.OFFSET, EventStage.ACCOUNTED, None)


def _move_offset_stage(
    session: Session, order: Order, source: EventStage, target: EventStage, offset_at: datetime | None
) -> bool:
    """A conditional UPDATE of the event whose offset is `order`, from `source` to `target`."""
    if order.channel is not Channel.EVENT or order.source_type != "event" or not order.source_id:
        return False
    moved = session.execute(
        update(Event)
        .where(
            Event.id == int(order.source_id),
            Event.offset_order_no == order.out_trade_no,
            Event.stage == source,
        )
        .values(stage=target, offset_at=offset_at)
    ).rowcount
    return bool(moved)


def view_in(session: Session, event: Event) -> EventView:
    organisation = session.get(Organisation, event.organisation_id)
    sources = list(
        session.scalars(select(EventSource).where(EventSource.event_id == event.id).order_by(EventSource.id))
    )
    travel = list(
        session.scalars(
            select(EventTravelGroup)
            .where(EventTravelGroup.event_id == event.id)
            .order_by(EventTravelGroup.phase, EventTravelGroup.origin_city, EventTravelGroup.mode)
        )
    )
    return EventView(
        event,
        organisation.name,
        sources,
        travel,
        totals_in(session, event.id),
        offset_order_in(session, event),
        content_check.status_in(session, content_check.EVENT_NAME, str(event.id)),
    )


def get_event(principal: Principal, event_id: int) -> EventView:
    """An event with its sources, travel groups and totals (members of its organisation only)."""
    session = read_session()
    try:
        view = view_in(session, member_event(session, principal, event_id))
        session.expunge_all()
    finally:
        session.rollback()
    return view


def list_events(
    principal: Principal, organisation_id: int, page: int, page_size: int
) -> tuple[list[Event], int]:
    principal.require_member(organisation_id)
    session = read_session()
    query = select(Event).where(Event.organisation_id == organisation_id)
    return objects_page(session, query.order_by(Event.id.desc()), page, page_size)


# -- planning -------------------------------------------------------------------------------------


def _check_plan(session: Session, values: Mapping[str, Any]) -> None:
    if "venue_city" in values:
        event_factors.current_in(session).require_city(values["venue_city"], "venue_city")
    start, end = values.get("start_date"), values.get("end_date")
    if isinstance(start, date) and isinstance(end, date) and end < start:
        raise ValidationFailed("The event ends before it starts.", errors={"end_date": ["before start_date"]})


def create_event(principal: Principal, organisation_id: int, values: Mapping[str, Any]) -> EventView:
    """Plan a new event of an organisation the caller is a member of; its name passes WeChat's
    content security check first (an admin's is exempt)."""
    principal.require_member(organisation_id)
    verdict = content_check.screen(principal.user_id, "name", values.get("name") or "")
    with unit_of_work() as session:
        if session.get(Organisation, organisation_id) is None:
            raise NotFound(f"Organisation {organisation_id} does not exist.")
        _check_plan(session, values)
        event = Event(
            organisation_id=organisation_id,
            created_by=principal.user_id,
            stage=EventStage.PLAN,
            **{key: values[key] for key in PLAN_FIELDS if key in values},
        )
        session.add(event)
        session.flush()
        content_check.record_in(
            session, content_check.EVENT_NAME, str(event.id), event.name, verdict, principal.user_id
        )
        view = view_in(session, event)
        session.expunge_all()
    return view


def update_event(principal: Principal, event_id: int, changes: Mapping[str, Any]) -> EventView:
    """Change the plan (plan stage only), the published flag or the actual attendance; a new name
    passes WeChat's content security check first (an admin's is exempt)."""
    verdict = None
    if "name" in changes:
        verdict = content_check.screen(principal.user_id, "name", changes["name"] or "")
    with unit_of_work() as session:
        event = member_event(session, principal, event_id, lock=True)
        plan_changes = {key: changes[key] for key in PLAN_FIELDS if key in changes}
        if plan_changes and event.stage is not EventStage.PLAN:
            raise InvalidState("The plan can only change in the plan stage.", stage=event.stage.value)
        _check_plan(session, {"start_date": event.start_date, "end_date": event.end_date, **plan_changes})
        if plan_changes.get("venue_city", event.venue_city) != event.venue_city and session.scalar(
            select(EventTravelGroup.id).where(EventTravelGroup.event_id == event.id).limit(1)
        ):
            raise InvalidState(
                "Attendee travel was measured to the current venue; it cannot change after a list is uploaded.",
                errors={"venue_city": ["attendee lists were uploaded for the current venue"]},
            )
        for key, value in plan_changes.items():
            setattr(event, key, value)
        if verdict is not None and "name" in plan_changes:
            session.flush()
            content_check.record_in(
                session, content_check.EVENT_NAME, str(event.id), event.name, verdict, principal.user_id
            )
        if "published" in changes:
            event.published = bool(changes["published"])
        if "actual_attendees" in changes:
            event.actual_attendees = changes["actual_attendees"]
        view = view_in(session, event)
        session.expunge_all()
    return view


def require_editable(session: Session, event: Event, phase: Phase) -> None:
    """A phase's sources and attendee list may still change; InvalidState (409) once frozen."""
    if phase is Phase.ESTIMATE and event.stage is not EventStage.PLAN:
        raise InvalidState("The estimate is frozen once the event leaves the plan stage.")
    if phase is Phase.ACTUAL:
        if event.stage not in (EventStage.PLAN, EventStage.ACCOUNTED):
            raise InvalidState("The actual emissions are frozen once offset.", stage=event.stage.value)
        order = offset_order_in(session, event)
        if order is not None and order.status in LIVE_ORDER_STATES:
            raise InvalidState("An offset order exists for these emissions; they can no longer change.")


@dataclass(frozen=True)
class _SourceFactor:
    key: str
    kg_per_unit: Decimal
    activity_unit: str
    source: str
    factor_set_version: int | None


def _factor_for(session: Session, values: Mapping[str, Any]) -> _SourceFactor:
    """The current factor set's factor of that key, or a custom factor with its citation."""
    key = values.get("factor_key") or CUSTOM_FACTOR
    if key != CUSTOM_FACTOR:
        factors = event_factors.current_in(session)
        factor = factors.factor(key)
        if factor is None:
            raise ValidationFailed(
                f"No event emission factor {key!r} in factor set version {factors.version}.",
                errors={"factor_key": [f"unknown key {key!r}"]},
            )
        kinds = event_factors.SOURCE_KINDS_OF_CATEGORY[factor.category]
        if values.get("kind") not in kinds:
            raise ValidationFailed(
                f"Factor {key!r} ({factor.category}) is for {', '.join(sorted(kinds))} sources.",
                errors={"factor_key": [f"not a factor for {values.get('kind')} sources"]},
            )
        return _SourceFactor(
            key, factor.kg_per_unit, factor.activity_unit, factor.source, factor.factor_set_version
        )
    missing = [
        name for name in ("factor_kg_per_unit", "activity_unit", "factor_source") if not values.get(name)
    ]
    if missing:
        raise ValidationFailed(
            "A custom factor needs its value, unit and cited source.",
            errors={name: ["required with a custom factor"] for name in missing},
        )
    return _SourceFactor(
        CUSTOM_FACTOR,
        Decimal(values["factor_kg_per_unit"]),
        values["activity_unit"],
        values["factor_source"],
        None,
    )


def source_columns(activity: Decimal, factor: _SourceFactor | event_factors.EventFactor) -> dict[str, Any]:
    """A source row's activity × factor columns: the factor it was computed with, and the grams."""
    return {
        "activity": activity,
        "activity_unit": factor.activity_unit,
        "factor_key": factor.key,
        "factor_set_version": factor.factor_set_version,
        "factor_kg_per_unit": factor.kg_per_unit,
        "factor_source": factor.source,
        "grams": grams_of(activity, factor.kg_per_unit),
    }


def add_source(principal: Principal, event_id: int, values: Mapping[str, Any]) -> EventSource:
    """Record one source's activity data for the estimate or the actual; its grams are computed here."""
    phase = Phase(values["phase"])
    activity = Decimal(values["activity"])
    with unit_of_work() as session:
        event = member_event(session, principal, event_id, lock=True)
        require_editable(session, event, phase)
        factor = _factor_for(session, values)
        row = EventSource(
            event_id=event.id,
            phase=phase,
            kind=SourceKind(values["kind"]),
            description=values.get("description", ""),
            **source_columns(activity, factor),
        )
        session.add(row)
        session.flush()
        session.expunge(row)
    return row


def delete_source(principal: Principal, event_id: int, source_id: int) -> None:
    with unit_of_work() as session:
        event = member_event(session, principal, event_id, lock=True)
        row = session.get(EventSource, source_id)
        if row is None or row.event_id != event.id:
            raise NotFound(f"Source {source_id} does not exist.")
        require_editable(session, event, row.phase)
        session.delete(row)


# -- steps ----------------------------------------------------------------------------------------


def account(principal: Principal, event_id: int) -> EventView:
    """Close the plan: the actual emissions are accounted (plan → accounted)."""
    with unit_of_work() as session:
        event = member_event(session, principal, event_id, lock=True)
        if event.stage is not EventStage.PLAN:
            raise InvalidState(f"The event is {event.stage.value}, not in plan.", stage=event.stage.value)
        if totals_in(session, event.id)[Phase.ACTUAL.value] <= 0:
            raise ValidationFailed(
                "Record the actual emissions first.", errors={"sources": ["no actual emissions recorded"]}
            )
        event.stage = EventStage.ACCOUNTED
        view = view_in(session, event)
        session.expunge_all()
    return view


def declare(principal: Principal, event_id: int) -> EventView:
    """Declare the event carbon neutral once its offset order is fulfilled (offset → declared)."""
    with unit_of_work() as session:
        event = member_event(session, principal, event_id, lock=True)
        if event.stage is not EventStage.OFFSET:
            raise InvalidState(
                "Only an event whose offset is paid and its credits issued can be declared.",
                stage=event.stage.value,
            )
        event.stage = EventStage.DECLARED
        event.declared_at = utcnow()
        view = view_in(session, event)
        session.expunge_all()
    return view


def factor_table() -> list[event_factors.EventFactor]:
    """The current factor set's event factors with their sources, for forms and for the public."""
    session = read_session()
    factors = event_factors.current_in(session)
    session.rollback()
    return list(factors.factors.values())


def on_order_fulfilled(session: Session, fact: Fulfilled) -> None:
    """Order effect: the event a fulfilled offset order names moves to `offset`."""
    offset_fulfilled_in(session, fact.order)


def on_order_refunded(session: Session, fact: Refunded) -> None:
    """Order effect: a fully refunded offset order no longer offsets its event."""
    if fact.full:
        offset_refunded_in(session, fact.order)
