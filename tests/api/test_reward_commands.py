"""`flask rewards load-codes` and `generate-codes`: codes from a file, all or none; generated codes printed."""

from sqlalchemy import select

from models import CouponCode
from models.database import read_session
from tests.support.rewards import create_item


def _codes():
    session = read_session()
    session.expire_all()
    return sorted(session.scalars(select(CouponCode.code)))


def test_codes_load_from_a_file_all_or_none(app, tmp_path):
    item = create_item(uses_codes=True)
    runner = app.test_cli_runner()
    good = tmp_path / "codes.txt"
    good.write_text("MALL-0001\n\nMALL-0002\n", encoding="utf-8")
    result = runner.invoke(args=["rewards", "load-codes", str(item), str(good)])
    assert result.exit_code == 0, result.output
    assert "Added 2 codes" in result.output
    assert _codes() == ["MALL-0001", "MALL-0002"]

    clash = tmp_path / "clash.txt"
    clash.write_text("MALL-0003\nMALL-0001\n", encoding="utf-8")
    refused = runner.invoke(args=["rewards", "load-codes", str(item), str(clash)])
    assert refused.exit_code == 1
    assert "MALL-0001" in refused.output
    assert _codes() == ["MALL-0001", "MALL-0002"]


def test_generated_codes_are_printed(app):
    item = create_item(uses_codes=True)
    result = app.test_cli_runner().invoke(
        args=["rewards", "generate-codes", str(item), "5", "--prefix", "T-"]
    )
    assert result.exit_code == 0, result.output
    printed = [line for line in result.output.splitlines() if line.startswith("T-")]
    assert sorted(printed) == _codes()
    assert len(printed) == 5
    plain = create_item()
    assert app.test_cli_runner().invoke(args=["rewards", "generate-codes", str(plain), "5"]).exit_code == 1
