"""Whole numbers written as text: ASCII digits only, never so many that int() refuses them."""

import pytest

from services.kernel.whole_numbers import parse_whole
from services.pool.batch_import import read_rows


@pytest.mark.parametrize(("text", "number"), [("0", 0), (" 42 ", 42), ("9" * 18, int("9" * 18))])
def test_ascii_digits_are_read(text, number):
    assert parse_whole(text) == number


@pytest.mark.parametrize("text", ["", "²", "٣", "1.5", "-1", "1_0", "9" * 19, "9" * 5000])
def test_anything_else_is_not_a_whole_number(text):
    assert parse_whole(text) is None


def test_a_batch_file_with_a_huge_or_foreign_number_is_refused_row_by_row(app):
    from services.kernel.errors import ValidationFailed
    from services.pool.batch_import import check_import

    header = "project_code,vintage,tonnes,serial_prefix,serial_start\n"
    for bad in ("9" * 5000, "²"):
        with pytest.raises(ValidationFailed):
            check_import(f"{header}P1,2024,{bad},FFCER-X-,1\n", "csv", actor_id=None)
    assert read_rows(header, "csv")[0] == []
