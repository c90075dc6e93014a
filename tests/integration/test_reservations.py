"""The reservation primitive: reserve, confirm, release, return; serial slices; the audit."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from models import Allocation, Batch, ReservationStatus, utcnow
from models.database import unit_of_work
from services.kernel.errors import InsufficientCredits, InvalidState
from services.pool import reservations
from services.pool.pool_audit import run_audit
from services.pool.reservations import Selector
from tests.factories import make_batch, make_project

TONNE = 1_000_000


def _pool(tonnes_by_vintage: dict[int, int], **project_kwargs):
    with unit_of_work() as session:
        project = make_project(session, **project_kwargs)
        ids = [
            make_batch(session, project, tonnes, vintage=vintage).id
            for vintage, tonnes in tonnes_by_vintage.items()
        ]
        return project.id, ids


def _batch(batch_id: int) -> Batch:
    with unit_of_work() as session:
        return session.get(Batch, batch_id, populate_existing=True)


def test_oldest_vintage_first_and_spanning_batches(app):
    _, (new, old) = _pool({2023: 1, 2020: 1})
    rid = reservations.reserve(TONNE + 10_000, Selector(), ttl_s=60)
    assert _batch(old).reserved_g == TONNE
    assert _batch(new).reserved_g == 10_000
    assert _batch(new).available_g == TONNE - 10_000
    assert list(run_audit(pool_only=True)) == []
    reservations.confirm(rid)
    assert _batch(old).sold_g == TONNE and _batch(old).reserved_g == 0


def test_chosen_project_or_owner_only(app):
    pid, _ = _pool({2021: 1}, code="A", owner="Farmer Lin")
    with unit_of_work() as session:
        other = make_project(session, code="B", owner="Collective Yang")
        make_batch(session, other, 5, prefix="FFCER-B-")
        other_owner = other.owner_id
    rid = reservations.reserve(20_000, Selector(owner_id=other_owner), ttl_s=60)
    with unit_of_work() as session:
        (allocation,) = session.scalars(select(Allocation).where(Allocation.reservation_id == rid)).all()
        assert allocation.batch.project_id != pid
    with pytest.raises(InsufficientCredits):
        reservations.reserve(2 * TONNE, Selector(project_id=pid), ttl_s=60)


def test_insufficient_pool_changes_nothing(app):
    _, (bid,) = _pool({2021: 1})
    with pytest.raises(InsufficientCredits) as info:
        reservations.reserve(TONNE + 1, Selector(), ttl_s=60)
    assert info.value.details["available_g"] == TONNE
    assert _batch(bid).available_g == TONNE


def test_release_returns_grams_and_they_are_reused_first(app):
    _, (bid,) = _pool({2021: 1})
    first = reservations.reserve(10_000, Selector(), ttl_s=60)
    second = reservations.reserve(10_000, Selector(), ttl_s=60)
    reservations.release(first)
    assert _batch(bid).available_g == TONNE - 10_000
    third = reservations.reserve(10_000, Selector(), ttl_s=60)
    with unit_of_work() as session:
        starts = {
            r: session.scalars(select(Allocation.start_g).where(Allocation.reservation_id == r)).one()
            for r in (second, third)
        }
    assert starts == {second: 10_000, third: 0}
    assert list(run_audit(pool_only=True)) == []


@pytest.mark.parametrize(
    "database", ["app", pytest.param("pg_app", marks=pytest.mark.postgres)], ids=["sqlite", "postgresql"]
)
def test_returned_grams_then_the_tail_then_the_tail_alone(database, request):
    request.getfixturevalue(database)  # the take from the tail is one statement on PostgreSQL
    _, (bid,) = _pool({2021: 1})
    first = reservations.reserve(10_000, Selector(), ttl_s=60)
    reservations.reserve(10_000, Selector(), ttl_s=60)
    reservations.release(first)
    mixed = reservations.reserve(15_000, Selector(), ttl_s=60)  # the returned 10 kg, then 5 kg of tail
    tail = reservations.reserve(10_000, Selector(), ttl_s=60)  # no free range left: straight from the tail

    def slices(rid):
        with unit_of_work() as session:
            return sorted(
                session.execute(
                    select(Allocation.start_g, Allocation.end_g).where(Allocation.reservation_id == rid)
                ).all()
            )

    assert slices(mixed) == [(0, 10_000), (20_000, 25_000)]
    assert slices(tail) == [(25_000, 35_000)]
    batch = _batch(bid)
    assert (batch.cursor_g, batch.available_g, batch.reserved_g) == (35_000, TONNE - 35_000, 35_000)
    assert list(run_audit(pool_only=True)) == []


def test_confirm_and_release_happen_once(app):
    _pool({2021: 1})
    rid = reservations.reserve(10_000, Selector(), ttl_s=60)
    reservations.confirm(rid)
    with pytest.raises(InvalidState):
        reservations.confirm(rid)
    with pytest.raises(InvalidState):
        reservations.release(rid)


def test_serial_slices_split_at_tonne_boundaries(app):
    _, (bid,) = _pool({2021: 3})
    reservations.reserve(TONNE - 10_000, Selector(), ttl_s=60)
    rid = reservations.reserve(30_000, Selector(), ttl_s=60)
    with unit_of_work() as session:
        allocations = session.scalars(select(Allocation).where(Allocation.reservation_id == rid)).all()
        slices = reservations.serial_slices(session, allocations)
        batch = session.get(Batch, bid)
    assert [(s.serial, s.from_g, s.to_g) for s in slices] == [
        (batch.serial(0), 990_000, 999_999),
        (batch.serial(1), 0, 19_999),
    ]
    assert slices[0].serial == f"FFCER-T-{str(batch.serial_start).zfill(7)}"


def test_partial_return_of_sold_grams(app):
    _, (bid,) = _pool({2021: 1})
    rid = reservations.reserve(50_000, Selector(), ttl_s=60)
    reservations.confirm(rid)
    with unit_of_work() as session:
        returned = reservations.return_sold_in(session, rid, 20_000)
    assert returned == [(bid, 30_000, 50_000)]
    assert _batch(bid).sold_g == 30_000
    assert _batch(bid).available_g == TONNE - 30_000
    assert list(run_audit(pool_only=True)) == []


def test_audit_finds_planted_violations(app):
    _, (bid,) = _pool({2021: 1})
    rid = reservations.reserve(10_000, Selector(), ttl_s=60)
    reservations.confirm(rid)
    assert list(run_audit(pool_only=True)) == []
    with unit_of_work() as session:
        # A second slice over grams already sold, and counters that no longer add up to what slices hold.
        session.add(Allocation(reservation_id=rid, batch_id=bid, start_g=5_000, end_g=8_000, state="sold"))
        session.execute(text("UPDATE batches SET sold_g = sold_g + 3000, available_g = available_g - 3000"))
    rules = {v.rule for v in run_audit(pool_only=True)}
    assert {"overlap", "reservation", "available-slices"} <= rules


def test_audit_cli_exit_codes(app):
    _pool({2021: 1})
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["credits", "audit"])
    assert clean.exit_code == 0, clean.output
    with unit_of_work() as session:
        session.execute(text("UPDATE batches SET cursor_g = 10"))
    planted = runner.invoke(args=["credits", "audit"])
    assert planted.exit_code == 1
    assert "available-slices" in planted.output


def test_expired_reservation_can_still_be_released(app):
    _, (bid,) = _pool({2021: 1})
    with unit_of_work() as session:
        rid = reservations.reserve_in(session, 10_000, Selector(), utcnow() - timedelta(seconds=1)).id
    reservations.release(rid)
    with unit_of_work() as session:
        assert session.get(Batch, bid).available_g == TONNE
        from models import Reservation

        assert session.get(Reservation, rid).status == ReservationStatus.RELEASED
