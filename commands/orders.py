"""`flask orders ...`: run the order jobs by hand or from cron."""

from __future__ import annotations

import click
from flask.cli import AppGroup

cli = AppGroup("orders", help="Order jobs: expiry, payment queries, unfinished refunds.")


def _context():
    from api.context import order_policy, payment_provider

    return payment_provider(), order_policy()


@cli.command("expire")
def expire_command() -> None:
    """Close the trades of unpaid orders past their time, expire them and release their grams."""
    from services.settlement.order_jobs import expire_due_orders

    provider, policy = _context()
    click.echo(f"expire: {expire_due_orders(provider, policy)}")


@cli.command("sync")
@click.option("--quiet-seconds", default=120, show_default=True, help="Only orders silent for this long.")
def sync_command(quiet_seconds: int) -> None:
    """Ask WeChat Pay about orders awaiting payment whose callback did not come, and ended ones."""
    from services.settlement.order_jobs import query_silent_orders

    provider, policy = _context()
    click.echo(f"sync: {query_silent_orders(provider, policy, quiet_seconds)}")


@cli.command("refunds")
def refunds_command() -> None:
    """Re-apply or query refunds that are still processing."""
    from services.settlement.order_jobs import finish_refunds

    provider, policy = _context()
    click.echo(f"refunds: {finish_refunds(provider, policy)}")
