"""Green tiers: my tier by settled lifetime earned carbon points."""

from __future__ import annotations

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.context import tier_policy
from api.tiers.schemas import MyTierSchema
from services.points import tiers

blp = Blueprint("tiers", __name__, url_prefix="/api/v1", description="Green tiers (浅绿 / 中绿 / 深绿)")


@blp.route("/me/tier", methods=["GET"])
@auth_required()
@blp.response(200, MyTierSchema)
def my_tier():
    """My green tier by settled points, the points to the next tier, and my pending points."""
    return tiers.my_tier(current_principal().user_id, tier_policy())
