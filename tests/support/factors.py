"""The project's factor library in tests: parsed as a calculator table, or published to the database."""

from __future__ import annotations

from pathlib import Path

from services.footprint.factor_library import PublishedSet, parse_files, publish_files, table_from_upload
from services.footprint.footprint_calculator import FactorTable

FACTOR_DIR = Path(__file__).resolve().parents[2] / "data" / "factors"


def factor_files(directory: Path = FACTOR_DIR) -> list[tuple[str, bytes, None]]:
    return [
        (p.name, p.read_bytes(), None) for p in sorted(directory.iterdir()) if p.suffix in (".csv", ".json")
    ]


def library_table(version: int = 1) -> FactorTable:
    """The calculator's table of `data/factors`, without a database."""
    return table_from_upload(parse_files(factor_files()), version)


def publish_library(note: str = "test library") -> PublishedSet:
    """Publish `data/factors` as the next version (replacing, as `flask factors load DIR` does)."""
    return publish_files(factor_files(), note, actor_id=None, source="tests", merge=False)
