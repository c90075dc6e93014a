"""`flask demo load`: the demo catalogue (credit kinds, owners, projects, batches) from `data/demo/`."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from services.accounts.accounts import create_admin
from services.kernel.errors import Conflict, DomainError, ValidationFailed
from services.pool.demo_data import load_demo

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"

cli = AppGroup("demo", help="Demo data for the embedded default.")


@cli.command("load")
@click.option("--if-empty", is_flag=True, help="Load only when the catalogue has no credit kind yet.")
@click.option(
    "--data",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=DEMO_DIR,
    show_default=True,
    help="Directory of the demo files.",
)
def load_command(if_empty: bool, directory: Path) -> None:
    """Load the demo catalogue; records already there are left as they are."""
    try:
        summary = load_demo(directory, if_empty=if_empty)
    except ValidationFailed as error:
        for item in error.errors or []:
            click.echo(f"  {item}", err=True)
        click.echo(f"Demo data not loaded: {error.message}", err=True)
        raise SystemExit(1) from None
    except DomainError as error:
        click.echo(f"Demo data not loaded: {error.message}", err=True)
        raise SystemExit(1) from None
    if summary.skipped:
        click.echo("The catalogue is not empty; demo data not loaded.")
        return
    click.echo(
        f"Demo data loaded: {summary.kinds} credit kinds, {summary.owners} owners, "
        f"{summary.projects} projects, {summary.batches} batches ({summary.tonnes:,} t)."
    )
    _demo_admin()


def _demo_admin() -> None:
    """A demo admin to explore the admin API with: in the embedded default (sandbox payments) only."""
    config = current_app.config
    if config["CARBON_PROFILE"] != "default" or config["PAYMENT_PROVIDER"] != "sandbox":
        click.echo("No demo admin: it exists only in the embedded default (sandbox payments).")
        return
    password = os.environ.get("DEMO_ADMIN_PASSWORD", "demo-admin-password")
    try:
        create_admin("admin", password)
    except Conflict:
        return
    click.echo(
        f"Demo admin created: username `admin`, password `{password}` (POST /api/v1/auth/admin-login)."
    )
