"""The privacy guide (用户隐私保护指引): the current version for anyone, acceptance by users, new versions by admins."""

from __future__ import annotations

from typing import Any

from flask import current_app

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.privacy_guide.schemas import (
    AcceptanceSchema,
    GuideBriefSchema,
    GuidePublishSchema,
    GuideSchema,
    PrivacyStatusSchema,
)
from services.accounts import privacy_guide
from services.accounts.privacy_guide import GuideTerms

blp = Blueprint("privacy", __name__, url_prefix="/api/v1", description="The privacy guide and its acceptance")


def _terms() -> GuideTerms:
    return GuideTerms.from_settings(current_app.config)


@blp.route("/privacy/guide", methods=["GET"])
@blp.response(200, GuideSchema)
def guide():
    """The current privacy guide: what is collected and why, kept how long, and your rights."""
    return privacy_guide.current(_terms())


@blp.route("/privacy/guide/versions", methods=["GET"])
@blp.response(200, GuideBriefSchema(many=True))
@blp.paginate()
def versions(pagination_parameters):
    """List the versions of the privacy guide, newest first."""
    rows, total = privacy_guide.list_versions(pagination_parameters.page, pagination_parameters.page_size)
    pagination_parameters.item_count = total
    return rows


@blp.route("/privacy/guide/versions/<version>", methods=["GET"])
@blp.response(200, GuideSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such version")
def version(version: str):
    """One version of the privacy guide, current or earlier."""
    return privacy_guide.get_version(version, _terms())


@blp.route("/me/privacy-acceptance", methods=["POST"])
@auth_required()
@blp.arguments(AcceptanceSchema())
@blp.response(200, PrivacyStatusSchema)
@blp.alt_response(422, schema=ErrorSchema, description="The guide has no such version")
def accept(body: dict[str, Any]):
    """Record that I accepted this version of the privacy guide."""
    return privacy_guide.accept(current_principal().user_id, body["version"])


@blp.route("/admin/privacy/guide", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(GuidePublishSchema())
@blp.response(201, GuideSchema)
@blp.alt_response(409, schema=ErrorSchema, description="The version id is taken")
@blp.alt_response(422, schema=ErrorSchema, description="Invalid version id, title or text")
def publish(body: dict[str, Any]):
    """Publish a new version of the privacy guide, current at once: every user is asked to accept it."""
    published = privacy_guide.publish(
        current_principal().user_id, body["version"], body["title"], body["body"]
    )
    return privacy_guide.get_version(published.version, _terms())
