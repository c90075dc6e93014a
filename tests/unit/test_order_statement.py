"""The one-statement order write stays within psycopg's cache of parsed queries (it is on every sale)."""

import pytest
from psycopg import _queries
from sqlalchemy import create_engine

from services.pool import reservations
from services.pool.reservations import Selector
from services.sales.order_rows import _insert_all

ORDER_COLUMNS = (
    "out_trade_no", "channel", "amount_fen", "units", "project_id", "owner_id", "holder_name",
    "provider", "prepay_id", "source_type", "source_id", "user_id", "status",
)  # fmt: skip


@pytest.mark.parametrize("capped", [False, True], ids=["no caps", "caps"])
@pytest.mark.parametrize("keyed", [False, True], ids=["no key", "Idempotency-Key"])
@pytest.mark.parametrize(
    "selector",
    [Selector(kind_codes=("FFCER", "CCER")), Selector(project_id=1, owner_id=2)],
    ids=["one-yuan", "chosen project and owner"],
)
def test_first_batch_statement_is_cacheable(selector, keyed, capped):
    dialect = create_engine("postgresql+psycopg://").dialect
    query, plan_parameters = reservations.plan_query(selector, True)
    compiled = _insert_all(ORDER_COLUMNS, 2, keyed, query, capped).compile(dialect=dialect)
    assert len(str(compiled).encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH
    assert len(compiled.params) + len(plan_parameters) <= _queries.MAX_CACHED_STATEMENT_PARAMS
