"""The public catalogue: what the pool has for sale, by project, owner and credit kind.

Quantities are grams; `available_t` is the whole tonnes among them. A project's price per tonne is
its own override or else its kind's; `unit_price_fen` is that price for one sale unit of `unit_g`
grams (the one-yuan unit), rounded up to the fen so that a unit never sells below the tonne price.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from models import GRAMS_PER_TONNE, Batch, CreditKind, OwnerKind, Project, ProjectOwner
from models.database import read_session
from services.errors import NotFound


def unit_price_fen(price_fen_per_t: int, unit_g: int) -> int:
    """The price of `unit_g` grams at `price_fen_per_t`, rounded up to the whole fen."""
    return -(-price_fen_per_t * unit_g // GRAMS_PER_TONNE)


def _available_by_project() -> Any:
    return (
        select(Batch.project_id, func.sum(Batch.available_g).label("available_g"))
        .group_by(Batch.project_id)
        .subquery()
    )


def _count(session: Session, query: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def _owner_view(owner: ProjectOwner | None) -> dict[str, Any] | None:
    if owner is None:
        return None
    return {"id": owner.id, "name": owner.name, "kind": owner.kind.value, "county": owner.county}


def _project_view(project: Project, available_g: int, unit_g: int) -> dict[str, Any]:
    price = project.effective_price_fen_per_t
    return {
        "id": project.id,
        "code": project.code,
        "name": project.name,
        "kind": {"code": project.kind.code, "name": project.kind.name},
        "owner": _owner_view(project.owner),
        "county": project.county,
        "location": project.location,
        "methodology": project.methodology,
        "image_url": project.image_url,
        "available_g": available_g,
        "available_t": available_g // GRAMS_PER_TONNE,
        "price_fen_per_t": price,
        "unit_g": unit_g,
        "unit_price_fen": unit_price_fen(price, unit_g),
    }


def list_projects(
    *,
    unit_g: int,
    kind: str | None = None,
    county: str | None = None,
    owner_id: int | None = None,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[dict[str, Any]], int]:
    """Projects by id with what they have available, filtered; returns (one page, total count)."""
    session = read_session()
    available = _available_by_project()
    query = (
        select(Project, func.coalesce(available.c.available_g, 0))
        .outerjoin(available, available.c.project_id == Project.id)
        .options(joinedload(Project.kind), joinedload(Project.owner))
    )
    if kind:
        query = query.where(Project.kind_code == kind)
    if county:
        query = query.where(Project.county == county)
    if owner_id is not None:
        query = query.where(Project.owner_id == owner_id)
    total = _count(session, query)
    rows = session.execute(query.order_by(Project.id).offset((page - 1) * page_size).limit(page_size)).all()
    items = [_project_view(project, int(grams), unit_g) for project, grams in rows]
    session.rollback()  # end the read transaction
    return items, total


def _batch_view(batch: Batch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "vintage": batch.vintage,
        "serial_prefix": batch.serial_prefix,
        "first_serial": batch.serial(0),
        "last_serial": batch.serial(batch.quantity_t - 1),
        "issued_t": batch.quantity_t,
        "issued_g": batch.issued_g,
        "available_g": batch.available_g,
        "available_t": batch.available_g // GRAMS_PER_TONNE,
        "issued_on": batch.issued_on,
        "registry_ref": batch.registry_ref,
        "registry_url": batch.registry_url,
    }


def get_project(project_id: int, *, unit_g: int) -> dict[str, Any]:
    """One project with its description, registry and every batch (serial range, availability)."""
    session = read_session()
    project = session.scalar(
        select(Project)
        .where(Project.id == project_id)
        .options(joinedload(Project.kind), joinedload(Project.owner), joinedload(Project.batches))
    )
    if project is None:
        session.rollback()
        raise NotFound(f"No project {project_id}.")
    batches = [_batch_view(batch) for batch in project.batches]
    view = _project_view(project, sum(batch.available_g for batch in project.batches), unit_g)
    view.update(
        description=project.description,
        registry_name=project.registry_name or project.kind.registry_name,
        batches=batches,
    )
    session.rollback()
    return view


def list_kinds() -> list[dict[str, Any]]:
    """Every credit kind with its default price per tonne."""
    session = read_session()
    kinds = session.scalars(select(CreditKind).order_by(CreditKind.code)).all()
    views = [
        {
            "code": k.code,
            "name": k.name,
            "registry_name": k.registry_name,
            "description": k.description,
            "price_fen_per_t": k.price_fen_per_t,
        }
        for k in kinds
    ]
    session.rollback()
    return views


def list_owners(
    *,
    county: str | None = None,
    kind: OwnerKind | None = None,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[dict[str, Any]], int]:
    """Owners by id with how many projects they have and what those have available."""
    session = read_session()
    available = _available_by_project()
    query = (
        select(
            ProjectOwner,
            func.count(Project.id),
            func.coalesce(func.sum(available.c.available_g), 0),
        )
        .outerjoin(Project, Project.owner_id == ProjectOwner.id)
        .outerjoin(available, available.c.project_id == Project.id)
        .group_by(ProjectOwner.id)
    )
    if county:
        query = query.where(ProjectOwner.county == county)
    if kind is not None:
        query = query.where(ProjectOwner.kind == kind)
    total = _count(session, query)
    rows = session.execute(
        query.order_by(ProjectOwner.id).offset((page - 1) * page_size).limit(page_size)
    ).all()
    items = []
    for owner, projects, grams in rows:
        view = _owner_view(owner) or {}
        view.update(projects=projects, available_g=int(grams), available_t=int(grams) // GRAMS_PER_TONNE)
        items.append(view)
    session.rollback()
    return items, total
