"""`flask rollups ...`: build the reporting rollups from the history, compact them by hand."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

cli = AppGroup("rollups", help="The reporting rollups: rebuild them from the history, compact them.")


@cli.command("rebuild")
def rebuild_command() -> None:
    """Replace every rollup with the sums of the orders, refunds, order events and points entries."""
    from services.reporting.rollup_rebuild import rebuild

    started = time.perf_counter()
    done = rebuild()
    click.echo(
        f"rebuilt in {time.perf_counter() - started:.1f} s: {done.sales_rows} sales rows, "
        f"{done.split_orders} split order rows, {done.state_rows} order-state rows, "
        f"{done.points_rows} points rows; order events folded to id {done.order_events_mark}, "
        f"points entries to id {done.points_entries_mark}"
    )


@cli.command("compact")
def compact_command() -> None:
    """Fold every sales delta and the settled order events and points entries into day rows."""
    from services.reporting.rollup_compaction import compact_all

    done = compact_all()
    click.echo(
        f"compacted {done.deltas} deltas into {done.rows} day rows; folded {done.order_events} order "
        f"events and {done.points_entries} points entries"
    )


@cli.command("check")
def check_command() -> None:
    """Compare every rollup with the sums of the history; exit 1 if any differs (then: rebuild)."""
    from services.reporting.rollup_audit import run_check

    started = time.perf_counter()
    count = 0
    for rule, subject, message in run_check():
        click.echo(f"[{rule}] {subject}: {message}")
        count += 1
    click.echo(f"rollups checked in {time.perf_counter() - started:.1f} s")
    if count:
        click.echo(f"{count} difference(s) found; `flask rollups rebuild` builds them again", err=True)
        raise SystemExit(1)
    click.echo("rollups: equal to the history")
