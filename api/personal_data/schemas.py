"""Schemas of account deletion requests, their admin list and runs, and the personal-data export."""

import marshmallow as ma
from marshmallow import validate

from api.fields import Integer, UtcDateTime
from models import DeletionCanceller, DeletionStatus


class DeletionRequestSchema(ma.Schema):
    confirm = ma.fields.Boolean(
        required=True,
        truthy={True},
        falsy={False},
        validate=validate.Equal(True, error="Send `confirm: true` to ask for the deletion of your account."),
        metadata={"description": "Must be true: the deletion cannot be undone once carried out"},
    )


class DeletionSchema(ma.Schema):
    id = Integer(required=True)
    status = ma.fields.Enum(DeletionStatus, by_value=True, required=True)
    requested_at = UtcDateTime(required=True, attribute="created_at")
    due_at = UtcDateTime(
        required=True,
        metadata={"description": "End of the cooling-off period: the deletion is carried out from then on"},
    )
    cancelled_at = UtcDateTime(allow_none=True)
    cancelled_by = ma.fields.Enum(
        DeletionCanceller,
        by_value=True,
        allow_none=True,
        metadata={"description": "`user`: you cancelled it; `login`: you logged in again"},
    )
    completed_at = UtcDateTime(allow_none=True)


class AdminDeletionSchema(DeletionSchema):
    user_id = Integer(required=True)
    completed_by = Integer(allow_none=True, metadata={"description": "The admin who ran it; null: the job"})


class DeletionFilterSchema(ma.Schema):
    status = ma.fields.Enum(DeletionStatus, by_value=True)


class DeletionRunSchema(ma.Schema):
    completed = Integer(required=True, metadata={"description": "Accounts deleted by this run"})
    deferred = Integer(
        required=True,
        metadata={"description": "Due, but an order or refund of the user may still move; tried again later"},
    )


class DataExportSchema(ma.Schema):
    """The shape of the export; every section is an array of that section's rows, whole."""

    format = ma.fields.String(required=True)
    format_version = Integer(required=True)
    generated_at = UtcDateTime(required=True)
    user_id = Integer(required=True)
    profile = ma.fields.Dict(required=True)
    wechat_session_key = ma.fields.Dict(
        required=True, metadata={"description": "Whether one is held, never it"}
    )
    privacy = ma.fields.Dict(required=True)
    points_balance = ma.fields.Dict(allow_none=True)
    phone = ma.fields.Dict(
        allow_none=True,
        metadata={
            "description": "Your bound phone number in full (decrypted: it is yours); null: none bound"
        },
    )
    privacy_acceptances = ma.fields.List(ma.fields.Dict(), required=True)
    account_deletions = ma.fields.List(ma.fields.Dict(), required=True)
    sessions = ma.fields.List(
        ma.fields.Dict(), required=True, metadata={"description": "Login tokens, without them"}
    )
    organisation_memberships = ma.fields.List(ma.fields.Dict(), required=True)
    organisation_invitations = ma.fields.List(ma.fields.Dict(), required=True)
    consents = ma.fields.List(ma.fields.Dict(), required=True)
    partner_reads = ma.fields.List(ma.fields.Dict(), required=True)
    orders = ma.fields.List(ma.fields.Dict(), required=True)
    refunds = ma.fields.List(ma.fields.Dict(), required=True)
    certificates = ma.fields.List(ma.fields.Dict(), required=True)
    points_ledger = ma.fields.List(ma.fields.Dict(), required=True)
    actions = ma.fields.List(ma.fields.Dict(), required=True)
    action_reviews = ma.fields.List(ma.fields.Dict(), required=True)
    werun_uploads = ma.fields.List(ma.fields.Dict(), required=True)
    reductions_sold = ma.fields.List(ma.fields.Dict(), required=True)
    reduction_proceeds = ma.fields.List(ma.fields.Dict(), required=True)
    footprints = ma.fields.List(ma.fields.Dict(), required=True)
    redemptions = ma.fields.List(ma.fields.Dict(), required=True)
    tree_adoptions = ma.fields.List(ma.fields.Dict(), required=True)
    subscribe_allowances = ma.fields.List(
        ma.fields.Dict(), required=True, metadata={"description": "Subscribe-message templates you allowed"}
    )
    subscribe_messages = ma.fields.List(
        ma.fields.Dict(),
        required=True,
        metadata={"description": "Subscribe messages sent or to be sent to you"},
    )
    complete = ma.fields.Boolean(
        required=True, metadata={"description": "Always true at the end: a download without it was cut short"}
    )
