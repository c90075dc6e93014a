"""The public transparency report: issued, sold and retired credits per project, without login."""

from __future__ import annotations

from flask import current_app

from api.blueprint import Blueprint
from api.transparency.schemas import TransparencySchema
from services.reporting import transparency

blp = Blueprint(
    "transparency", __name__, url_prefix="/api/v1/transparency", description="Public transparency"
)


@blp.route("", methods=["GET"])
@blp.response(200, TransparencySchema)
def report():
    """Issued, sold and retired credits per project and in total, with every registry retirement."""
    return transparency.report(current_app.config["TRANSPARENCY_CACHE_S"])
