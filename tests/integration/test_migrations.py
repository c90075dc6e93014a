"""`alembic upgrade head` from empty builds exactly the tables the models describe."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import models
from models import database


def _diff() -> list:
    with database.get_engine().connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, models.Base.metadata)


def test_sqlite_migrations_match_models(app):
    assert _diff() == []


@pytest.mark.postgres
def test_postgres_migrations_match_models(pg_app):
    assert _diff() == []
