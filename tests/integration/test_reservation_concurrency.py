"""On PostgreSQL: many concurrent reservers against a pool that sells out never oversell."""

import random
import threading

import pytest
from sqlalchemy import func, select

from models import Batch
from models.database import db_session, unit_of_work
from services.kernel.errors import InsufficientCredits
from services.pool import reservations
from services.pool.pool_audit import run_audit
from services.pool.reservations import Selector
from tests.factories import make_batch, make_project

pytestmark = pytest.mark.postgres

TONNE = 1_000_000
RESERVERS = 60


@pytest.fixture
def app_overrides():
    return {"DATABASE_POOL_SIZE": 40}


def test_concurrent_reservers_never_oversell(pg_app):
    with unit_of_work() as session:
        project = make_project(session)
        batch_ids = [make_batch(session, project, 1, vintage=2019 + i).id for i in range(2)]
    issued = 2 * TONNE
    barrier = threading.Barrier(RESERVERS)
    outcomes: list[tuple[str, int]] = []
    lock = threading.Lock()
    rng = random.Random(7)
    wants = [rng.choice([10_000, 50_000, 90_000, 130_000]) for _ in range(RESERVERS)]
    assert sum(wants) > issued  # the pool must sell out

    def reserver(index: int) -> None:
        grams = wants[index]
        try:
            with pg_app.app_context():
                barrier.wait()
                try:
                    rid = reservations.reserve(grams, Selector(), ttl_s=60)
                except InsufficientCredits:
                    outcome = ("refused", grams)
                else:
                    if index % 3 == 0:
                        reservations.release(rid)
                        outcome = ("released", grams)
                    else:
                        reservations.confirm(rid)
                        outcome = ("sold", grams)
        finally:
            db_session.remove()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=reserver, args=(i,)) for i in range(RESERVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == RESERVERS

    sold = sum(g for what, g in outcomes if what == "sold")
    with unit_of_work() as session:
        totals = session.execute(
            select(func.sum(Batch.sold_g), func.sum(Batch.reserved_g), func.sum(Batch.available_g)).where(
                Batch.id.in_(batch_ids)
            )
        ).one()
    assert totals == (sold, 0, issued - sold)
    assert sold <= issued
    assert any(what == "refused" for what, _ in outcomes)
    assert list(run_audit(pool_only=True)) == []
