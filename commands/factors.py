"""`flask factors load FILE_OR_DIR`: publish emission factor files as a new factor-set version."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from models import FactorSet
from models.database import read_session
from services.footprint.factor_library import detect_format, publish_files
from services.kernel.errors import DomainError, ValidationFailed

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "data" / "factors"

cli = AppGroup("factors", help="Emission factor library.")


def _files(path: Path) -> list[tuple[str, bytes, None]]:
    if path.is_dir():
        chosen = sorted(p for p in path.iterdir() if p.is_file() and detect_format(p.name))
    else:
        chosen = [path]
    return [(p.name, p.read_bytes(), None) for p in chosen]


def _describe(error: dict) -> str:
    where = error.get("file") or "upload"
    if error.get("row") is not None:
        where += f" row {error['row']}"
    field = f" {error['field']}" if error.get("field") else ""
    return f"{where}{field}: {error['message']}"


@cli.command("load")
@click.argument("path", type=click.Path(exists=True, path_type=Path), default=DEFAULT_DIR, required=False)
@click.option("--note", default="", help="A note kept with the version (what changed).")
@click.option("--if-empty", is_flag=True, help="Publish only when no factor set exists yet.")
@click.option(
    "--replace/--merge",
    default=None,
    help="Replace: the new version has only the loaded factors (default for a directory). "
    "Merge: it keeps the current version's other factors (default for one file).",
)
def load_command(path: Path, note: str, if_empty: bool, replace: bool | None) -> None:
    """Publish PATH (a directory of CSV/JSON files, or one file) as the next factor-set version.

    In a directory, `provinces.csv` and `cities.csv` are the geography tables; every other .csv or
    .json file holds factors. Tables not loaded are kept from the current version.
    """
    if if_empty:
        session = read_session()
        exists = session.scalar(select(FactorSet.id).limit(1)) is not None
        session.rollback()
        if exists:
            click.echo("A factor set is already published; nothing loaded.")
            return
    try:
        merge = not path.is_dir() if replace is None else not replace
        published = publish_files(_files(path), note, actor_id=None, source=f"cli:{path.name}", merge=merge)
    except ValidationFailed as error:
        for item in error.errors or []:
            click.echo(_describe(item), err=True)
        click.echo(error.message, err=True)
        raise SystemExit(1) from None
    except DomainError as error:
        click.echo(error.message, err=True)
        raise SystemExit(1) from None
    carried = (
        f"; kept {', '.join(published.carried_over)} of the previous version"
        if published.carried_over
        else ""
    )
    click.echo(
        f"Published factor set version {published.version}: {published.factor_count} factors, "
        f"{published.province_count} provinces, {published.city_count} cities{carried}."
    )
