"""`flask admin ...`: admin accounts from the command line."""

import click
from flask.cli import AppGroup

from services.accounts.accounts import create_admin
from services.kernel.errors import Conflict, ValidationFailed

cli = AppGroup("admin", help="Admin accounts.")


@cli.command("create")
@click.argument("username")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The password (asked for, hidden and twice, when not given).",
)
def create(username: str, password: str) -> None:
    """Create the admin account USERNAME."""
    try:
        profile = create_admin(username, password)
    except Conflict as exc:
        raise click.ClickException(exc.message) from exc
    except ValidationFailed as exc:
        details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in (exc.errors or {}).items())
        raise click.ClickException(f"{exc.message} {details}".strip()) from exc
    click.echo(f"Created admin {username!r} (user id {profile.id}).")
