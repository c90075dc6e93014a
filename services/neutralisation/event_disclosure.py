"""The public disclosure of a published event: boundary, sources, factors, totals and credits.

Anyone may read it without login, under the event's public code (its id opens nothing). The
credits are those of the offset order's valid certificate, each serial with its registry retirement
status, so that the claim can be checked down to the tonne.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Certificate, Event, EventStage, Phase
from models.database import unit_of_work
from models.public_codes import parse_code
from services.accounts import content_check
from services.certificates import certificates
from services.kernel.errors import NotFound
from services.neutralisation import event_factors, events
from services.neutralisation.events import EventView


def credits_in(session: Session, order_id: int | None) -> dict[str, Any] | None:
    """The valid certificate of an order and its serials with their retirement status (and, once
    retired, the registry's reference and date, which the certificate PDFs print)."""
    if order_id is None:
        return None
    certificate: Certificate | None = certificates.current_for_order(session, order_id)
    if certificate is None:
        return None
    retired = certificates.registry_retirements_of(session, certificate)
    return {
        "certificate_number": certificate.number,
        "verification_code": certificate.verification_code,
        "grams": certificate.grams,
        "serials": [
            {
                "serial": claim["serial"],
                "project_code": claim["project_code"],
                "project_name": claim["project_name"],
                "kind": claim["kind"],
                "vintage": claim["vintage"],
                "grams": claim["grams"],
                "registry_url": claim.get("registry_url"),
                "retirement": "retired" if claim["serial"] in retired else "pending",
                "registry_ref": retired[claim["serial"]].registry_ref if claim["serial"] in retired else None,
                "retired_on": retired[claim["serial"]].retired_on if claim["serial"] in retired else None,
            }
            for claim in certificate.claims or []
        ],
    }


def _source_row(source: Any) -> dict[str, Any]:
    return {
        "kind": source.kind.value,
        "description": source.description,
        "activity": source.activity,
        "activity_unit": source.activity_unit,
        "factor_key": source.factor_key,
        "factor_set_version": source.factor_set_version,
        "factor_kg_per_unit": source.factor_kg_per_unit,
        "factor_source": source.factor_source,
        "grams": source.grams,
    }


def disclosure_of(view: EventView, credits: dict[str, Any] | None) -> dict[str, Any]:
    event = view.event
    phases: dict[str, Any] = {}
    for phase in Phase:
        travel: dict[str, dict[str, Any]] = {}
        for group in (g for g in view.travel if g.phase is phase):
            row = travel.setdefault(
                group.mode.value, {"mode": group.mode.value, "attendees": 0, "passenger_km": 0}
            )
            row["attendees"] += group.attendees
            row["passenger_km"] += group.passenger_km
        phases[phase.value] = {
            "sources": [_source_row(s) for s in view.sources if s.phase is phase],
            "travel_by_mode": list(travel.values()),
            "total_grams": view.totals[phase.value],
        }
    order = view.offset_order
    return {
        "code": event.public_code,
        "name": event.name,
        "organisation": view.organisation_name,
        "start_date": event.start_date,
        "end_date": event.end_date,
        "venue_city": event.venue_city,
        "expected_attendees": event.expected_attendees,
        "actual_attendees": event.actual_attendees,
        "stage": event.stage.value,
        "offset_deadline": event.offset_deadline,
        "offset_at": event.offset_at,
        "declared_at": event.declared_at,
        "boundary": event.boundary,
        "reduction_measures": event.reduction_measures,
        "offset_plan": event.offset_plan,
        "distance_method": event_factors.DISTANCE_METHOD,
        "estimate": phases[Phase.ESTIMATE.value],
        "actual": phases[Phase.ACTUAL.value],
        "offset": {
            "order": order.out_trade_no if order is not None else None,
            "order_status": order.status.value if order is not None else None,
            "grams": order.grams if order is not None else None,
            "credits": credits,
        },
        "neutral": event.stage in (EventStage.OFFSET, EventStage.DECLARED)
        and credits is not None
        and credits["grams"] >= view.totals[Phase.ACTUAL.value],
    }


def public_disclosure(code: str) -> dict[str, Any]:
    """What anyone may read about a published event, found by its public code (never by its id)."""
    with unit_of_work() as session:
        key = parse_code(code)
        event = None if key is None else session.scalar(select(Event).where(Event.public_code == key))
        if event is None or not event.published:
            raise NotFound("No published event has this code.")
        view = events.view_in(session, event)
        body = disclosure_of(view, credits_in(session, view.offset_order.id if view.offset_order else None))
    if view.name_status != "pass":
        # Not passed by WeChat's content security check yet (or withheld): the page and poster say —.
        body["name"] = content_check.PLACEHOLDER
    return body


def member_disclosure(principal: Any, event_id: int) -> dict[str, Any]:
    """The same document for the organisation's members, published or not (for the certificate)."""
    with unit_of_work() as session:
        event = events.member_event(session, principal, event_id)
        view = events.view_in(session, event)
        body = disclosure_of(view, credits_in(session, view.offset_order.id if view.offset_order else None))
    return body
