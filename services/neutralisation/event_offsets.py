"""Offsetting an accounted event: a quote for its actual emissions, then one credits order.

An event is neutralised within one year of its end (Guangdong DB44/T 2639-2025): after its
`offset_deadline` (Beijing date) neither a quote nor an order is given.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from models import Channel, Event, EventStage, OrderStatus, Organisation, Phase
from models.database import read_session, unit_of_work
from payments.interface import PaymentProvider
from services.accounts.tokens import Principal
from services.kernel import beijing_time
from services.kernel.errors import Conflict, DeadlinePassed, InvalidState
from services.neutralisation import events
from services.sales import credit_purchase, orders
from services.sales.credit_purchase import Purchase, PurchaseTerms
from services.sales.order_policy import OrderPolicy


def _accounted(principal: Principal, event_id: int) -> tuple[Event, int]:
    session = read_session()
    event = events.member_event(session, principal, event_id)
    if event.stage is not EventStage.ACCOUNTED:
        raise InvalidState(
            f"Only an accounted event can be offset; this one is {event.stage.value}.",
            stage=event.stage.value,
        )
    if beijing_time.today() > event.offset_deadline:
        raise DeadlinePassed(
            f"The event ended on {event.end_date.isoformat()}; it had to be neutralised within one year, "
            f"by {event.offset_deadline.isoformat()} (DB44/T 2639-2025).",
            errors={"end_date": [f"offset deadline {event.offset_deadline.isoformat()} has passed"]},
        )
    grams = credit_purchase.round_up_to_kg(events.totals_in(session, event.id)[Phase.ACTUAL.value])
    return event, grams


def quote(principal: Principal, event_id: int, kinds: tuple[str, ...]) -> dict[str, Any]:
    """The grams to offset (actual total rounded up to the kg) and the projects that can supply them."""
    event, grams = _accounted(principal, event_id)
    return {
        "event_id": event.id,
        "grams": grams,
        "kinds": list(kinds),
        "options": credit_purchase.quote(grams, kinds),
    }


def offset(
    principal: Principal,
    event_id: int,
    project_id: int,
    method: str,
    terms: PurchaseTerms,
    policy: OrderPolicy,
    provider: PaymentProvider,
) -> Purchase:
    """Order the credits that offset the event; one live offset order per event."""
    event, grams = _accounted(principal, event_id)
    session = read_session()
    previous = event.offset_order_no
    existing = events.offset_order_in(session, event)
    if existing is not None and existing.status in events.LIVE_ORDER_STATES:
        raise Conflict(
            f"Order {existing.out_trade_no} already offsets this event.", order=existing.out_trade_no
        )
    buyer = event.organisation_id
    holder = session.get(Organisation, buyer).name
    session.rollback()
    purchase = credit_purchase.buy(
        principal,
        organisation_id=buyer,
        grams=grams,
        project_id=project_id,
        method=method,
        channel=Channel.EVENT,
        source_type="event",
        source_id=str(event_id),
        holder_name=holder,
        terms=terms,
        policy=policy,
        provider=provider,
    )
    with unit_of_work() as session:
        # The order row first, as fulfilment takes it: a payment that lands while the event is being
        # claimed is either seen here as fulfilled or finds the event claimed when it fulfils.
        order = orders.lock_order(session, purchase.order.id)
        claimed = session.execute(
            update(Event)
            .where(
                Event.id == event_id,
                Event.offset_order_no.is_(None) if previous is None else Event.offset_order_no == previous,
            )
            .values(offset_order_no=order.out_trade_no)
        ).rowcount
        if claimed and order.status is OrderStatus.FULFILLED:
            events.offset_fulfilled_in(session, order)
    if not claimed:
        # Another offset order won the race; give this one's grams back.
        orders.expire_order(purchase.order.id, "another offset order was placed for the event")
        raise Conflict("Another offset order was just placed for this event.")
    return purchase
