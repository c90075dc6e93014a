"""Event carbon neutralisation: plan, account, offset, declare; certificate and public disclosure."""

from __future__ import annotations

from flask import Response, current_app, render_template

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.context import order_policy, payment_provider
from api.errors import ErrorSchema
from api.events.schemas import (
    AttendeeFileSchema,
    AttendeeUploadQuerySchema,
    DisclosureSchema,
    EventDetailSchema,
    EventFactorSchema,
    EventPlanSchema,
    EventPurchaseSchema,
    EventQuoteSchema,
    EventSchema,
    EventUpdateSchema,
    OffsetCreateSchema,
    SourceCreateSchema,
    SourceSchema,
    TravelUploadSchema,
)
from api.posters import NOT_MODIFIED_DESCRIPTION, POSTER_DESCRIPTION, poster_limit, poster_response
from models import Phase
from services.certificates import posters
from services.certificates.certificate_pdf import format_grams
from services.certificates.event_certificate_pdf import SOURCE_LABELS, render_event_pdf
from services.certificates.public_urls import event_disclosure_url
from services.kernel.errors import NotFound
from services.neutralisation import attendee_lists, event_disclosure, event_offsets, events
from services.sales.credit_purchase import PurchaseTerms

blp = Blueprint("events", __name__, url_prefix="", description="Event carbon neutralisation")


def _terms() -> PurchaseTerms:
    return PurchaseTerms.from_settings(current_app.config)


@blp.route("/api/v1/event-factors", methods=["GET"])
@blp.response(200, EventFactorSchema(many=True))
@blp.alt_response(409, schema=ErrorSchema, description="No factor set is published yet")
def factors():
    """The current factor set's emission factors for event accounting, each with its source."""
    return events.factor_table()


