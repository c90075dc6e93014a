"""Schemas of the sandbox's WeRun payload: the days asked for and the `{encryptedData, iv}` made."""

import marshmallow as ma
from marshmallow import validate

from api.fields import Day, Integer
from services.actions.sandbox_werun import MAX_STEPS
from services.actions.werun import MAX_DAYS_IN_PAYLOAD
from services.kernel.beijing_time import today


class SandboxWeRunDaySchema(ma.Schema):
    date = Day(load_default=today, metadata={"description": "Beijing date; today when left out"})
    steps = Integer(required=True, validate=validate.Range(min=0, max=MAX_STEPS))


class SandboxWeRunRequestSchema(ma.Schema):
    days = ma.fields.List(
        ma.fields.Nested(SandboxWeRunDaySchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_DAYS_IN_PAYLOAD),
        metadata={"description": "The daily counts the payload carries, one per date"},
    )

    @ma.validates_schema  # after the fields, and only when each of them is valid
    def _one_per_date(self, data: dict, **kwargs) -> None:
        seen: set = set()
        for item in data["days"]:
            if item["date"] in seen:
                message = f"{item['date'].isoformat()} is given twice; give each date once."
                raise ma.ValidationError({"days": [message]})
            seen.add(item["date"])


class SandboxWeRunPayloadSchema(ma.Schema):
    encryptedData = ma.fields.String(
        required=True, metadata={"description": "Send as `encryptedData` to `POST /api/v1/actions/werun`"}
    )
    iv = ma.fields.String(
        required=True, metadata={"description": "Send as `iv` to `POST /api/v1/actions/werun`"}
    )
