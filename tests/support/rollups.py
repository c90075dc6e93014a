"""Tests that edit orders by hand in SQL (backdating a payment, changing a channel) rebuild the
rollups afterwards, as an operator would after such a repair: the rollups follow the write paths."""

from __future__ import annotations

from services.reporting.rollup_rebuild import rebuild


def rebuild_rollups() -> None:
    """Build every rollup again from the orders, refunds, order events and points entries."""
    rebuild()
