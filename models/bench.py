"""The one-row table of the benchmark's reference endpoint (a single conditional UPDATE)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class BenchCounter(Base):
    __tablename__ = "bench_counters"
    __table_args__ = (CheckConstraint("hits >= 0", name="hits_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
