"""Endpoints of personal reductions sold as credits: the admin builds monthly batches and takes them
through issuance into the pool; each user reads their own statement."""

from __future__ import annotations

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.reductions.schemas import (
    MethodologyMonthSchema,
    MyReductionSchema,
    ReductionBatchQuerySchema,
    ReductionBatchSchema,
    ReductionBuildSchema,
    ReductionContributorSchema,
    ReductionIssueSchema,
    ReductionMonthQuerySchema,
    ReductionRejectSchema,
    ReductionSubmitSchema,
)
from services.reductions import batch_building, issuance, reduction_batches, statement

blp = Blueprint(
    "reductions",
    __name__,
    url_prefix="/api/v1",
    description="Personal reductions batched monthly, issued, sold, and the proceeds shared back as points",
)


def _actor() -> int:
    return current_principal().user_id


@blp.route("/me/reductions/batches", methods=["GET"])
@auth_required()
@blp.response(200, MyReductionSchema(many=True))
@blp.paginate()
def my_reductions(pagination_parameters):
    """My reductions: grams in each batch, its status, my share sold and the points earned."""
    items, total = statement.my_reductions(
        _actor(), page=pagination_parameters.page, page_size=pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return items


@blp.route("/admin/reduction-batches/eligible", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(ReductionMonthQuerySchema(), location="query")
@blp.response(200, MethodologyMonthSchema(many=True))
def eligible(query):
    """A month's actions by methodology: eligible now, under review, refused, already batched."""
    return batch_building.month_summary(batch_building.parse_month(query["month"]))


@blp.route("/admin/reduction-batches", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(ReductionBuildSchema())
@blp.response(201, ReductionBatchSchema(many=True))
@blp.alt_response(409, schema=ErrorSchema, description="Nothing left to batch, or a concurrent build took it")
@blp.alt_response(422, schema=ErrorSchema, description="A month not closed yet, or bad input")
def build(body):
    """Batch a closed month's reviewed, unflagged actions: one draft batch per methodology."""
    return batch_building.build_batches(
        _actor(), batch_building.parse_month(body["month"]), body.get("methodology"), note=body["note"]
    )


@blp.route("/admin/reduction-batches", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(ReductionBatchQuerySchema(), location="query")
@blp.response(200, ReductionBatchSchema(many=True))
@blp.paginate()
def list_batches(query, pagination_parameters):
    """List reduction batches, newest first."""
    if "month" in query:
        query["month"] = batch_building.parse_month(query["month"])
    items, total = reduction_batches.list_batches(
        page=pagination_parameters.page, page_size=pagination_parameters.page_size, **query
    )
    pagination_parameters.item_count = total
    return items


@blp.route("/admin/reduction-batches/<int:batch_id>", methods=["GET"])
@auth_required(admin=True)
@blp.response(200, ReductionBatchSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such batch")
def get_batch(batch_id: int):
    """Read a reduction batch with its pool batch and proceeds."""
    return reduction_batches.get_batch(batch_id)


@blp.route("/admin/reduction-batches/<int:batch_id>/contributors", methods=["GET"])
@auth_required(admin=True)
@blp.response(200, ReductionContributorSchema(many=True))
@blp.alt_response(404, schema=ErrorSchema, description="No such batch")
@blp.paginate()
def contributors(batch_id: int, pagination_parameters):
    """List a batch's contributors, most grams first, with what its sales gave them."""
    items, total = reduction_batches.list_contributors(
        batch_id, page=pagination_parameters.page, page_size=pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return items


@blp.route("/admin/reduction-batches/<int:batch_id>/submit", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(ReductionSubmitSchema())
@blp.response(200, ReductionBatchSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such batch")
@blp.alt_response(409, schema=ErrorSchema, description="The batch is not a draft")
@blp.alt_response(422, schema=ErrorSchema, description="No application reference")
def submit(body, batch_id: int):
    """Record that a draft batch was filed at the registry for issuance."""
    return issuance.submit(_actor(), batch_id, body["application_ref"])


@blp.route("/admin/reduction-batches/<int:batch_id>/issue", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(ReductionIssueSchema())
@blp.response(200, ReductionBatchSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such batch")
@blp.alt_response(409, schema=ErrorSchema, description="The batch is not submitted")
@blp.alt_response(
    422,
    schema=ErrorSchema,
    description="More than the batch's grams, not whole tonnes, serials taken, bad dates",
)
def issue(body, batch_id: int):
    """Record the registry's issuance and enter the batch in the pool, for sale."""
    return issuance.issue(_actor(), batch_id, issuance.Issuance(**body))


@blp.route("/admin/reduction-batches/<int:batch_id>/reject", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(ReductionRejectSchema())
@blp.response(200, ReductionBatchSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such batch")
@blp.alt_response(409, schema=ErrorSchema, description="The batch is not submitted")
@blp.alt_response(422, schema=ErrorSchema, description="No reason")
def reject(body, batch_id: int):
    """Record that the registry refused a submitted batch; its actions are not offered again."""
    return issuance.reject(_actor(), batch_id, body["reason"])
