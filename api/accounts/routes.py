"""Login with a `wx.login` code or an admin password, logout, and the caller's own profile."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView

from api.accounts.schemas import (
    AdminLoginSchema,
    LoginResultSchema,
    LoginSchema,
    PhoneBindSchema,
    PhoneSchema,
    ProfileSchema,
    ProfileUpdateSchema,
)
from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.limits import admin_login_limit, limiter, per_caller
from services.accounts import accounts, phone_numbers
from services.accounts.admin_login_backoff import BackoffPolicy
from services.accounts.wechat_client import WeChatSettings
from services.kernel.errors import NotFound

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Login, logout and your own profile")


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@blp.route("/auth/login", methods=["POST"])
@limiter.limit(_login_rate_limit)
@blp.arguments(LoginSchema())
@blp.response(200, LoginResultSchema)
@blp.alt_response(
    422,
    schema=ErrorSchema,
    description="The code is missing, invalid, expired or used, or the privacy guide has no such version",
)
@blp.alt_response(403, schema=ErrorSchema, description="The account is disabled")
@blp.alt_response(429, schema=ErrorSchema, description="Too many login attempts from this address")
@blp.alt_response(503, schema=ErrorSchema, description="WeChat cannot be reached; retry shortly")
def login(body):
    """Log in with a `wx.login` code; the first login creates the account, any login cancels a pending deletion."""
    config = current_app.config
    return accounts.login_with_code(
        body["code"],
        WeChatSettings.from_config(config),
        config["TOKEN_TTL_S"],
        privacy_version=body.get("privacy_version"),
    )


@blp.route("/auth/admin-login", methods=["POST"])
@admin_login_limit
@blp.arguments(AdminLoginSchema())
@blp.response(200, LoginResultSchema)
@blp.alt_response(401, schema=ErrorSchema, description="Wrong username or password")
@blp.alt_response(422, schema=ErrorSchema, description="Username or password missing")
@blp.alt_response(
    429,
    schema=ErrorSchema,
    description="Too many login attempts from this address, or too many failed ones for this account",
)
def admin_login(body):
    """Log an admin in with username and password."""
    config = current_app.config
    return accounts.admin_login(
        body["username"], body["password"], config["TOKEN_TTL_S"], BackoffPolicy.from_config(config)
    )


@blp.route("/auth/logout", methods=["POST"])
@auth_required()
@blp.response(204)
def logout():
    """Revoke the token this request carries."""
    accounts.logout(request.headers["Authorization"])


@blp.route("/me")
class Me(MethodView):
    @auth_required()
    @blp.response(200, ProfileSchema)
    def get(self):
        """Your own profile, role and organisations."""
        return accounts.get_profile(current_principal().user_id)

    @auth_required()
    @blp.arguments(ProfileUpdateSchema())
    @blp.response(200, ProfileSchema)
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="A field is too long, the avatar is not an http(s) URL, or WeChat's content security "
        "check refused the display name (`content_refused`)",
    )
    def patch(self, changes):
        """Change your display name, avatar URL, city or region.

        A new display name is checked by WeChat's content security check (msgSecCheck): a risky one is
        refused; one WeChat cannot judge now is saved but kept from the rankings until it passes
        (`display_name_status`).
        """
        return accounts.update_profile(current_principal().user_id, changes)


@blp.route("/me/phone")
class MyPhone(MethodView):
    @limiter.limit(_login_rate_limit, key_func=per_caller)
    @auth_required()
    @blp.arguments(PhoneBindSchema())
    @blp.response(200, PhoneSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="You are not an organiser of any organisation")
    @blp.alt_response(429, schema=ErrorSchema, description="Too many tries")
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="WeChat refused the code (`invalid_phone_code`): invalid, expired or used",
    )
    @blp.alt_response(
        503, schema=ErrorSchema, description="WeChat cannot be reached; retry after Retry-After"
    )
    def post(self, body):
        """Bind your phone number (organisers): the code of the mini-program's getPhoneNumber button.

        The number is stored encrypted and shown masked; binding again replaces it.
        """
        phone = phone_numbers.bind(
            current_principal(), body["code"], WeChatSettings.from_config(current_app.config)
        )
        return {"phone": phone.masked, "country_code": phone.country_code}

    @auth_required()
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="No phone number is bound")
    def delete(self):
        """Unbind your phone number: it is deleted."""
        if not phone_numbers.unbind(current_principal().user_id):
            raise NotFound("No phone number is bound.")
