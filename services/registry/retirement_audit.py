"""Audit checks of registry retirements against the pool.

Every tonne held by a retirement that is not cancelled is fully sold; each batch's `retired_g` is
exactly its tonnes in confirmed retirements × 1,000,000; tonne rows agree with their batch and
their retirement. (retired_g <= sold_g per batch is checked with the batch counters.)
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import GRAMS_PER_TONNE, Batch, Project, RetiredTonne, Retirement, RetirementStatus
from services.pool.pool_audit import Violation, register_check
from services.registry.retirement import tonnes_not_fully_sold


@register_check
def retired_tonnes_are_fully_sold(session: Session) -> Iterator[Violation]:
    for retirement_id, batch_id, tonne, sold_g in tonnes_not_fully_sold(session):
        yield Violation(
            "retired-not-sold",
            f"batch {batch_id} tonne {tonne}",
            f"in retirement {retirement_id} but only {sold_g} of {GRAMS_PER_TONNE} g are sold",
        )


@register_check
def retired_grams_match_confirmed_tonnes(session: Session) -> Iterator[Violation]:
    confirmed = (
        select(RetiredTonne.batch_id, func.count().label("tonnes"))
        .join(Retirement, Retirement.id == RetiredTonne.retirement_id)
        .where(RetiredTonne.active, Retirement.status == RetirementStatus.CONFIRMED)
        .group_by(RetiredTonne.batch_id)
        .subquery()
    )
    rows = session.execute(
        select(Batch.id, Batch.retired_g, func.coalesce(confirmed.c.tonnes, 0))
        .outerjoin(confirmed, confirmed.c.batch_id == Batch.id)
        .where(Batch.retired_g != func.coalesce(confirmed.c.tonnes, 0) * GRAMS_PER_TONNE)
        .order_by(Batch.id)
    )
    for batch_id, retired_g, tonnes in rows:
        yield Violation(
            "retired-count",
            f"batch {batch_id}",
            f"retired_g {retired_g} but confirmed retirements hold {tonnes} t",
        )


@register_check
def retired_tonne_rows_agree(session: Session) -> Iterator[Violation]:
    rows = session.execute(
        select(
            RetiredTonne.id,
            RetiredTonne.batch_id,
            RetiredTonne.tonne_index,
            RetiredTonne.serial,
            RetiredTonne.active,
            Retirement.id,
            Retirement.status,
            Retirement.kind_code,
            Batch,
            Project.kind_code,
        )
        .join(Retirement, Retirement.id == RetiredTonne.retirement_id)
        .join(Batch, Batch.id == RetiredTonne.batch_id)
        .join(Project, Project.id == Batch.project_id)
        .order_by(RetiredTonne.id)
    ).yield_per(5000)
    for _id, batch_id, tonne, serial, active, retirement_id, status, kind, batch, project_kind in rows:
        subject = f"batch {batch_id} tonne {tonne}"
        if tonne >= batch.quantity_t:
            yield Violation("retirement-rows", subject, f"beyond the batch's {batch.quantity_t} t")
        elif serial != batch.serial(tonne):
            yield Violation(
                "retirement-rows", subject, f"serial {serial} but the batch says {batch.serial(tonne)}"
            )
        if active != (status != RetirementStatus.CANCELLED):
            yield Violation(
                "retirement-rows",
                subject,
                f"{'active' if active else 'inactive'} in retirement {retirement_id}, which is {status.value}",
            )
        if kind != project_kind:
            yield Violation(
                "retirement-rows", subject, f"a {project_kind} tonne in {kind} retirement {retirement_id}"
            )
    counted = session.execute(
        select(Retirement.id, Retirement.tonnes, func.count(RetiredTonne.id))
        .outerjoin(RetiredTonne, RetiredTonne.retirement_id == Retirement.id)
        .group_by(Retirement.id, Retirement.tonnes)
        .having(func.count(RetiredTonne.id) != Retirement.tonnes)
    )
    for retirement_id, tonnes, found in counted:
        yield Violation(
            "retirement-rows", f"retirement {retirement_id}", f"says {tonnes} t but lists {found}"
        )
