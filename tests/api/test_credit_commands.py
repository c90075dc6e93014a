"""`flask credits import` and `flask demo load` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import AuditEntry, Batch, CreditKind, Project, ProjectOwner
from models.database import read_session
from services.pool import catalogue_admin

HEADER = "project_code,vintage,serial_prefix,serial_start,serial_end,quantity_t,issued_on,registry_ref"


def count(model) -> int:
    session = read_session()
    total = session.scalar(select(func.count()).select_from(model))
    session.rollback()
    return total


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def project(app):
    catalogue_admin.create_kind(None, {"code": "FFCER", "name": "FFCER"})
    return catalogue_admin.create_project(None, {"code": "SC-01", "name": "顺昌", "kind_code": "FFCER"})


def test_cli_import_prints_the_summary_and_exits_0(runner, project, tmp_path: Path):
    path = tmp_path / "batches.csv"
    path.write_text(
        HEADER + "\nSC-01,2021,F-,1,1500,1500,2022-01-01,R1\nSC-01,2022,F-,1501,2000,500,2023-01-01,R2\n"
    )

    result = runner.invoke(args=["credits", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert "Imported 2 batches, 2,000 t" in result.output
    assert "SC-01: 2 batches, 2,000 t" in result.output
    assert count(Batch) == 2
    entry = read_session().scalar(select(AuditEntry).where(AuditEntry.action == "batches.import"))
    assert entry.actor_id is None and entry.after["source"] == "cli:batches.csv"


def test_cli_import_prints_every_bad_row_and_exits_1(runner, project, tmp_path: Path):
    path = tmp_path / "batches.json"
    path.write_text(
        '[{"project_code": "SC-01", "vintage": 2021, "serial_prefix": "F-", "serial_start": 1,'
        ' "serial_end": 10, "quantity_t": 10, "issued_on": "2022-01-01", "registry_ref": "R"},'
        ' {"project_code": "XX", "vintage": 2021, "serial_prefix": "F-", "serial_start": 5,'
        ' "serial_end": 10, "quantity_t": 9, "issued_on": "2022-01-01", "registry_ref": "R"}]'
    )

    result = runner.invoke(args=["credits", "import", str(path)])

    assert result.exit_code == 1
    assert "row 2 project_code: No project with code 'XX'" in result.output
    assert "row 2 serial_start" in result.output and "overlap row 1" in result.output
    assert "row 2 quantity_t" in result.output
    assert "nothing was imported" in result.output
    assert count(Batch) == 0


def test_cli_import_needs_a_format_it_can_tell(runner, project, tmp_path: Path):
    path = tmp_path / "batches.txt"
    path.write_text(HEADER + "\nSC-01,2021,F-,1,10,10,2022-01-01,R\n")

    unknown = runner.invoke(args=["credits", "import", str(path)])
    given = runner.invoke(args=["credits", "import", str(path), "--format", "csv"])

    assert unknown.exit_code == 2 and "--format" in unknown.output
    assert given.exit_code == 0, given.output
    assert count(Batch) == 1


def test_demo_load_fills_an_empty_catalogue_once(runner, app):
    first = runner.invoke(args=["demo", "load", "--if-empty"])
    counts = (count(CreditKind), count(ProjectOwner), count(Project), count(Batch))
    second = runner.invoke(args=["demo", "load", "--if-empty"])

    assert first.exit_code == 0, first.output
    assert "Demo data loaded" in first.output
    assert counts[0] == 5 and counts[1] >= 4 and counts[2] >= 3 and counts[3] >= 5
    assert second.exit_code == 0
    assert "not empty" in second.output
    assert (count(CreditKind), count(ProjectOwner), count(Project), count(Batch)) == counts


def test_demo_load_without_the_flag_adds_nothing_twice(runner, app):
    runner.invoke(args=["demo", "load"])
    counts = (count(CreditKind), count(ProjectOwner), count(Project), count(Batch))

    again = runner.invoke(args=["demo", "load"])

    assert again.exit_code == 0, again.output
    assert (count(CreditKind), count(ProjectOwner), count(Project), count(Batch)) == counts


def test_demo_catalogue_sells_shunchang_one_yuan_units_and_sanming_tickets(runner, client):
    runner.invoke(args=["demo", "load", "--if-empty"])

    shunchang = client.get("/api/v1/catalogue/projects?county=顺昌县&kind=FFCER").json
    farmers = client.get("/api/v1/catalogue/owners?county=顺昌县&kind=forest_farmer").json
    tickets = client.get("/api/v1/catalogue/projects?kind=SMCER").json
    kinds = {k["code"] for k in client.get("/api/v1/catalogue/kinds").json}

    assert kinds == {"FFCER", "CCER", "SMCER", "PHCER", "CQCER"}
    assert shunchang and all(p["unit_price_fen"] == 100 and p["available_t"] > 0 for p in shunchang)
    assert {p["owner"]["kind"] for p in shunchang} == {"forest_farmer", "village_collective"}
    assert farmers
    assert tickets and tickets[0]["price_fen_per_t"] == 1500
