"""Small builders of pool rows for tests."""

from __future__ import annotations

from datetime import date
from itertools import count

from sqlalchemy.orm import Session

from models import GRAMS_PER_TONNE, Batch, CreditKind, Project, ProjectOwner
from services.ledger.recording import batches_issued_in

_serials = count(1)


def make_project(
    session: Session,
    code: str = "SC-BAMBOO",
    kind: str = "FFCER",
    price_fen_per_t: int = 10_000,
    owner: str | None = None,
) -> Project:
    if session.get(CreditKind, kind) is None:
        session.add(CreditKind(code=kind, name=kind, price_fen_per_t=price_fen_per_t))
    owner_row = None
    if owner:
        owner_row = ProjectOwner(name=owner)
        session.add(owner_row)
    project = Project(code=code, name=f"Project {code}", kind_code=kind, owner=owner_row)
    session.add(project)
    session.flush()
    return project


def make_batch(
    session: Session, project: Project, tonnes: int, vintage: int = 2021, prefix: str = "FFCER-T-"
) -> Batch:
    start = next(_serials) * 1_000_000
    batch = Batch(
        project_id=project.id,
        vintage=vintage,
        serial_prefix=prefix,
        serial_start=start,
        serial_end=start + tonnes - 1,
        quantity_t=tonnes,
        issued_on=date(vintage + 1, 3, 1),
        issued_g=tonnes * GRAMS_PER_TONNE,
        available_g=tonnes * GRAMS_PER_TONNE,
    )
    session.add(batch)
    session.flush()
    batches_issued_in(session, [batch])  # as every batch entering the pool is, in the public ledger
    return batch
