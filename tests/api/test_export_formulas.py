"""Every CSV and XLSX export keeps hostile owner, project and registry names from running as formulas.

Names typed by people reach the sales report, the owner payouts and the registry's tonne list; a
spreadsheet opening `=cmd|' /C calc'!A0` as a cell would run it. Each export endpoint, of the API
and of the console, is driven here with such names; no cell may be a formula, every hostile name
must still be there as text, and the numbers (a negative month's payout too) must stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from models import Order, Refund
from models.database import unit_of_work
from services.kernel import beijing_time
from tests.factories import make_batch, make_project
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.console import console_login, draft_retirement
from tests.support.rollups import rebuild_rollups
from tests.support.sales import buy

HOSTILE_OWNERS = ("=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\r=1+1")
HOSTILE_PROJECTS = ('+HYPERLINK("http://evil.example","x")', "-2+3+cmd|' /C calc'!A0", "\t=1+1")
HOSTILE_CODES = ("=A1", "-5", "@B2")
HOSTILE_REGISTRY_REF = '=WEBSERVICE("http://evil.example")'
HOSTILE_SERIAL_PREFIX = "+FFCER-T-"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
NUMBER = re.compile(r"-?\d+(\.\d+)?")

# Every route that serves a CSV or XLSX file; a new export must be added here (and so tested).
EXPORT_RULES = {
    "/api/v1/admin/reports/sales/export",
    "/api/v1/admin/payouts/export",
    "/api/v1/admin/retirements/<int:retirement_id>/tonnes.csv",
    "/console/sales/export.<fmt>",
    "/console/payouts/export.csv",
    "/console/retirements/<int:retirement_id>/tonnes.csv",
}


def _hostile_pool() -> list[int]:
    """Three one-tonne FFCER projects whose owner, name, code and registry reference are formulas."""
    owner_ids = []
    with unit_of_work() as session:
        for owner, name, code in zip(HOSTILE_OWNERS, HOSTILE_PROJECTS, HOSTILE_CODES, strict=True):
            project = make_project(session, code=code, owner=owner)
            project.name = name
            batch = make_batch(session, project, 1, prefix=HOSTILE_SERIAL_PREFIX)
            batch.registry_ref = HOSTILE_REGISTRY_REF
            owner_ids.append(project.owner_id)
    return owner_ids


@pytest.fixture
def scene(client):
    """Two hostile projects fully sold (retirable), the third's sale moved to last month and refunded in part."""
    admin_id = console_login(client)
    admin = bearer(login_admin(client)[0])
    owners = _hostile_pool()
    buyers = [bearer(login_user(client, f"hostile-buyer-{i}")[0]) for i in range(3)]
    for buyer, owner_id in zip(buyers[:2], owners[:2], strict=True):
        buy(client, buyer, 100, owner_id=owner_id)  # 100 units of 10 kg: the whole tonne
    late = buy(client, buyers[2], 30, owner_id=owners[2])
    with unit_of_work() as session:
        paid_at = session.scalar(select(Order.paid_at).where(Order.out_trade_no == late))
        month_before = beijing_time.add_months(beijing_time.beijing_date(paid_at), -1)
        session.execute(
            update(Order)
            .where(Order.out_trade_no == late)
            .values(paid_at=beijing_time.day_start_utc(month_before) + timedelta(hours=10))
        )
    rebuild_rollups()  # an edit in SQL moves no rollup
    refund = client.post(
        f"/api/v1/admin/orders/{late}/refunds", json={"grams": 100_000, "reason": "asked"}, headers=admin
    )
    assert refund.status_code == 201, refund.json
    with unit_of_work() as session:
        refunded_at = session.scalar(
            select(Refund.completed_at).where(Refund.out_refund_no == refund.json["out_refund_no"])
        )
    return {
        "admin": admin,
        "retirement_id": draft_retirement(admin_id),
        "month": f"{beijing_time.beijing_date(refunded_at):%Y-%m}",
    }


