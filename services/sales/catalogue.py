"""The public catalogue: what the pool has for sale, by project, owner and credit kind.

Quantities are grams; `available_t` is the whole tonnes among them. A project's price per tonne is
its own override or else its kind's. Every project lists the `products` an order can buy from it,
each with `price_fen_per_unit` for `unit_g` grams, computed by the same rule the order charges by
(`services.sales.pricing`): credits at the project's price per tonne, and, for projects of the one-yuan
kinds, the one-yuan carbon sink at its fixed price (¥1 per 10 kg by default) whatever the project.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from models import GRAMS_PER_TONNE, Batch, CreditKind, OwnerKind, Project, ProjectOwner
from models.database import read_session
from services.kernel.errors import NotFound
from services.kernel.paging import total_of, window
from services.sales import pricing
from services.sales.order_policy import OrderPolicy


def _offer_view(offer: pricing.Offer, policy: OrderPolicy) -> dict[str, Any]:
    if offer.product == pricing.ONE_YUAN:
        min_g, max_g = offer.unit_g, policy.max_units * offer.unit_g
    else:
        min_g, max_g = pricing.MIN_CREDITS_G, policy.max_order_g
    return {
        "product": offer.product,
        "unit_g": offer.unit_g,
        "price_fen_per_unit": offer.price_fen_per_unit,
        "min_g": min_g,
        "max_g": max_g,
    }


def one_yuan_product(policy: OrderPolicy) -> dict[str, Any]:
    """The one-yuan carbon sink: its fixed unit price, the kinds it draws from and the units per order."""
    return {
        **_offer_view(pricing.one_yuan(policy), policy),
        "kinds": list(policy.one_yuan_kinds),
        "max_units": policy.max_units,
    }


def _available_by_project() -> Any:
    return (
        select(Batch.project_id, func.sum(Batch.available_g).label("available_g"))
        .group_by(Batch.project_id)
        .subquery()
    )


def _owner_view(owner: ProjectOwner | None) -> dict[str, Any] | None:
    if owner is None:
        return None
    return {"id": owner.id, "name": owner.name, "kind": owner.kind.value, "county": owner.county}


def _project_view(project: Project, available_g: int, policy: OrderPolicy) -> dict[str, Any]:
    price = project.effective_price_fen_per_t
    offers = pricing.offers(project, policy)
    one_yuan = next((offer for offer in offers if offer.product == pricing.ONE_YUAN), None)
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
        "unit_g": policy.unit_g,
        "unit_price_fen": one_yuan.price_fen_per_unit if one_yuan else None,
        "products": [_offer_view(offer, policy) for offer in offers],
    }


def list_projects(
    *,
    policy: OrderPolicy,
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
    total = total_of(session, query)
    rows = session.execute(window(query.order_by(Project.id), page, page_size)).all()
    items = [_project_view(project, int(grams), policy) for project, grams in rows]
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


def get_project(project_id: int, *, policy: OrderPolicy) -> dict[str, Any]:
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
    view = _project_view(project, sum(batch.available_g for batch in project.batches), policy)
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
    total = total_of(session, query)
    rows = session.execute(window(query.order_by(ProjectOwner.id), page, page_size)).all()
    items = []
    for owner, projects, grams in rows:
        view = _owner_view(owner) or {}
        view.update(projects=projects, available_g=int(grams), available_t=int(grams) // GRAMS_PER_TONNE)
        items.append(view)
    session.rollback()
    return items, total
