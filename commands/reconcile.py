"""`flask reconcile ...`: reconcile a day's WeChat Pay trade bill, downloaded or from a file."""

from __future__ import annotations

import os
from datetime import date, datetime

import click
from flask.cli import AppGroup

cli = AppGroup("reconcile", help="Reconcile orders and refunds against WeChat Pay's trade bill.")


def _report(run) -> None:
    click.echo(
        f"run {run.id}: {run.status.value}, bill of {run.bill_date}, {run.lines_read:,} lines, "
        f"{run.trade_rows:,} payments, {run.refund_rows:,} refunds, {run.matched:,} matched, "
        f"{run.discrepancies:,} discrepancies"
    )
    for kind, count in sorted(((run.totals or {}).get("by_kind") or {}).items()):
        click.echo(f"  {kind}: {count:,}")


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not YYYY-MM-DD", param_hint="--date") from None


@cli.command("run")
@click.option("--date", "day", required=True, help="The bill's day, YYYY-MM-DD (Beijing time).")
def run_command(day: str) -> None:
    """Download the day's bill through the configured payment provider and reconcile it."""
    from api.context import payment_provider
    from services.kernel.errors import DomainError
    from services.reconciliation.reconciliation import run_for_date

    try:
        run = run_for_date(None, _day(day), payment_provider())
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    _report(run)


@cli.command("file")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--date", "day", default=None, help="The bill's day; by default the date of its first row.")
def file_command(path: str, day: str | None) -> None:
    """Reconcile a trade bill file, with a progress bar over the bytes read."""
    from api.context import payment_provider
    from models import RunSource
    from services.kernel.errors import DomainError
    from services.reconciliation.reconciliation import run_for_file

    size = os.path.getsize(path)
    with open(path, "rb") as stream, click.progressbar(length=size, label="reconciling") as bar:
        done = 0

        def progress(read: int) -> None:
            nonlocal done
            bar.update(read - done)
            done = read

        try:
            run = run_for_file(
                None,
                stream,
                provider_name=payment_provider().name,
                filename=os.path.basename(path),
                bill_date=_day(day),
                source=RunSource.FILE,
                bytes_total=size,
                progress=progress,
            )
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
    _report(run)