def _csv_cells(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def _assert_csv_safe(body: bytes, expected_texts: set[str]) -> list[list[str]]:
    rows = _csv_cells(body)
    for row in rows:
        for cell in row:
            assert not cell.startswith(TRIGGERS) or NUMBER.fullmatch(cell), f"live formula cell {cell!r}"
    cells = {cell for row in rows for cell in row}
    missing = {text for text in expected_texts if "'" + text not in cells}
    assert not missing, f"hostile names missing from the export: {missing}"
    return rows


def _assert_xlsx_safe(body: bytes, expected_texts: set[str]) -> None:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in archive.read(name).decode(), f"a formula in {name}"
    workbook = load_workbook(io.BytesIO(body))
    texts = set()
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"formula cell {cell.coordinate}: {cell.value!r}"
                if isinstance(cell.value, str):
                    texts.add(cell.value)
                    if cell.value.startswith(TRIGGERS):
                        assert cell.quotePrefix, f"{cell.coordinate} is not marked as text"
    # XML reads a lone CR back as LF
    missing = {text.replace("\r", "\n") for text in expected_texts} - texts
    assert not missing, f"hostile names missing from the workbook: {missing}"


def _get(client, path, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.data


def test_every_export_route_is_covered_here(app):
    exports = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.endswith((".csv", ".xlsx", "/export", ".<fmt>")) or "export" in rule.rule
    }
    # A person's own data as one JSON document (the right of access), not a spreadsheet.
    exports.discard("/api/v1/me/export")
    assert exports == EXPORT_RULES


def test_sales_exports_write_no_formula(client, scene):
    admin = scene["admin"]
    names = {*HOSTILE_OWNERS, *HOSTILE_PROJECTS, *HOSTILE_CODES}
    query = {"group_by": "project,owner,kind,channel,product"}
    api = "/api/v1/admin/reports/sales/export"
    _assert_csv_safe(_get(client, api, query_string={**query, "format": "csv"}, headers=admin), names)
    _assert_xlsx_safe(_get(client, api, query_string={**query, "format": "xlsx"}, headers=admin), names)
    console_query = {"group_by": ["project", "owner", "kind", "channel", "product"]}
    _assert_csv_safe(_get(client, "/console/sales/export.csv", query_string=console_query), names)
    _assert_xlsx_safe(_get(client, "/console/sales/export.xlsx", query_string=console_query), names)


@pytest.mark.parametrize("group", ["project", "owner"])
def test_payout_exports_write_no_formula_and_keep_negative_numbers(client, scene, group):
    names = set(HOSTILE_OWNERS)
    if group == "project":
        names |= {*HOSTILE_PROJECTS, *HOSTILE_CODES}
    query = {"month": scene["month"], "group": group}
    for body in (
        _get(client, "/api/v1/admin/payouts/export", query_string=query, headers=scene["admin"]),
        _get(client, "/console/payouts/export.csv", query_string=query),
    ):
        rows = _assert_csv_safe(body, names)
        header, lines = rows[0], rows[1:]
        records = [dict(zip(header, line, strict=True)) for line in lines]
        refunded = [row for row in records if row["net_yuan"].startswith("-")]
        assert [(row["net_fen"], row["net_yuan"]) for row in refunded] == [("-1000", "-10.00")]


def test_retirement_tonne_lists_write_no_formula(client, scene):
    names = {*HOSTILE_PROJECTS[:2], *HOSTILE_CODES[:2], HOSTILE_REGISTRY_REF}
    path = f"retirements/{scene['retirement_id']}/tonnes.csv"
    for body in (
        _get(client, f"/api/v1/admin/{path}", headers=scene["admin"]),
        _get(client, f"/console/{path}"),
    ):
        rows = _assert_csv_safe(body, names)
        serials = [line[0] for line in rows[1:]]
        assert len(serials) == 2 and all(s.startswith("'" + HOSTILE_SERIAL_PREFIX) for s in serials)
