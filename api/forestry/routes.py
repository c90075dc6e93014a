"""Memorial forests, plots, plantings and survival checks; adopting trees and their certificates."""

from __future__ import annotations

from flask import Response, current_app, render_template

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.context import order_policy, payment_provider
from api.errors import ErrorSchema
from api.forestry.schemas import (
    AdoptionCreateSchema,
    AdoptionPlacedSchema,
    AdoptionQuerySchema,
    AdoptionSchema,
    ForestCreateSchema,
    ForestSchema,
    PlantingCreateSchema,
    PlantingRecordedSchema,
    PlantingSchema,
    PlotCreateSchema,
    PlotEnrolSchema,
    PlotSchema,
    PublicAdoptionSchema,
    SurvivalCheckCreateSchema,
    SurvivalCheckSchema,
)
from api.limits import limiter, per_caller
from api.orders.routes import IDEMPOTENCY_HEADER, _order_limit, idempotency_key
from services.certificates.adoption_certificate_pdf import render_adoption_pdf
from services.certificates.public_urls import adoption_record_url
from services.forestry import adoptions, forests, plantings
from services.forestry.adoptions import AdoptionTerms
from services.kernel.errors import NotFound

blp = Blueprint(
    "forestry",
    __name__,
    url_prefix="",
    description="Memorial forests (碳汇林纪念基地), their plots and plantings, and tree adoption (认建认养)",
)


def _page(pagination_parameters, rows_total):
    rows, total = rows_total
    pagination_parameters.item_count = total
    return rows


# -- anyone: browse forests and plots --


@blp.route("/api/v1/forests", methods=["GET"])
@blp.response(200, ForestSchema(many=True))
@blp.paginate()
def list_forests(pagination_parameters):
    """List the memorial forests, newest first."""
    return _page(
        pagination_parameters,
        forests.list_forests(pagination_parameters.page, pagination_parameters.page_size),
    )


