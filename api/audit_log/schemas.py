"""Schemas of the audit log."""

import marshmallow as ma

from api.fields import Integer, UtcDateTime


class AuditQuerySchema(ma.Schema):
    actor_id = Integer(validate=ma.validate.Range(min=1), metadata={"description": "Who acted"})
    entity = ma.fields.String(
        validate=ma.validate.Length(max=64), metadata={"description": "e.g. `organisation`"}
    )
    entity_id = ma.fields.String(validate=ma.validate.Length(max=64))
    action = ma.fields.String(
        validate=ma.validate.Length(max=64), metadata={"description": "e.g. `admin.create`"}
    )
    since = UtcDateTime(metadata={"description": "From this moment, inclusive (UTC if no offset)"})
    until = UtcDateTime(metadata={"description": "Up to this moment, exclusive (UTC if no offset)"})

    @ma.validates_schema
    def _range_is_ordered(self, data, **_kwargs):
        if "since" in data and "until" in data and data["since"] >= data["until"]:
            raise ma.ValidationError("`until` must be later than `since`.", field_name="until")


class AuditEntrySchema(ma.Schema):
    id = Integer(required=True)
    actor_id = Integer(allow_none=True)
    action = ma.fields.String(required=True)
    entity = ma.fields.String(required=True)
    entity_id = ma.fields.String(allow_none=True)
    before = ma.fields.Raw(
        allow_none=True, metadata={"description": "The entity's columns before the change"}
    )
    after = ma.fields.Raw(allow_none=True, metadata={"description": "The entity's columns after the change"})
    at = UtcDateTime(required=True)
