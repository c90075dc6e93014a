"""`flask credits ...`: the issued-credit pool from the command line."""

import click
from flask.cli import AppGroup

cli = AppGroup("credits", help="The issued-credit pool: import batches, audit the gram accounting.")


@cli.command("audit")
def audit_command() -> None:
    """Scan the whole database for gram-accounting violations; exit 1 if there is any."""
    from services.pool.pool_audit import run_audit

    count = 0
    for violation in run_audit():
        click.echo(str(violation))
        count += 1
    if count:
        click.echo(f"{count} violation(s) found", err=True)
        raise SystemExit(1)
    click.echo("pool audit: no violations")
