"""Public transparency: for every project, the credits issued, sold and retired, and the totals.

Anyone can check that the sums add up (the totals are the sums of the projects; sold includes
retired), look up every confirmed retirement at its registry by its reference, and replay the
first `ledger_size` entries of the public ledger to the same issued, sold and retired figures.
The figures are computed from the database; Redis only keeps the answer for a short time
(`cache_s`), and when Redis cannot be reached the answer is computed each time.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from decimal import Decimal
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from models import (
    GRAMS_PER_TONNE,
    Batch,
    LedgerState,
    Project,
    RetiredTonne,
    Retirement,
    RetirementStatus,
    utcnow,
)
from models.database import read_session
from services.kernel.redis_store import get_redis

log = logging.getLogger(__name__)

CACHE_KEY = "transparency:v1"
FIGURES = ("issued_g", "available_g", "reserved_g", "sold_g", "retired_g")


def tonnes(grams: int) -> str:
    """Grams as tonnes, exactly, with six decimals: 1_234_567 → "1.234567"."""
    return str((Decimal(grams) / GRAMS_PER_TONNE).quantize(Decimal("0.000001")))


def _with_tonnes(figures: dict[str, int]) -> dict[str, Any]:
    view: dict[str, Any] = dict(figures)
    for figure in FIGURES:
        view[figure.replace("_g", "_t")] = tonnes(figures[figure])
    return view


def compute() -> dict[str, Any]:
    """The transparency report, straight from the database (JSON-ready values only)."""
    session = read_session()
    # The ledger's size in the same statement as the sums (one snapshot): the report is what
    # replaying that many entries of the public ledger gives.
    ledger_size = select(LedgerState.size).where(LedgerState.id == 1)
    rows_read = session.execute(
        select(
            Batch.project_id,
            func.count(Batch.id),
            *(func.coalesce(func.sum(getattr(Batch, figure)), 0) for figure in FIGURES),
            ledger_size.scalar_subquery(),
        ).group_by(Batch.project_id)
    ).all()
    sums = {
        project_id: dict(zip(("batches", *FIGURES), map(int, values[:-1]), strict=True))
        for project_id, *values in rows_read
    }
    logged = rows_read[0][-1] if rows_read else session.scalar(ledger_size)
    projects = session.scalars(
        select(Project).options(joinedload(Project.owner), joinedload(Project.kind)).order_by(Project.id)
    ).all()
    rows = []
    for project in projects:
        figures = sums.get(project.id, {"batches": 0, **dict.fromkeys(FIGURES, 0)})
        rows.append(
            {
                "id": project.id,
                "code": project.code,
                "name": project.name,
                "kind": project.kind_code,
                "registry_name": project.registry_name or project.kind.registry_name,
                "county": project.county,
                "owner": project.owner.name if project.owner else None,
                **_with_tonnes(figures),
            }
        )
    totals = {figure: sum(row[figure] for row in rows) for figure in ("batches", *FIGURES)}
    retirements = _retirements(session)
    session.rollback()
    return {
        "generated_at": utcnow().isoformat(),
        "unit": "g CO2e (tonnes: t, exact to the gram)",
        "projects": rows,
        "totals": {"projects": len(rows), **_with_tonnes(totals)},
        "retirements": retirements,
        "ledger_size": int(logged or 0),
    }


def _retirements(session: Any) -> list[dict[str, Any]]:
    """Every confirmed retirement with its registry reference and the projects its tonnes are of."""
    per_project: dict[int, dict[str, int]] = defaultdict(dict)
    for retirement_id, code, count in session.execute(
        select(RetiredTonne.retirement_id, Project.code, func.count(RetiredTonne.id))
        .join(Batch, Batch.id == RetiredTonne.batch_id)
        .join(Project, Project.id == Batch.project_id)
        .join(Retirement, Retirement.id == RetiredTonne.retirement_id)
        .where(Retirement.status == RetirementStatus.CONFIRMED, RetiredTonne.active)
        .group_by(RetiredTonne.retirement_id, Project.code)
    ):
        per_project[retirement_id][code] = int(count)
    retirements = session.scalars(
        select(Retirement)
        .where(Retirement.status == RetirementStatus.CONFIRMED)
        .order_by(Retirement.retired_on.desc(), Retirement.id.desc())
    ).all()
    return [
        {
            "kind": retirement.kind_code,
            "tonnes": retirement.tonnes,
            "registry_ref": retirement.registry_ref,
            "registry_url": retirement.registry_url,
            "retired_on": retirement.retired_on.isoformat(),
            "projects": [
                {"code": code, "tonnes": count} for code, count in sorted(per_project[retirement.id].items())
            ],
        }
        for retirement in retirements
    ]


def report(cache_s: int) -> dict[str, Any]:
    """The report, from Redis when computed less than `cache_s` seconds ago (0: never cached)."""
    if cache_s <= 0:
        return compute()
    try:
        cached = get_redis().get(CACHE_KEY)
    except redis.RedisError as exc:
        log.warning("transparency cache unreadable: %s", exc)
        return compute()
    if cached is not None:
        return json.loads(cached)
    fresh = compute()
    try:
        get_redis().set(CACHE_KEY, json.dumps(fresh, ensure_ascii=False), ex=cache_s)
    except redis.RedisError as exc:
        log.warning("transparency cache not written: %s", exc)
    return fresh
