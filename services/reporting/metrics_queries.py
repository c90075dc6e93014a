"""Aggregates for the metrics endpoint, read at scrape time."""

from __future__ import annotations

from sqlalchemy import func, select

from models import Batch, Order, Project
from models.database import read_session


def orders_by_status() -> list[tuple[str, int]]:
    session = read_session()
    rows = session.execute(select(Order.status, func.count()).group_by(Order.status)).all()
    session.rollback()
    return [(status.value, count) for status, count in rows]


def pool_by_kind() -> list[tuple[str, int, int, int, int]]:
    session = read_session()
    rows = session.execute(
        select(
            Project.kind_code,
            func.sum(Batch.available_g),
            func.sum(Batch.reserved_g),
            func.sum(Batch.sold_g),
            func.sum(Batch.retired_g),
        )
        .join(Project, Project.id == Batch.project_id)
        .group_by(Project.kind_code)
    ).all()
    session.rollback()
    return [tuple(int(v or 0) if i else v for i, v in enumerate(row)) for row in rows]
