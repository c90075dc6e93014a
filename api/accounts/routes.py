"""Login with a `wx.login` code or an admin password, logout, and the caller's own profile."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView

from api.accounts.schemas import (
    AdminLoginSchema,
    LoginResultSchema,
    LoginSchema,
    ProfileSchema,
    ProfileUpdateSchema,
)
from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.limits import admin_login_limit, limiter
from services.accounts import accounts
from services.accounts.admin_login_backoff import BackoffPolicy
from services.accounts.wechat_client import WeChatSettings

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
        422, schema=ErrorSchema, description="A field is too long or the avatar is not an http(s) URL"
    )
    def patch(self, changes):
        """Change your display name, avatar URL, city or region."""
        return accounts.update_profile(current_principal().user_id, changes)
