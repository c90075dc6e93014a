"""Admin writes to the catalogue: credit kinds, project owners, projects and their prices.

Each public function is one unit of work and records an audit entry. The `*_in(session, ...)`
variants do the same inside the caller's unit of work (the demo loader uses them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import CreditKind, Project, ProjectOwner
from models.database import unit_of_work
from services.kernel import audit
from services.kernel.errors import Conflict, NotFound, ValidationFailed
from services.kernel.paging import objects_page

KIND_FIELDS = ("name", "registry_name", "description", "price_fen_per_t")
OWNER_FIELDS = ("name", "kind", "county")
PROJECT_FIELDS = (
    "name",
    "kind_code",
    "county",
    "location",
    "owner_id",
    "methodology",
    "registry_name",
    "description",
    "image_url",
    "price_fen_per_t",
)


def _apply(obj: Any, changes: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key, value in changes.items():
        if key not in allowed:
            raise ValidationFailed(f"`{key}` cannot be changed here.", errors={key: ["Cannot be changed."]})
        setattr(obj, key, value)


def _flush(session: Session, what: str) -> None:
    """Flush, turning a unique-key race into a 409 instead of a 500."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{what} conflicts with an existing record.") from exc


# Credit kinds


def _kind(session: Session, code: str) -> CreditKind:
    kind = session.get(CreditKind, code)
    if kind is None:
        raise NotFound(f"No credit kind {code!r}.")
    return kind


def create_kind_in(session: Session, actor_id: int | None, data: Mapping[str, Any]) -> CreditKind:
    """Add a credit kind (code, name, registry_name, description, price_fen_per_t)."""
    code = data["code"]
    if session.get(CreditKind, code) is not None:
        raise Conflict(f"Credit kind {code!r} already exists.", errors={"code": ["Already exists."]})
    kind = CreditKind(code=code, name=data["name"])
    _apply(kind, {k: v for k, v in data.items() if k != "code"}, KIND_FIELDS)
    session.add(kind)
    _flush(session, f"Credit kind {code!r}")
    audit.record(session, actor_id, "credit_kind.create", "credit_kind", code, None, audit.snapshot(kind))
    return kind


def create_kind(actor_id: int | None, data: Mapping[str, Any]) -> CreditKind:
    """Add a credit kind."""
    with unit_of_work() as session:
        return create_kind_in(session, actor_id, data)


def update_kind(actor_id: int | None, code: str, changes: Mapping[str, Any]) -> CreditKind:
    """Change a credit kind's name, registry name, description or price; the code is fixed."""
    with unit_of_work() as session:
        kind = _kind(session, code)
        before = audit.snapshot(kind)
        _apply(kind, changes, KIND_FIELDS)
        _flush(session, f"Credit kind {code!r}")
        audit.record(
            session, actor_id, "credit_kind.update", "credit_kind", code, before, audit.snapshot(kind)
        )
        return kind


def set_kind_price(actor_id: int | None, code: str, price_fen_per_t: int) -> CreditKind:
    """Set the price per tonne of every project of this kind that has no price of its own."""
    with unit_of_work() as session:
        kind = _kind(session, code)
        before = audit.snapshot(kind)
        kind.price_fen_per_t = price_fen_per_t
        _flush(session, f"Credit kind {code!r}")
        audit.record(
            session, actor_id, "credit_kind.price", "credit_kind", code, before, audit.snapshot(kind)
        )
        return kind


# Project owners


def _owner(session: Session, owner_id: int) -> ProjectOwner:
    owner = session.get(ProjectOwner, owner_id)
    if owner is None:
        raise NotFound(f"No project owner {owner_id}.")
    return owner


def _check_owner_name_free(session: Session, name: str, owner_id: int | None = None) -> None:
    existing = session.scalar(select(ProjectOwner.id).where(ProjectOwner.name == name))
    if existing is not None and existing != owner_id:
        raise Conflict(f"An owner named {name!r} already exists.", errors={"name": ["Already exists."]})


def create_owner_in(session: Session, actor_id: int | None, data: Mapping[str, Any]) -> ProjectOwner:
    """Add a project owner (name, kind, county)."""
    _check_owner_name_free(session, data["name"])
    owner = ProjectOwner()
    _apply(owner, data, OWNER_FIELDS)
    session.add(owner)
    _flush(session, f"Owner {data['name']!r}")
    audit.record(
        session, actor_id, "project_owner.create", "project_owner", owner.id, None, audit.snapshot(owner)
    )
    return owner


