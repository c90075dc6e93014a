"""`flask credits import FILE`: load issued batches into the pool from a CSV or JSON file."""

from __future__ import annotations

from pathlib import Path

import click

from commands.credits import cli
from services.kernel.errors import DomainError, ValidationFailed
from services.pool.batch_import import FORMATS, detect_format, import_batches


def _describe(error: dict) -> str:
    where = "file" if error.get("row") is None else f"row {error['row']}"
    if error.get("line") is not None:
        where += f" (line {error['line']})"
    field = f" {error['field']}" if error.get("field") else ""
    return f"{where}{field}: {error['message']}"


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="csv or json; by default from the file name's extension.",
)
def import_command(file: Path, fmt: str | None) -> None:
    """Import every batch of FILE, or none of them when any row is bad."""
    fmt = fmt or detect_format(file.name)
    if fmt is None:
        raise click.UsageError(
            "Cannot tell the format from the file name; pass --format csv or --format json."
        )
    try:
        summary = import_batches(file.read_bytes(), fmt, actor_id=None, source=f"cli:{file.name}")
    except ValidationFailed as error:
        for item in error.errors or []:
            click.echo(_describe(item), err=True)
        click.echo(error.message, err=True)
        raise SystemExit(1) from None
    except DomainError as error:
        click.echo(error.message, err=True)
        raise SystemExit(1) from None
    click.echo(f"Imported {summary.batches_created} batches, {summary.tonnes:,} t ({summary.grams:,} g).")
    for total in summary.projects:
        click.echo(f"  {total.project_code}: {total.batches} batches, {total.tonnes:,} t")
