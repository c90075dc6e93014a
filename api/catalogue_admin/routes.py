"""Admin endpoints for credit kinds, project owners, projects and their prices; every write is audited."""

from __future__ import annotations

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.catalogue_admin.schemas import (
    KindCreateSchema,
    KindPriceSchema,
    KindSchema,
    KindUpdateSchema,
    OwnerCreateSchema,
    OwnerSchema,
    OwnerUpdateSchema,
    ProjectCreateSchema,
    ProjectFilterSchema,
    ProjectPriceSchema,
    ProjectSchema,
    ProjectUpdateSchema,
)
from api.errors import ErrorSchema
from services.pool import catalogue_admin

blp = Blueprint(
    "catalogue_admin",
    __name__,
    url_prefix="/api/v1/admin",
    description="Admin: credit kinds, project owners, projects and prices",
)


def _actor() -> int:
    return current_principal().user_id


@blp.route("/kinds", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(KindCreateSchema())
@blp.response(201, KindSchema)
@blp.alt_response(409, schema=ErrorSchema, description="A kind with this code exists")
def create_kind(data):
    """Add a credit kind."""
    return catalogue_admin.create_kind(_actor(), data)


@blp.route("/kinds/<string:code>", methods=["PATCH"])
@auth_required(admin=True)
@blp.arguments(KindUpdateSchema())
@blp.response(200, KindSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such kind")
def update_kind(changes, code: str):
    """Change a credit kind."""
    return catalogue_admin.update_kind(_actor(), code, changes)


@blp.route("/kinds/<string:code>/price", methods=["PUT"])
@auth_required(admin=True)
@blp.arguments(KindPriceSchema())
@blp.response(200, KindSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such kind")
def set_kind_price(data, code: str):
    """Set a credit kind's price per tonne."""
    return catalogue_admin.set_kind_price(_actor(), code, data["price_fen_per_t"])


@blp.route("/owners", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(OwnerCreateSchema())
@blp.response(201, OwnerSchema)
@blp.alt_response(409, schema=ErrorSchema, description="An owner with this name exists")
def create_owner(data):
    """Add a project owner."""
    return catalogue_admin.create_owner(_actor(), data)


@blp.route("/owners/<int:owner_id>", methods=["PATCH"])
@auth_required(admin=True)
@blp.arguments(OwnerUpdateSchema())
@blp.response(200, OwnerSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such owner")
@blp.alt_response(409, schema=ErrorSchema, description="An owner with this name exists")
def update_owner(changes, owner_id: int):
    """Change a project owner."""
    return catalogue_admin.update_owner(_actor(), owner_id, changes)


@blp.route("/projects", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(ProjectFilterSchema(), location="query")
@blp.response(200, ProjectSchema(many=True))
@blp.paginate()
def list_projects(filters, pagination_parameters):
    """List projects with their own and effective prices."""
    items, total = catalogue_admin.list_projects(
        page=pagination_parameters.page, page_size=pagination_parameters.page_size, **filters
    )
    pagination_parameters.item_count = total
    return items


@blp.route("/projects", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(ProjectCreateSchema())
@blp.response(201, ProjectSchema)
@blp.alt_response(409, schema=ErrorSchema, description="A project with this code exists")
def create_project(data):
    """Add a project."""
    return catalogue_admin.create_project(_actor(), data)


@blp.route("/projects/<int:project_id>", methods=["GET"])
@auth_required(admin=True)
@blp.response(200, ProjectSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such project")
def get_project(project_id: int):
    """Show a project."""
    return catalogue_admin.get_project(project_id)


@blp.route("/projects/<int:project_id>", methods=["PATCH"])
@auth_required(admin=True)
@blp.arguments(ProjectUpdateSchema())
@blp.response(200, ProjectSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such project")
def update_project(changes, project_id: int):
    """Change a project."""
    return catalogue_admin.update_project(_actor(), project_id, changes)


@blp.route("/projects/<int:project_id>/price", methods=["PUT"])
@auth_required(admin=True)
@blp.arguments(ProjectPriceSchema())
@blp.response(200, ProjectSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such project")
def set_project_price(data, project_id: int):
    """Set or clear a project's own price per tonne."""
    return catalogue_admin.set_project_price(_actor(), project_id, data["price_fen_per_t"])
