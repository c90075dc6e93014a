"""Schemas of an organisation's carbon points."""

import marshmallow as ma

from api.fields import Integer
from api.tiers.schemas import TierStatusSchema
from models import PointsKind, PointsSource


class OrganisationPointsSchema(ma.Schema):
    organisation_id = Integer(required=True)
    settled = Integer(
        required=True,
        metadata={"description": "Points of the organisation's purchases whose refund window has closed"},
    )
    pending = Integer(
        required=True, metadata={"description": "Points of its purchases still in their refund window"}
    )
    tier = ma.fields.Nested(TierStatusSchema, required=True, metadata={"description": "By settled points"})


class OrganisationPointsEntrySchema(ma.Schema):
    id = Integer(required=True)
    kind = ma.fields.Enum(
        PointsKind, by_value=True, required=True, metadata={"description": "`earn`, or `reverse` (a refund)"}
    )
    points = Integer(required=True)
    reason = ma.fields.String(required=True)
    source_type = ma.fields.Enum(PointsSource, by_value=True, required=True)
    source_id = ma.fields.String(required=True)
    available_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "When the points settle (their refund window closes)"}
    )
    created_at = ma.fields.DateTime(required=True)
