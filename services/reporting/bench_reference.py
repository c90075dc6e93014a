"""The benchmark's reference work: one conditional UPDATE of one row, and nothing else."""

from __future__ import annotations

from sqlalchemy import update

from models import BenchCounter
from models.database import whole_statement

COUNTER_ID = 1


def touch() -> int:
    """Add one to the bench counter; gives the number of rows updated (1, or 0 without the row).

    One write that is whole by itself, so it runs as its own transaction (`whole_statement`), the way
    the service writes its hot rows: the row is locked only while the statement runs.
    """
    with whole_statement() as connection:
        return connection.execute(_TOUCH).rowcount


_TOUCH = (
    update(BenchCounter.__table__)
    .where(BenchCounter.id == COUNTER_ID, BenchCounter.hits >= 0)
    .values(hits=BenchCounter.hits + 1)
)
