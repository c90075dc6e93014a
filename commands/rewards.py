"""`flask rewards ...`: load coupon codes from a file, or generate them, for a reward item."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from services.kernel.errors import DomainError
from services.rewards import rewards_admin

cli = AppGroup("rewards", help="Rewards: coupon codes of reward items.")


def _report(load: rewards_admin.CodeLoad) -> None:
    click.echo(
        f"Added {len(load.added)} codes to reward {load.item_id}: "
        f"{load.available} available, {load.assigned} handed out.",
        err=True,
    )


@cli.command("load-codes")
@click.argument("item_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_codes(item_id: int, file: Path) -> None:
    """Load the codes of FILE (one per line; blank lines skipped) into reward ITEM_ID, all or none."""
    codes = file.read_text(encoding="utf-8-sig").splitlines()
    try:
        _report(rewards_admin.add_codes(None, item_id, codes))
    except DomainError as error:
        click.echo(f"{error.message} {error.errors or ''}".strip(), err=True)
        raise SystemExit(1) from None


@cli.command("generate-codes")
@click.argument("item_id", type=int)
@click.argument("count", type=click.IntRange(1, rewards_admin.MAX_CODES_PER_CALL))
@click.option("--prefix", default="", help="Text before the random part, e.g. TREE-.")
@click.option(
    "--length", default=12, show_default=True, type=click.IntRange(8, 32), help="Random characters."
)
def generate_codes(item_id: int, count: int, prefix: str, length: int) -> None:
    """Generate COUNT random codes for reward ITEM_ID and print them, one per line."""
    try:
        load = rewards_admin.generate_codes(None, item_id, count, prefix, length)
    except DomainError as error:
        click.echo(error.message, err=True)
        raise SystemExit(1) from None
    for code in load.added:
        click.echo(code)
    _report(load)
