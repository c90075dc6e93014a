"""A database error names the statement, never the values bound to it (users' names, phones, hashes)."""

import pytest
from sqlalchemy import exc, text

from models.database import make_engine


def test_an_integrity_error_does_not_carry_its_parameters(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE people (name TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO people VALUES (:name)"), {"name": "被告人张某某"})

    with pytest.raises(exc.IntegrityError) as raised, engine.begin() as conn:
        conn.execute(text("INSERT INTO people VALUES (:name)"), {"name": "被告人张某某"})

    assert "被告人张某某" not in str(raised.value)
    assert "INSERT INTO people" in str(raised.value)
