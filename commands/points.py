"""`flask points ...`: the carbon points jobs (run them from cron, e.g. hourly)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from models import utcnow
from services.points.points import DEFAULT_BATCH_SIZE, expire_due, release_pending
from services.points.points_hooks import move_to_buyer_of_record
from services.sales.order_policy import OrderPolicy

cli = AppGroup("points", help="Carbon points: release points after the refund window, expire old points.")

_batch_size = click.option(
    "--batch-size",
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    type=click.IntRange(min=1),
    help="Users settled per transaction.",
)


@cli.command("release")
@_batch_size
def release(batch_size: int) -> None:
    """Make pending points whose refund window has passed spendable."""
    counts = release_pending(utcnow(), batch_size)
    click.echo(f"released {counts.points} points of {counts.lots} awards")


@cli.command("expire")
@_batch_size
def expire(batch_size: int) -> None:
    """Expire unspent points past their expiry date."""
    counts = expire_due(utcnow(), batch_size)
    click.echo(f"expired {counts.points} points of {counts.lots} awards")


@cli.command("move-organisation-purchases")
def move_organisation_purchases() -> None:
    """Move points members were given for their organisation's purchases to the organisation (once)."""
    moved = move_to_buyer_of_record(OrderPolicy.from_settings(current_app.config))
    click.echo(f"moved {moved} awards to the buyer of record")
