"""Schemas of the privacy guide and of a user's acceptance of it."""

import marshmallow as ma
from marshmallow import validate

from api.fields import UtcDateTime
from services.accounts.privacy_guide import BODY_MAX, TITLE_MAX


class GuideSchema(ma.Schema):
    version = ma.fields.String(required=True, metadata={"description": "Send it back as `privacy_version`"})
    title = ma.fields.String(required=True)
    body = ma.fields.String(required=True, metadata={"description": "The guide's text (Markdown)"})
    published_at = UtcDateTime(
        allow_none=True, metadata={"description": "Null for the guide the service ships with"}
    )
    current = ma.fields.Boolean(required=True, metadata={"description": "Users must accept this version"})


class GuideBriefSchema(ma.Schema):
    version = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    published_at = UtcDateTime(allow_none=True)
    current = ma.fields.Boolean(required=True)


class GuidePublishSchema(ma.Schema):
    version = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "A new id: letters, digits, `. _ -` (e.g. a date, `2027-01-15`)"},
    )
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=TITLE_MAX))
    body = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=BODY_MAX),
        metadata={
            "description": "Markdown; `{{contact}}`, `{{cooling_off_days}}` and `{{action_max_age_days}}` "
            "are filled in from the settings when served"
        },
    )


class AcceptanceSchema(ma.Schema):
    version = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "The version shown to the user (normally the current one)"},
    )


class PrivacyStatusSchema(ma.Schema):
    current_version = ma.fields.String(required=True)
    accepted_version = ma.fields.String(allow_none=True)
    acceptance_required = ma.fields.Boolean(required=True)
