"""Schemas of login, logout and the profile."""

import marshmallow as ma

from api.fields import Integer, UtcDateTime
from models import OrganisationKind, Role
from services.accounts.accounts import AVATAR_URL_MESSAGE, PROFILE_MAX_LENGTHS, is_http_url


class LoginSchema(ma.Schema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=128),
        metadata={"description": "The code from `wx.login()`; WeChat accepts each code once."},
    )
    privacy_version = ma.fields.String(
        validate=ma.validate.Length(min=1, max=32),
        metadata={
            "description": "The version of the privacy guide (`GET /api/v1/privacy/guide`) the user accepted "
            "before logging in; recorded with the login. Unknown versions are refused (422)."
        },
    )


class AdminLoginSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=1, max=1024))


class OrganisationRefSchema(ma.Schema):
    id = Integer(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.Enum(OrganisationKind, by_value=True, required=True)
    is_owner = ma.fields.Boolean(required=True)


class ProfileSchema(ma.Schema):
    id = Integer(required=True)
    role = ma.fields.Enum(Role, by_value=True, required=True)
    username = ma.fields.String(
        allow_none=True, metadata={"description": "Admins only; null for WeChat users"}
    )
    display_name = ma.fields.String(required=True)
    avatar_url = ma.fields.String(required=True)
    city = ma.fields.String(required=True)
    region = ma.fields.String(required=True)
    organisations = ma.fields.List(
        ma.fields.Nested(OrganisationRefSchema),
        required=True,
        metadata={"description": "Organisations you are an organiser of"},
    )
    created_at = UtcDateTime(required=True)
    privacy_version = ma.fields.String(
        required=True, metadata={"description": "The current version of the privacy guide"}
    )
    privacy_accepted_version = ma.fields.String(
        allow_none=True, metadata={"description": "The latest version you accepted; null: none yet"}
    )
    privacy_acceptance_required = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "True: show the current privacy guide and record its acceptance "
            "(`POST /api/v1/me/privacy-acceptance`) before collecting anything more"
        },
    )
    account_deletion_due_at = UtcDateTime(
        allow_none=True,
        metadata={
            "description": "When your pending account deletion will be carried out; null: none pending"
        },
    )
    display_name_status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(("pass", "pending", "risky")),
        metadata={
            "description": "Whether others see your display name: `pass`; `pending`: WeChat's content "
            "security check has not passed it yet (rankings show 微信用户 meanwhile); `risky`: it was "
            "withheld, write another"
        },
    )
    phone = ma.fields.String(
        allow_none=True,
        metadata={"description": "Your bound phone number, masked (138****1234); null: none bound"},
    )


class LoginResultSchema(ma.Schema):
    token = ma.fields.String(
        required=True, metadata={"description": "Send as `Authorization: Bearer <token>`"}
    )
    expires_at = UtcDateTime(required=True)
    user = ma.fields.Nested(ProfileSchema, required=True)
    account_deletion_cancelled = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "This login cancelled a pending deletion of the account (cooling-off period)"
        },
    )


def _http_url_or_empty(value: str) -> None:
    if value and not is_http_url(value):
        raise ma.ValidationError(AVATAR_URL_MESSAGE)


class ProfileUpdateSchema(ma.Schema):
    display_name = ma.fields.String(validate=ma.validate.Length(max=PROFILE_MAX_LENGTHS["display_name"]))
    avatar_url = ma.fields.String(
        validate=[ma.validate.Length(max=PROFILE_MAX_LENGTHS["avatar_url"]), _http_url_or_empty],
        metadata={"description": "An http(s) URL; empty clears it"},
    )
    city = ma.fields.String(validate=ma.validate.Length(max=PROFILE_MAX_LENGTHS["city"]))
    region = ma.fields.String(validate=ma.validate.Length(max=PROFILE_MAX_LENGTHS["region"]))


class PhoneBindSchema(ma.Schema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=128),
        metadata={
            "description": "The `code` of the mini-program's getPhoneNumber button event "
            "(`e.detail.code`); WeChat accepts each code once, for five minutes."
        },
    )


class PhoneSchema(ma.Schema):
    phone = ma.fields.String(required=True, metadata={"description": "Masked, e.g. 138****1234"})
    country_code = ma.fields.String(required=True, metadata={"description": "e.g. 86"})
