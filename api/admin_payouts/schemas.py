"""Schemas of owner payouts: the period asked for, payout rows and the period's net sales."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.fields import Day, Integer
from services.registry.payouts import GROUPS


class PeriodQuerySchema(ma.Schema):
    month = ma.fields.String(
        validate=[
            validate.Length(max=7),
            validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="must be YYYY-MM"),
        ],
        metadata={"description": "A month in Beijing time, e.g. 2026-11"},
    )
    since = Day(metadata={"description": "Or a range: first day (Beijing time), inclusive"})
    until = Day(metadata={"description": "Day after the last one (exclusive)"})


class PayoutQuerySchema(PeriodQuerySchema):
    group = ma.fields.String(
        load_default="project",
        validate=validate.OneOf(GROUPS),
        metadata={"description": "One row per owner and project (`project`) or per owner (`owner`)"},
    )


class PayoutRowSchema(ma.Schema):
    owner_id = Integer(allow_none=True)
    owner_name = ma.fields.String(allow_none=True)
    owner_kind = ma.fields.String(allow_none=True)
    project_id = Integer(allow_none=True, metadata={"description": "Null when grouped by owner"})
    project_code = ma.fields.String(allow_none=True)
    project_name = ma.fields.String(allow_none=True)
    kind = ma.fields.String(allow_none=True)
    sold_g = Integer(metadata={"description": "Grams of orders paid (and fulfilled) in the period"})
    refunded_g = Integer(metadata={"description": "Grams refunded in the period"})
    net_g = Integer()
    sales_fen = Integer(metadata={"description": "Fen of orders paid in the period"})
    refunded_fen = Integer(metadata={"description": "Fen refunded in the period"})
    net_fen = Integer(metadata={"description": "What the owner is owed for the period"})
    source = ma.fields.String(
        metadata={
            "enum": ["credits", "donations", "state_share"],
            "description": "credits: the project owner's sales; donations: gifts for adopted trees to the"
            " memorial forest's owner; state_share: the state's part of land-use compensation fees",
        }
    )
    forest_id = Integer(allow_none=True, metadata={"description": "The memorial forest of donations"})
    forest_name = ma.fields.String(allow_none=True)


class NetSalesSchema(ma.Schema):
    period = ma.fields.String()
    first_day = Day()
    last_day = Day()
    orders_paid = Integer()
    refunds = Integer()
    sales_fen = Integer(metadata={"description": "Paid in, from the orders"})
    refunded_fen = Integer(metadata={"description": "Refunded, from the refunds"})
    net_fen = Integer(metadata={"description": "Net sales of the period"})
    payouts_fen = Integer(metadata={"description": "Sum of all payouts; equals net_fen"})
    owners = Integer()
