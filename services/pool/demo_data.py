"""Load the demo catalogue (credit kinds, owners, projects, batches) from a directory of files.

The directory holds `credit_kinds.json`, `owners.json`, `projects.json` (each a list of objects;
a project names its owner by `owner`) and batch files `batches*.csv` / `batches*.json` in the
import format. Everything loads in one unit of work through the same services an admin uses, so
the demo is audited and validated like real data. Records that already exist (same code or name)
are left as they are; a batch file whose batches are all in the pool already is skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from models import Batch, CreditKind, OwnerKind, Project, ProjectOwner
from models.database import unit_of_work
from services.kernel.errors import ValidationFailed
from services.pool import batch_import, catalogue_admin


@dataclass(frozen=True)
class DemoSummary:
    skipped: bool = False
    kinds: int = 0
    owners: int = 0
    projects: int = 0
    batches: int = 0
    tonnes: int = 0


def _read_list(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValidationFailed(f"{path.name} must hold a list of objects.")
    return data


def _batch_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("batches*") if batch_import.detect_format(p.name) is not None)


def _already_loaded(session: Session, content: bytes, fmt: str) -> bool:
    """True when every batch of the file is in the pool already (same prefix and first serial)."""
    rows, _errors = batch_import.read_rows(content, fmt)
    try:
        keys = {(str(r.values["serial_prefix"]).strip(), int(r.values["serial_start"])) for r in rows}
    except (KeyError, TypeError, ValueError):
        return False  # a malformed file: let the import report its faults
    if not keys:
        return False
    found = session.scalar(
        select(func.count()).where(tuple_(Batch.serial_prefix, Batch.serial_start).in_(list(keys)))
    )
    return found == len(keys)


def catalogue_is_empty(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(CreditKind)) == 0


def load_demo(directory: Path, *, if_empty: bool = False, today: date | None = None) -> DemoSummary:
    """Load the demo catalogue from `directory`; with `if_empty`, only into an empty catalogue."""
    with unit_of_work() as session:
        if if_empty and not catalogue_is_empty(session):
            return DemoSummary(skipped=True)
        kinds = owners = projects = batches = tonnes = 0

        for data in _read_list(directory / "credit_kinds.json"):
            if session.get(CreditKind, data["code"]) is None:
                catalogue_admin.create_kind_in(session, None, data)
                kinds += 1

        owner_ids = {
            name: owner_id for name, owner_id in session.execute(select(ProjectOwner.name, ProjectOwner.id))
        }
        for data in _read_list(directory / "owners.json"):
            if data["name"] not in owner_ids:
                owner = catalogue_admin.create_owner_in(
                    session, None, {**data, "kind": OwnerKind(data["kind"])}
                )
                owner_ids[owner.name] = owner.id
                owners += 1

        for data in _read_list(directory / "projects.json"):
            if session.scalar(select(Project.id).where(Project.code == data["code"])) is None:
                fields = {k: v for k, v in data.items() if k != "owner"}
                fields["owner_id"] = owner_ids[data["owner"]] if data.get("owner") else None
                catalogue_admin.create_project_in(session, None, fields)
                projects += 1

        for path in _batch_files(directory):
            fmt = batch_import.detect_format(path.name) or ""
            content = path.read_bytes()
            if _already_loaded(session, content, fmt):
                continue
            summary = batch_import.import_batches_in(
                session, content, fmt, actor_id=None, source=f"demo:{path.name}", today=today
            )
            batches += summary.batches_created
            tonnes += summary.tonnes

        return DemoSummary(False, kinds, owners, projects, batches, tonnes)