@blp.route("/api/v1/forests/<int:forest_id>", methods=["GET"])
@blp.response(200, ForestSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such forest")
def get_forest(forest_id):
    """Read a memorial forest."""
    return forests.get_forest(forest_id)


@blp.route("/api/v1/forests/<int:forest_id>/plots", methods=["GET"])
@blp.response(200, PlotSchema(many=True))
@blp.alt_response(404, schema=ErrorSchema, description="No such forest")
@blp.paginate()
def list_plots(forest_id, pagination_parameters):
    """List a forest's plots with the trees each still has free."""
    return _page(
        pagination_parameters,
        forests.list_plots(forest_id, pagination_parameters.page, pagination_parameters.page_size),
    )


@blp.route("/api/v1/plots/<int:plot_id>", methods=["GET"])
@blp.response(200, PlotSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such plot")
def get_plot(plot_id):
    """Read a plot: species, trees taken and free, the donation per tree."""
    return forests.get_plot(plot_id)


@blp.route("/api/v1/plots/<int:plot_id>/plantings", methods=["GET"])
@blp.response(200, PlantingSchema(many=True))
@blp.alt_response(404, schema=ErrorSchema, description="No such plot")
@blp.paginate()
def list_plantings(plot_id, pagination_parameters):
    """List what was planted on a plot, with each planting's survival checks and rate."""
    return _page(
        pagination_parameters,
        plantings.list_plantings(plot_id, pagination_parameters.page, pagination_parameters.page_size),
    )


# -- the operator: forests, plots, plantings, survival --


@blp.route("/api/v1/admin/forests", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(ForestCreateSchema())
@blp.response(201, ForestSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such owner")
@blp.alt_response(409, schema=ErrorSchema, description="The code is taken")
def create_forest(data):
    """Set up a memorial forest."""
    return forests.create_forest(current_principal(), data)


@blp.route("/api/v1/admin/forests/<int:forest_id>/plots", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(PlotCreateSchema())
@blp.response(201, PlotSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such forest or credit project")
@blp.alt_response(409, schema=ErrorSchema, description="The forest has a plot of this code")
@blp.alt_response(422, schema=ErrorSchema, description="Species missing, repeated or too many")
def create_plot(data, forest_id):
    """Add a plot to a memorial forest."""
    plot = forests.create_plot(current_principal(), forest_id, data)
    return forests.get_plot(plot.id)


@blp.route("/api/v1/admin/plots/<int:plot_id>/credit-project", methods=["PUT"])
@auth_required(admin=True)
@blp.arguments(PlotEnrolSchema())
@blp.response(200, PlotSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such plot or credit project")
@blp.alt_response(409, schema=ErrorSchema, description="The plot has adoptions: its sink is the adopters'")
def enrol_plot(data, plot_id):
    """Enrol a plot's sink in a credit project (it is then not adoptable), or take it out."""
    forests.enrol_plot(current_principal(), plot_id, data["credit_project_id"])
    return forests.get_plot(plot_id)


@blp.route("/api/v1/admin/plots/<int:plot_id>/plantings", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(PlantingCreateSchema())
@blp.response(201, PlantingRecordedSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such plot")
@blp.alt_response(
    422, schema=ErrorSchema, description="Not a species of the plot, larger than it, or in the future"
)
def record_planting(data, plot_id):
    """Record trees of one species planted on a plot."""
    return plantings.record_planting(current_principal(), plot_id, data)


@blp.route("/api/v1/admin/plantings/<int:planting_id>/survival-checks", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(SurvivalCheckCreateSchema())
@blp.response(201, SurvivalCheckSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such planting")
@blp.alt_response(409, schema=ErrorSchema, description="Checked that day already")
@blp.alt_response(
    422, schema=ErrorSchema, description="More alive than planted, or a day outside the planting's"
)
def record_survival(data, planting_id):
    """Record how many trees of a planting were alive on a day."""
    return plantings.record_survival(current_principal(), planting_id, data)


@blp.route("/api/v1/admin/plantings/<int:planting_id>/survival-checks", methods=["GET"])
@auth_required(admin=True)
@blp.response(200, SurvivalCheckSchema(many=True))
@blp.alt_response(404, schema=ErrorSchema, description="No such planting")
@blp.paginate()
def list_survival(planting_id, pagination_parameters):
    """List a planting's survival checks, newest first."""
    return _page(
        pagination_parameters,
        plantings.list_checks(planting_id, pagination_parameters.page, pagination_parameters.page_size),
    )


@blp.route("/api/v1/admin/adoptions", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(AdoptionQuerySchema(), location="query")
@blp.response(200, AdoptionSchema(many=True))
@blp.paginate()
def list_all_adoptions(query, pagination_parameters):
    """List every adoption, newest first, by status or plot."""
    return _page(
        pagination_parameters,
        adoptions.list_all(pagination_parameters.page, pagination_parameters.page_size, **query),
    )


# -- adopters --


@blp.route("/api/v1/adoptions", methods=["POST"])
@limiter.limit(_order_limit, key_func=per_caller)
@auth_required()
@blp.arguments(AdoptionCreateSchema())
@blp.response(201, AdoptionPlacedSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such plot")
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description="Not enough free trees, the plot is partly adopted (whole_plot), or its sink is sold as credits",
)
@blp.alt_response(
    422,
    schema=ErrorSchema,
    description="Invalid adoption, reused Idempotency-Key, or a holder name WeChat's content security "
    "check refused (`content_refused`)",
)
@blp.doc(parameters=[IDEMPOTENCY_HEADER])
def adopt(data):
    """Adopt trees of a plot (or the whole plot) for a donation; gives the payment to make."""
    return adoptions.adopt(
        current_principal(),
        data,
        AdoptionTerms.from_settings(current_app.config),
        order_policy(),
        payment_provider(),
        idempotency_key(),
    )


@blp.route("/api/v1/me/adoptions", methods=["GET"])
@auth_required()
@blp.response(200, AdoptionSchema(many=True))
@blp.paginate()
def list_mine(pagination_parameters):
    """List my own adoptions, newest first."""
    return _page(
        pagination_parameters,
        adoptions.list_mine(current_principal(), pagination_parameters.page, pagination_parameters.page_size),
    )


@blp.route("/api/v1/organisations/<int:organisation_id>/adoptions", methods=["GET"])
@auth_required()
@blp.response(200, AdoptionSchema(many=True))
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the organisation")
@blp.paginate()
def list_organisation(organisation_id, pagination_parameters):
    """List my organisation's adoptions, newest first."""
    return _page(
        pagination_parameters,
        adoptions.list_for_organisation(
            current_principal(), organisation_id, pagination_parameters.page, pagination_parameters.page_size
        ),
    )


@blp.route("/api/v1/adoptions/<int:adoption_id>", methods=["GET"])
@auth_required()
@blp.response(200, AdoptionSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such adoption of mine")
def get_adoption(adoption_id):
    """Read one of my (or my organisation's) adoptions."""
    return adoptions.get_adoption(current_principal(), adoption_id)


@blp.route("/api/v1/adoptions/<int:adoption_id>/certificate.pdf", methods=["GET"])
@auth_required()
@blp.response(200, content_type="application/pdf", description="The adoption's certificate")
@blp.alt_response(404, schema=ErrorSchema, description="No such adoption of mine")
@blp.alt_response(409, schema=ErrorSchema, description="Not paid yet")
def certificate(adoption_id):
    """The adoption's certificate: forest, plot, species and trees, with a QR code to verify it."""
    record = adoptions.certificate_record(current_principal(), adoption_id)
    url = adoption_record_url(current_app.config["PUBLIC_BASE_URL"], record["code"])
    return Response(
        render_adoption_pdf(record, url),
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="adoption-{record["certificate_number"]}.pdf"'
        },
    )


# -- anyone: verify an adoption --


@blp.route("/api/v1/public/adoptions/<code>", methods=["GET"])
@blp.response(200, PublicAdoptionSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No paid adoption has this code")
def public_adoption(code):
    """Verify an adoption by its code: the forest, plot, species, trees and plantings; the adopter masked."""
    return adoptions.public_record(code)


@blp.route("/adoptions/<code>", methods=["GET"])
@blp.response(200, content_type="text/html", description="Mobile-friendly record of a paid adoption")
@blp.alt_response(404, content_type="text/html", description="No paid adoption has this code")
def adoption_page(code):
    """The page a phone opens from an adoption certificate's QR code."""
    try:
        record = adoptions.public_record(code)
    except NotFound as exc:
        return Response(render_template("adoption_record.html", record=None, message=exc.message), 404)
    return Response(render_template("adoption_record.html", record=record), 200)
