"""`flask factors load` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from models import AuditEntry, Factor, FactorSet
from models.database import read_session
from tests.support.factors import FACTOR_DIR


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def versions() -> list[tuple[int, bool, int]]:
    session = read_session()
    rows = [
        (s.version, s.is_current, len(s.factors))
        for s in session.scalars(select(FactorSet).order_by(FactorSet.version)).all()
    ]
    session.rollback()
    return rows


def test_load_a_directory_publishes_version_1(runner):
    result = runner.invoke(args=["factors", "load", str(FACTOR_DIR), "--note", "first"])
    assert result.exit_code == 0, result.output
    assert "Published factor set version 1" in result.output
    assert "31 provinces" in result.output
    (version,) = versions()
    assert version[:2] == (1, True) and version[2] >= 30
    entry = read_session().scalar(select(AuditEntry).where(AuditEntry.entity == "factor_set"))
    assert entry.action == "publish" and entry.after["source"] == "cli:factors"


def test_one_file_makes_a_new_version_that_keeps_the_rest(runner, tmp_path: Path):
    runner.invoke(args=["factors", "load", str(FACTOR_DIR)])
    path = tmp_path / "grid.csv"
    path.write_text(
        "key,category,activity,unit,value,region,year,source\n"
        "electricity.grid.south,electricity,grid South,kgCO2/kWh,0.4000,China Southern grid,2024,A cited source\n"
    )
    result = runner.invoke(args=["factors", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "version 2" in result.output
    (v1, v2) = versions()
    assert v1[1] is False and v2[1] is True and v1[2] == v2[2]
    session = read_session()
    values = dict(
        session.execute(
            select(FactorSet.version, Factor.value).join(Factor).where(Factor.key == "electricity.grid.south")
        ).all()
    )
    session.rollback()
    assert values == {1: "0.4042", 2: "0.4000"}


def test_a_faulty_file_prints_its_rows_and_exits_1(runner, tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text("key,category,activity,unit,value,source\nBad Key,food,x,kgCO2e/kg,abc,\n")
    result = runner.invoke(args=["factors", "load", str(path)])
    assert result.exit_code == 1
    assert "bad.csv row 1 key" in result.output
    assert "bad.csv row 1 value" in result.output
    assert "bad.csv row 1 source" in result.output
    assert versions() == []


def test_the_first_version_needs_the_geography(runner):
    result = runner.invoke(args=["factors", "load", str(FACTOR_DIR / "food.csv")])
    assert result.exit_code == 1
    assert "provinces" in result.output
    assert versions() == []


def test_if_empty_loads_only_once(runner):
    assert "version 1" in runner.invoke(args=["factors", "load", "--if-empty"]).output
    assert "already published" in runner.invoke(args=["factors", "load", "--if-empty"]).output
    assert len(versions()) == 1
