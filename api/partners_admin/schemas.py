"""Schemas of bank partners as admins see them."""

import marshmallow as ma
from marshmallow import validate

from api.fields import Integer


class PartnerCreateSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))


class PartnerUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    active = ma.fields.Boolean(metadata={"description": "An inactive partner's requests are refused"})


class PartnerSchema(ma.Schema):
    id = Integer(required=True)
    name = ma.fields.String(required=True)
    key_id = ma.fields.String(required=True, metadata={"description": "Sent by the partner in X-Partner-Key"})
    active = ma.fields.Boolean(required=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class PartnerWithSecretSchema(PartnerSchema):
    secret = ma.fields.String(
        required=True, metadata={"description": "The signing secret; shown this once, store it safely"}
    )
