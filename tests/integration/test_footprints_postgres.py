"""Footprints and factor sets on PostgreSQL: calculate, offset, and concurrent publishing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from models import FactorSet
from models.database import read_session
from services.kernel.errors import Conflict
from tests.support.accounts import bearer, login_user
from tests.support.factors import publish_library
from tests.support.pool import stock_pool

pytestmark = pytest.mark.postgres


def test_calculate_and_offset_on_postgres(pg_client):
    publish_library()
    stock_pool()
    token, _ = login_user(pg_client, "pg-footprint")
    headers = bearer(token)
    # 1,000 kWh in Zhejiang (East China): 1,000 × 0.5500 kg = 550,000 g → 55 units
    body = {"province": "zhejiang", "home": {"electricity_kwh": 1000}}
    footprint = pg_client.post("/api/v1/footprints/calculate", json=body, headers=headers)
    assert footprint.status_code == 201, footprint.json
    assert footprint.json["total_g"] == 550_000
    placed = pg_client.post(f"/api/v1/me/footprints/{footprint.json['id']}/offset", headers=headers)
    assert placed.status_code == 201, placed.json
    assert placed.json["order"]["units"] == 55 and placed.json["order"]["channel"] == "footprint_offset"


def test_concurrent_publishing_keeps_one_current_version(pg_app):
    publish_library()

    def publish(_):
        try:
            return publish_library(note="concurrent").version
        except Conflict:
            return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(publish, range(4)))
    published = [v for v in results if v is not None]
    assert published
    session = read_session()
    current = session.scalars(select(FactorSet.version).where(FactorSet.is_current)).all()
    count = session.scalar(select(func.count()).select_from(FactorSet))
    session.rollback()
    assert current == [max(published)]
    assert count == 1 + len(published)
