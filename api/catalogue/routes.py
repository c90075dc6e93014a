"""The public catalogue: projects with what they have for sale and at what price; no login."""

from __future__ import annotations

from api.blueprint import Blueprint
from api.catalogue.schemas import (
    CatalogueOwnerSchema,
    CatalogueProjectDetailSchema,
    CatalogueProjectSchema,
    CreditKindSchema,
    OneYuanProductSchema,
    OwnerFilterSchema,
    ProjectFilterSchema,
)
from api.context import order_policy
from api.errors import ErrorSchema
from services.sales import catalogue

blp = Blueprint(
    "catalogue",
    __name__,
    url_prefix="/api/v1/catalogue",
    description="What the issued-credit pool sells: projects, their owners, credit kinds and prices",
)


@blp.route("/projects")
@blp.arguments(ProjectFilterSchema(), location="query")
@blp.response(200, CatalogueProjectSchema(many=True))
@blp.paginate()
def list_projects(filters, pagination_parameters):
    """List projects with available tonnes and what an order of each of their products charges."""
    items, total = catalogue.list_projects(
        policy=order_policy(),
        page=pagination_parameters.page,
        page_size=pagination_parameters.page_size,
        **filters,
    )
    pagination_parameters.item_count = total
    return items


@blp.route("/projects/<int:project_id>")
@blp.response(200, CatalogueProjectDetailSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such project")
def get_project(project_id: int):
    """Show one project with its batches and their registry serials."""
    return catalogue.get_project(project_id, policy=order_policy())


@blp.route("/one-yuan")
@blp.response(200, OneYuanProductSchema)
def one_yuan():
    """Show the one-yuan carbon sink: a fixed price per unit whatever the project, and its kinds."""
    return catalogue.one_yuan_product(order_policy())


@blp.route("/kinds")
@blp.response(200, CreditKindSchema(many=True))
def list_kinds():
    """List the credit kinds (FFCER, CCER, forestry carbon tickets, ...)."""
    return catalogue.list_kinds()


@blp.route("/owners")
@blp.arguments(OwnerFilterSchema(), location="query")
@blp.response(200, CatalogueOwnerSchema(many=True))
@blp.paginate()
def list_owners(filters, pagination_parameters):
    """List project owners (forest farmers, village collectives) a buyer can choose from."""
    items, total = catalogue.list_owners(
        page=pagination_parameters.page, page_size=pagination_parameters.page_size, **filters
    )
    pagination_parameters.item_count = total
    return items
