"""Two imports racing for the same serials on PostgreSQL: one wins, the other is told of the overlap."""

from __future__ import annotations

import contextlib
import threading

import pytest
from sqlalchemy import func, select

from models import Batch
from models.database import db_session, read_session
from services.kernel.errors import ValidationFailed
from services.pool import batch_import, catalogue_admin

HEADER = "project_code,vintage,serial_prefix,serial_start,serial_end,quantity_t,issued_on,registry_ref"


@pytest.mark.postgres
def test_concurrent_overlapping_imports_cannot_both_land(pg_app, monkeypatch):
    catalogue_admin.create_kind(None, {"code": "FFCER", "name": "FFCER"})
    catalogue_admin.create_project(None, {"code": "SC-01", "name": "顺昌", "kind_code": "FFCER"})
    files = [
        HEADER + "\nSC-01,2021,F-,1,100,100,2022-01-01,A\n",
        HEADER + "\nSC-01,2021,F-,50,150,101,2022-01-01,B\n",  # overlaps the first from 50 to 100
    ]
    # Hold each import just after its overlap check until the other has checked too (or 2 s pass):
    # without serialisation both would pass the check and both would land.
    both_checked = threading.Barrier(2, timeout=2)
    original = batch_import._check_overlaps_with_pool

    def check_then_wait(*args, **kwargs):
        original(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait()

    monkeypatch.setattr(batch_import, "_check_overlaps_with_pool", check_then_wait)
    outcomes: list[str] = []

    def run(content: str) -> None:
        try:
            batch_import.import_batches(content, "csv", actor_id=None)
            outcomes.append("imported")
        except ValidationFailed as error:
            outcomes.append(error.errors[0]["field"])
        finally:
            db_session.remove()

    threads = [threading.Thread(target=run, args=(content,)) for content in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["imported", "serial_start"]
    assert read_session().scalar(select(func.count()).select_from(Batch)) == 1
