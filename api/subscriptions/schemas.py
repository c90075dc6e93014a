"""Schemas of subscribe messages: the results the mini-program reports, the sends left."""

import marshmallow as ma
from marshmallow import validate

from api.fields import Entries, Integer
from models import SUBSCRIBE_RESULTS, MessageKind
from services.notifications.message_settings import TEMPLATE_ID_MAX
from services.notifications.subscriptions import MAX_RESULTS

RESULTS_ENTRIES = Entries(1, MAX_RESULTS)


class SubscribeResultsSchema(ma.Schema):
    results = ma.fields.Dict(
        required=True,
        keys=ma.fields.String(validate=validate.Length(min=1, max=TEMPLATE_ID_MAX)),
        values=ma.fields.String(validate=validate.OneOf(SUBSCRIBE_RESULTS)),
        validate=RESULTS_ENTRIES,
        metadata={
            **RESULTS_ENTRIES.described(),
            "description": "What `wx.requestSubscribeMessage` answered for each template id (its "
            "`errMsg` left out): `accept` allows one message of that template.",
            "example": {"TEMPLATE_ID": "accept"},
        },
    )


class AllowanceSchema(ma.Schema):
    kind = ma.fields.Enum(MessageKind, by_value=True, required=True)
    template_id = ma.fields.String(required=True)
    remaining = Integer(required=True, metadata={"description": "Messages of this template still allowed"})
    last_result = ma.fields.String(
        allow_none=True, metadata={"description": "The last result reported: accept, reject, ban or filter"}
    )
