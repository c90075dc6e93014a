"""Sales report exports: the same rows as the report, as CSV (UTF-8 with BOM) or XLSX.

Both are written by `services.kernel.export_cells`, which streams the XLSX rows (openpyxl's write-only
mode) and keeps every text cell from running as a formula.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.kernel.export_cells import csv_document, xlsx_document
from services.reporting.sales_reports import METRICS, ReportRow

COLUMNS_BY_DIMENSION: dict[str, tuple[str, ...]] = {
    "day": ("period",),
    "week": ("period",),
    "month": ("period",),
    "product": ("product",),
    "kind": ("kind",),
    "project": ("project_id", "project_code", "project_name"),
    "owner": ("owner_id", "owner_name"),
    "channel": ("channel",),
}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def columns_for(group_by: list[str]) -> list[str]:
    """The header of an export grouped by `group_by`: its dimensions, then every metric."""
    names: list[str] = []
    for dimension in dict.fromkeys(group_by):
        names += [c for c in COLUMNS_BY_DIMENSION[dimension] if c not in names]
    return [*names, *METRICS]


def _values(row: ReportRow, columns: list[str]) -> list[object]:
    return [getattr(row, column) for column in columns]


def to_csv(rows: Iterable[ReportRow], group_by: list[str]) -> bytes:
    """CSV with a header row; a BOM so that spreadsheet programs read the Chinese names as UTF-8."""
    columns = columns_for(group_by)
    return csv_document(columns, (_values(row, columns) for row in rows)).encode("utf-8")


def to_xlsx(rows: Iterable[ReportRow], group_by: list[str]) -> bytes:
    """An XLSX workbook with one sheet `sales`: a header row, then one row per group."""
    columns = columns_for(group_by)
    return xlsx_document("sales", columns, (_values(row, columns) for row in rows))


def export(rows: Iterable[ReportRow], group_by: list[str], fmt: str) -> tuple[bytes, str]:
    """The export body and its content type; `fmt` is csv or xlsx."""
    body = to_csv(rows, group_by) if fmt == "csv" else to_xlsx(rows, group_by)
    return body, CONTENT_TYPES[fmt]