@blp.route("/api/v1/organisations/<int:organisation_id>/events", methods=["POST"])
@auth_required()
@blp.arguments(EventPlanSchema())
@blp.response(201, EventDetailSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such organisation")
@blp.alt_response(409, schema=ErrorSchema, description="No factor set is published yet")
@blp.alt_response(
    422,
    schema=ErrorSchema,
    description="Invalid plan (unknown city, dates out of order), or WeChat's content security check "
    "refused the name (`content_refused`)",
)
def create(data, organisation_id):
    """Plan an event of my organisation."""
    return events.create_event(current_principal(), organisation_id, data)


@blp.route("/api/v1/organisations/<int:organisation_id>/events", methods=["GET"])
@auth_required()
@blp.response(200, EventSchema(many=True))
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the organisation")
@blp.paginate()
def list_events(organisation_id, pagination_parameters):
    """List my organisation's events, newest first."""
    rows, total = events.list_events(
        current_principal(), organisation_id, pagination_parameters.page, pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/api/v1/events/<int:event_id>", methods=["GET"])
@auth_required()
@blp.response(200, EventDetailSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the event's organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such event")
def get(event_id):
    """An event with its sources, attendee travel and totals."""
    return events.get_event(current_principal(), event_id)


@blp.route("/api/v1/events/<int:event_id>", methods=["PATCH"])
@auth_required()
@blp.arguments(EventUpdateSchema())
@blp.response(200, EventDetailSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the event's organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such event")
@blp.alt_response(409, schema=ErrorSchema, description="The plan is frozen, or no factor set is published")
@blp.alt_response(
    422, schema=ErrorSchema, description="Invalid change, or the content security check refused the name"
)
def update(changes, event_id):
    """Change the plan, publish or unpublish the event, or set the actual attendance."""
    return events.update_event(current_principal(), event_id, changes)


@blp.route("/api/v1/events/<int:event_id>/sources", methods=["POST"])
@auth_required()
@blp.arguments(SourceCreateSchema())
@blp.response(201, SourceSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the event's organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such event")
@blp.alt_response(
    409, schema=ErrorSchema, description="This phase can no longer change, or no factor set is published"
)
@blp.alt_response(422, schema=ErrorSchema, description="Unknown factor or a custom factor without its source")
def add_source(data, event_id):
    """Record one emission source's activity data for the estimate or the actual."""
    return events.add_source(current_principal(), event_id, data)


@blp.route("/api/v1/events/<int:event_id>/sources/<int:source_id>", methods=["DELETE"])
@auth_required()
@blp.response(204)
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the event's organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such event or source")
@blp.alt_response(409, schema=ErrorSchema, description="This phase can no longer change")
def delete_source(event_id, source_id):
    """Remove one emission source."""
    events.delete_source(current_principal(), event_id, source_id)


@blp.route("/api/v1/events/<int:event_id>/attendees", methods=["POST"])
@auth_required()
@blp.arguments(AttendeeUploadQuerySchema(), location="query")
@blp.arguments(AttendeeFileSchema(), location="files")
@blp.response(200, TravelUploadSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the event's organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such event")
@blp.alt_response(
    409, schema=ErrorSchema, description="This phase can no longer change, or no factor set is published"
)
@blp.alt_response(
    422,
    schema=ErrorSchema,
    description="A bad file, or no good row: `errors` lists each fault with its row and line; nothing saved",
)
def upload_attendees(query, files, event_id):
    """Replace a phase's attendee travel from a CSV list, or add to it (`append`).

    The good rows are saved and the bad ones listed in `rejected`, each with its row, line, field
    and message; send them again, fixed, with `append=true` to complete the list.
    """
    return attendee_lists.upload_travel(
        current_principal(), event_id, Phase(query["phase"]), files["file"].read(), query["append"]
    )


@blp.route("/api/v1/events/<int:event_id>/account", methods=["POST"])
@auth_required()
@blp.response(200, EventDetailSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the event's organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such event")
@blp.alt_response(409, schema=ErrorSchema, description="Not in the plan stage")
@blp.alt_response(422, schema=ErrorSchema, description="No actual emissions recorded")
def account(event_id):
    """Close the accounting of the actual emissions (plan → accounted)."""
    return events.account(current_principal(), event_id)


@blp.route("/api/v1/events/<int:event_id>/offset-quote", methods=["GET"])
@auth_required()
@blp.response(200, EventQuoteSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the event's organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such event")
@blp.alt_response(409, schema=ErrorSchema, description="The event is not accounted")
@blp.alt_response(422, schema=ErrorSchema, description="More than a year since the event ended")
def quote(event_id):
    """The credits that can offset the event's actual emissions, by project, with prices."""
    return event_offsets.quote(current_principal(), event_id, _terms().kinds)


@blp.route("/api/v1/events/<int:event_id>/offset", methods=["POST"])
@auth_required()
@blp.arguments(OffsetCreateSchema())
@blp.response(201, EventPurchaseSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the event's organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such event or project")
@blp.alt_response(409, schema=ErrorSchema, description="Not accounted, already offset, or not enough credits")
@blp.alt_response(
    422, schema=ErrorSchema, description="Credit kind not accepted, or more than a year since the event ended"
)
def offset(data, event_id):
    """Order the credits that offset the event, paid by WeChat Pay or by bank transfer."""
    return event_offsets.offset(
        current_principal(),
        event_id,
        data["project_id"],
        data["payment"],
        _terms(),
        order_policy(),
        payment_provider(),
    )


@blp.route("/api/v1/events/<int:event_id>/declare", methods=["POST"])
@auth_required()
@blp.response(200, EventDetailSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the event's organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such event")
@blp.alt_response(409, schema=ErrorSchema, description="The offset is not fulfilled yet")
def declare(event_id):
    """Declare the event carbon neutral (offset → declared)."""
    return events.declare(current_principal(), event_id)


@blp.route("/api/v1/events/<int:event_id>/certificate.pdf", methods=["GET"])
@auth_required()
@blp.response(200, content_type="application/pdf", description="The neutralisation certificate")
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the event's organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such event")
def certificate(event_id):
    """The event's neutralisation certificate: emissions by source, chart, credits and serials."""
    disclosure = event_disclosure.member_disclosure(current_principal(), event_id)
    url = event_disclosure_url(current_app.config["PUBLIC_BASE_URL"], disclosure["code"])
    body = render_event_pdf(disclosure, url)
    return Response(
        body,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="event-{event_id}-certificate.pdf"'},
    )


@blp.route("/api/v1/public/events/<code>", methods=["GET"])
@blp.response(200, DisclosureSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No published event has this code")
def disclosure(code):
    """The public disclosure of a published event, by its public code, without login."""
    return event_disclosure.public_disclosure(code)


@blp.route("/api/v1/public/events/<code>/poster.png", methods=["GET"])
@poster_limit()
@blp.response(200, content_type="image/png", description=POSTER_DESCRIPTION)
@blp.alt_response(304, description=NOT_MODIFIED_DESCRIPTION)
@blp.alt_response(404, schema=ErrorSchema, description="No published event has this code")
@blp.alt_response(503, schema=ErrorSchema, description="No font with Chinese glyphs is installed")
def poster(code):
    """A published event's share poster, without login: its emissions, offset and a code to the disclosure."""
    disclosure = event_disclosure.public_disclosure(code)
    return poster_response(posters.event_poster(disclosure, current_app.config["PUBLIC_BASE_URL"]))


@blp.route("/events/<code>/disclosure", methods=["GET"])
@blp.response(200, content_type="text/html", description="Mobile-friendly disclosure page")
@blp.alt_response(404, content_type="text/html", description="No published event has this code")
def disclosure_page(code):
    """The public disclosure page of a published event, by its public code."""
    try:
        body = event_disclosure.public_disclosure(code)
    except NotFound as exc:
        return Response(render_template("event_disclosure.html", event=None, message=exc.message), 404)
    page = render_template(
        "event_disclosure.html", event=body, labels=SOURCE_LABELS, format_grams=format_grams
    )
    return Response(page, 200)
