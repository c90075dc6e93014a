"""Rankings of reductions and offsets by day, week and all time, global or by city; the caller's own rank."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from marshmallow import validate

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.fields import Day, Integer
from services.points import rankings

blp = Blueprint("rankings", __name__, url_prefix="/api/v1", description="Rankings")


class RankingQuerySchema(ma.Schema):
    board = ma.fields.String(
        load_default="reductions",
        validate=validate.OneOf(rankings.BOARDS),
        metadata={"description": "`reductions` (low-carbon actions) or `offsets` (credits bought)"},
    )
    period = ma.fields.String(
        load_default="week",
        validate=validate.OneOf(rankings.PERIODS),
        metadata={"description": "`day`, `week` or `all`"},
    )
    scope = ma.fields.String(
        load_default="global",
        validate=validate.OneOf(rankings.SCOPES),
        metadata={"description": "`global` or `city`"},
    )
    city = ma.fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "With scope=city: the city; default your profile city"},
    )
    date = Day(metadata={"description": "A Beijing day inside the period wanted; default today"})


class RankEntrySchema(ma.Schema):
    rank = Integer(required=True, metadata={"description": "Equal grams share a rank"})
    display_name = ma.fields.String(required=True, metadata={"description": "Masked, e.g. 张*丰"})
    score_g = Integer(required=True)
    is_me = ma.fields.Boolean(required=True)


class MyRankSchema(ma.Schema):
    board = ma.fields.String(required=True)
    period = ma.fields.String(required=True)
    period_id = ma.fields.String(
        required=True, metadata={"description": "e.g. `2026-11-22`, `2026-W47`, `all`"}
    )
    scope = ma.fields.String(required=True)
    city = ma.fields.String(allow_none=True)
    rank = Integer(allow_none=True, metadata={"description": "null until you have grams on this board"})
    score_g = Integer(required=True)
    participants = Integer(required=True)


def _options(query) -> dict:
    return {"city": query.get("city"), "on": query.get("date"), "ttl_s": current_app.config["RANKINGS_TTL_S"]}


@blp.route("/rankings")
@auth_required()
@blp.arguments(RankingQuerySchema(), location="query")
@blp.response(200, RankEntrySchema(many=True))
@blp.paginate()
@blp.alt_response(422, schema=ErrorSchema, description="Unknown board, period or scope; no city to rank by")
@blp.alt_response(503, schema=ErrorSchema, description="The ranking store cannot be reached")
def ranking(query, pagination_parameters):
    """A ranking, best first, with masked names; `X-Ranking-Period` names the day or week."""
    result = rankings.leaderboard(
        current_principal().user_id,
        query["board"],
        query["period"],
        query["scope"],
        page=pagination_parameters.page,
        page_size=pagination_parameters.page_size,
        **_options(query),
    )
    pagination_parameters.item_count = result.participants
    return result.entries, 200, {"X-Ranking-Period": result.board.period_id}


@blp.route("/me/rank")
@auth_required()
@blp.arguments(RankingQuerySchema(), location="query")
@blp.response(200, MyRankSchema)
@blp.alt_response(422, schema=ErrorSchema, description="Unknown board, period or scope; no city to rank by")
@blp.alt_response(503, schema=ErrorSchema, description="The ranking store cannot be reached")
def my_rank(query):
    """My rank and grams on a ranking."""
    return rankings.my_rank(
        current_principal().user_id, query["board"], query["period"], query["scope"], **_options(query)
    )
