"""`flask credits ...`: the issued-credit pool from the command line."""

import time

import click
from flask.cli import AppGroup

cli = AppGroup("credits", help="The issued-credit pool: import batches, audit the gram accounting.")


@cli.command("audit")
def audit_command() -> None:
    """Scan the whole database for gram-accounting violations; exit 1 if there is any.

    The checks stream what they read (server-side cursors), so memory stays flat; the time it took
    is printed, with the time per million orders.
    """
    from services.pool.pool_audit import run_audit

    started = time.perf_counter()
    count = 0
    for violation in run_audit():
        click.echo(str(violation))
        count += 1
    seconds = time.perf_counter() - started
    orders = _order_count()
    per_million = f"{seconds * 1_000_000 / orders:.1f} s per million orders" if orders else "no orders"
    click.echo(f"pool audit: {orders:,} orders in {seconds:.1f} s ({per_million})")
    if count:
        click.echo(f"{count} violation(s) found", err=True)
        raise SystemExit(1)
    click.echo("pool audit: no violations")


def _order_count() -> int:
    from sqlalchemy import func, select

    from models import Order
    from models.database import read_session

    session = read_session()
    count = int(session.scalar(select(func.count()).select_from(Order)) or 0)
    session.rollback()
    return count
