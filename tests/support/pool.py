"""A small pool for purchase tests: one FFCER project with batches of whole tonnes."""

from __future__ import annotations

from models.database import unit_of_work
from tests.factories import make_batch, make_project


def stock_pool(
    tonnes: int = 2,
    code: str = "SC-BAMBOO",
    kind: str = "FFCER",
    owner: str | None = "林农陈某",
    price_fen_per_t: int = 10_000,
) -> tuple[int, list[int]]:
    """Create a project with `tonnes` one-tonne batches; gives (project_id, batch_ids)."""
    with unit_of_work() as session:
        project = make_project(session, code=code, kind=kind, owner=owner, price_fen_per_t=price_fen_per_t)
        ids = [make_batch(session, project, 1, vintage=2018 + i).id for i in range(tonnes)]
        return project.id, ids
