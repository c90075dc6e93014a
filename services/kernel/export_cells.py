"""CSV and XLSX documents whose text cells can never run as spreadsheet formulas.

Every export (sales reports, owner payouts, retirement tonne lists) is written here. Owner,
project and registry names are typed by people; a spreadsheet program opening a cell that starts
with `=`, `+`, `-`, `@`, a tab or a line break treats it as a formula (`=cmd|' /C calc'!A0`).
The OWASP CSV-injection rule is applied to text cells only, so that numbers (negative refunds
included) stay numbers:

- CSV: such a text cell gets a leading single quote, which spreadsheets show as a text marker;
- XLSX: the cell is stored as a string (openpyxl would otherwise write a text starting with `=`
  as a formula), marked `quotePrefix` so that editing it in the spreadsheet keeps it text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
BYTE_ORDER_MARK = "\ufeff"


def is_formula_like(value: object) -> bool:
    """True for a text that a spreadsheet program would read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def csv_cell(value: object) -> object:
    """The value as a CSV cell: None is empty, formula-like text gets a leading single quote."""
    if value is None:
        return ""
    if is_formula_like(value):
        return "'" + str(value)
    return value


def csv_document(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV text (CRLF lines) with a byte-order mark, so spreadsheets read Chinese names as UTF-8."""
    out = io.StringIO()
    out.write(BYTE_ORDER_MARK)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(name) for name in header])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()


def _xlsx_cell(sheet: object, value: object) -> object:
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # openpyxl takes any text starting with "=" for a formula
    if is_formula_like(value):
        cell.quotePrefix = True
    return cell


def xlsx_document(sheet_name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """An XLSX workbook of one sheet, streamed row by row (openpyxl's write-only mode)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name)
    sheet.append([_xlsx_cell(sheet, name) for name in header])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
