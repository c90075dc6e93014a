"""The benchmark's reference work: one conditional UPDATE of one row, and nothing else."""

from __future__ import annotations

from sqlalchemy import update

from models import BenchCounter
from models.database import unit_of_work

COUNTER_ID = 1


def touch() -> int:
    """Add one to the bench counter; gives the number of rows updated (1, or 0 without the row)."""
    with unit_of_work() as session:
        result = session.execute(
            update(BenchCounter)
            .where(BenchCounter.id == COUNTER_ID, BenchCounter.hits >= 0)
            .values(hits=BenchCounter.hits + 1)
        )
        return result.rowcount