def create_owner(actor_id: int | None, data: Mapping[str, Any]) -> ProjectOwner:
    """Add a project owner."""
    with unit_of_work() as session:
        return create_owner_in(session, actor_id, data)


def update_owner(actor_id: int | None, owner_id: int, changes: Mapping[str, Any]) -> ProjectOwner:
    """Change a project owner's name, kind or county."""
    with unit_of_work() as session:
        owner = _owner(session, owner_id)
        if "name" in changes:
            _check_owner_name_free(session, changes["name"], owner_id)
        before = audit.snapshot(owner)
        _apply(owner, changes, OWNER_FIELDS)
        _flush(session, f"Owner {owner.name!r}")
        audit.record(
            session,
            actor_id,
            "project_owner.update",
            "project_owner",
            owner.id,
            before,
            audit.snapshot(owner),
        )
        return owner


# Projects


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"No project {project_id}.")
    return project


def _check_references(session: Session, data: Mapping[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if "kind_code" in data and session.get(CreditKind, data["kind_code"]) is None:
        errors["kind_code"] = [f"No credit kind {data['kind_code']!r}."]
    owner_id = data.get("owner_id")
    if owner_id is not None and session.get(ProjectOwner, owner_id) is None:
        errors["owner_id"] = [f"No project owner {owner_id}."]
    if errors:
        raise ValidationFailed("The project refers to records that do not exist.", errors=errors)


def _loaded(project: Project) -> Project:
    # Load the relationships inside the unit of work so the caller can read them after commit.
    _ = project.kind, project.owner
    return project


def create_project_in(session: Session, actor_id: int | None, data: Mapping[str, Any]) -> Project:
    """Add a project; `kind_code` and `owner_id` must exist, `price_fen_per_t` None uses the kind's."""
    code = data["code"]
    if session.scalar(select(Project.id).where(Project.code == code)) is not None:
        raise Conflict(f"Project {code!r} already exists.", errors={"code": ["Already exists."]})
    _check_references(session, data)
    project = Project(code=code)
    _apply(project, {k: v for k, v in data.items() if k != "code"}, PROJECT_FIELDS)
    session.add(project)
    _flush(session, f"Project {code!r}")
    audit.record(session, actor_id, "project.create", "project", project.id, None, audit.snapshot(project))
    return _loaded(project)


def create_project(actor_id: int | None, data: Mapping[str, Any]) -> Project:
    """Add a project."""
    with unit_of_work() as session:
        return create_project_in(session, actor_id, data)


def get_project(project_id: int) -> Project:
    """One project with its kind and owner loaded."""
    with unit_of_work() as session:
        return _loaded(_project(session, project_id))


def update_project(actor_id: int | None, project_id: int, changes: Mapping[str, Any]) -> Project:
    """Change a project's descriptive fields, kind, owner or price override; the code is fixed."""
    with unit_of_work() as session:
        project = _project(session, project_id)
        _check_references(session, changes)
        before = audit.snapshot(project)
        _apply(project, changes, PROJECT_FIELDS)
        _flush(session, f"Project {project.code!r}")
        session.refresh(project)
        audit.record(
            session, actor_id, "project.update", "project", project.id, before, audit.snapshot(project)
        )
        return _loaded(project)


def set_project_price(actor_id: int | None, project_id: int, price_fen_per_t: int | None) -> Project:
    """Set the project's own price per tonne, or clear it (None) to use its kind's price."""
    with unit_of_work() as session:
        project = _project(session, project_id)
        before = audit.snapshot(project)
        project.price_fen_per_t = price_fen_per_t
        _flush(session, f"Project {project.code!r}")
        audit.record(
            session, actor_id, "project.price", "project", project.id, before, audit.snapshot(project)
        )
        return _loaded(project)


def list_projects(
    *, kind: str | None = None, page: int = 1, page_size: int = 20
) -> tuple[list[Project], int]:
    """Projects for the admin, by id, with their kind and owner loaded; returns (page, total)."""
    with unit_of_work() as session:
        query = select(Project)
        if kind:
            query = query.where(Project.kind_code == kind)
        rows, total = objects_page(session, query.order_by(Project.id), page, page_size)
        return [_loaded(p) for p in rows], total
