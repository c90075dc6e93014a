"""One page of a query and the total it pages through: the count and offset every list shares.

Pages are 1-based and already bounded at the API (`api.blueprint`): `page` ≤ 100,000 and
`page_size` ≤ each list's maximum, so the offset always fits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def total_of(session: Session, query: Select) -> int:
    """How many rows `query` gives (its ordering ignored)."""
    return int(session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


def window(query: Select, page: int, page_size: int) -> Select:
    """`query` cut to page `page` of `page_size` rows (order it first)."""
    return query.offset((page - 1) * page_size).limit(page_size)


def objects_page(session: Session, query: Select, page: int, page_size: int) -> tuple[list[Any], int]:
    """The ORM objects of one page of an ordered `query`, and the total."""
    return list(session.scalars(window(query, page, page_size)).all()), total_of(session, query)


def rows_page(session: Session, query: Select, page: int, page_size: int) -> tuple[list[Any], int]:
    """The rows of one page of an ordered `query`, and the total."""
    return list(session.execute(window(query, page, page_size)).all()), total_of(session, query)
