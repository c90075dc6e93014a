"""`POST /api/v1/sandbox/werun-payload`: what `wx.getWeRunData` would give, where logins are the sandbox's.

Served only where `WECHAT_SANDBOX_LOGIN` is on and the profile is not production; elsewhere 404,
like the sandbox payment.
"""

from __future__ import annotations

from flask import abort, current_app

from api.actions.policy import action_policy, init_policy
from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.werun_sandbox.schemas import SandboxWeRunPayloadSchema, SandboxWeRunRequestSchema
from services.actions import sandbox_werun
from services.actions.action_policy import sandbox_werun as sandbox_werun_allowed

blp = Blueprint(
    "werun_sandbox", __name__, url_prefix="/api/v1", description="The sandbox's WeRun (development only)"
)
blp.record_once(init_policy)


@blp.before_request
def _sandbox_only() -> None:
    """Not served (404, before the token or the body is read) unless WeRun may run on the sandbox."""
    if not sandbox_werun_allowed(current_app.config):
        abort(404)


@blp.route("/sandbox/werun-payload", methods=["POST"])
@auth_required()
@blp.arguments(SandboxWeRunRequestSchema())
@blp.response(200, SandboxWeRunPayloadSchema)
@blp.alt_response(
    404, schema=ErrorSchema, description="Logins are not the sandbox's here, or this is production"
)
@blp.alt_response(
    422,
    schema=ErrorSchema,
    description="No days, too many, a date given twice, steps out of range, or no WeChat session (log in again)",
)
def werun_payload(body):
    """Development only: encrypt my daily steps as `wx.getWeRunData` does, for `POST /actions/werun`."""
    payload = sandbox_werun.make_payload(
        current_principal().user_id,
        {item["date"]: item["steps"] for item in body["days"]},
        action_policy().wechat_appid,
    )
    return {"encryptedData": payload.encrypted_data, "iv": payload.iv}
