"""`flask sandbox werun-payload`: the sandbox's `wx.getWeRunData`, for trying WeRun on the embedded default.

Refused unless logins are the sandbox's (`WECHAT_SANDBOX_LOGIN`) and the profile is not production.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from services.actions import sandbox_werun
from services.actions.action_policy import sandbox_werun as sandbox_werun_allowed
from services.actions.action_policy import werun_appid
from services.kernel.beijing_time import today
from services.kernel.errors import DomainError

cli = AppGroup("sandbox", help="What the sandbox plays of WeChat (never in production).")


@cli.command("werun-payload")
@click.option(
    "--user", "user_id", type=click.IntRange(min=1), required=True, help="The user's id (GET /api/v1/me)."
)
@click.option(
    "--steps",
    type=click.IntRange(0, sandbox_werun.MAX_STEPS),
    multiple=True,
    required=True,
    help="Steps of a day; repeat for consecutive days, the last one being --end.",
)
@click.option(
    "--end",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Beijing date of the last --steps (default: today).",
)
def werun_payload_command(user_id: int, steps: tuple[int, ...], end: object) -> None:
    """Print `{"encryptedData", "iv"}` for POST /api/v1/actions/werun, encrypted with the user's session key."""
    config = current_app.config
    if not sandbox_werun_allowed(config):
        click.echo(
            "Refused: WeRun payloads are made only where logins are the sandbox's "
            "(WECHAT_SANDBOX_LOGIN), never in production.",
            err=True,
        )
        raise SystemExit(1)
    last: date = end.date() if end is not None else today()  # type: ignore[attr-defined]
    steps_by_day = {last - timedelta(days=len(steps) - 1 - i): n for i, n in enumerate(steps)}
    try:
        payload = sandbox_werun.make_payload(user_id, steps_by_day, werun_appid(config))
    except DomainError as error:
        click.echo(f"No payload: {error.message}", err=True)
        raise SystemExit(1) from None
    click.echo(json.dumps({"encryptedData": payload.encrypted_data, "iv": payload.iv}))
