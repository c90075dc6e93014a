"""The benchmark's reference endpoint: served only when the setting is on, one UPDATE of one row."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api import create_app
from config import ConfigurationError, load_settings
from models import BenchCounter
from models.database import read_session, unit_of_work


def test_the_reference_endpoint_is_off_by_default(client):
    assert client.post("/api/v1/_reference/touch").status_code == 404


@pytest.mark.parametrize("app_overrides", [{"BENCH_REFERENCE_ENDPOINT": True}])
def test_the_reference_endpoint_updates_the_one_counter_row(client):
    # The migration inserts this row; the test fixture empties every table, so put it back.
    with unit_of_work() as session:
        session.add(BenchCounter(id=1, hits=0))
    for _ in range(3):
        response = client.post("/api/v1/_reference/touch")
        assert response.status_code == 200 and response.json == {"updated": 1}
    session = read_session()
    assert [(c.id, c.hits) for c in session.scalars(select(BenchCounter))] == [(1, 3)]
    session.rollback()


def test_production_refuses_the_reference_endpoint():
    with pytest.raises(ConfigurationError) as info:
        load_settings("production", environ={"BENCH_REFERENCE_ENDPOINT": "true"})
    assert "BENCH_REFERENCE_ENDPOINT" in str(info.value)


def test_the_app_factory_reads_the_setting(sqlite_url):
    app = create_app("testing", overrides={"DATABASE_URL": sqlite_url, "BENCH_REFERENCE_ENDPOINT": True})
    assert "/api/v1/_reference/touch" in {rule.rule for rule in app.url_map.iter_rules()}
