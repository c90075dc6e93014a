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


def test_events_paid_for_before_0011_reach_offset_on_upgrade(tmp_path):
    """Fulfilment now moves the event; the upgrade moves the events whose order was fulfilled before."""
    import sqlalchemy as sa
    from alembic import command

    from tests.conftest import alembic_config

    url = f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
    config = alembic_config(url)
    command.upgrade(config, "0010")
    engine = sa.create_engine(url)
    now = "2026-11-01 08:00:00"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, username, role, display_name, avatar_url, city, region, is_active, created_at) "
                "VALUES (1, 'organiser', 'user', '', '', '', '', 1, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO organisations (id, name, kind, created_at) VALUES (1, 'o', 'company', :now)"
            ),
            {"now": now},
        )
        for no, status, fulfilled in (("EV1", "fulfilled", "2026-11-02 09:30:00"), ("EV2", "created", None)):
            conn.execute(
                sa.text(
                    "INSERT INTO orders (out_trade_no, user_id, channel, status, grams, amount_fen, refunded_fen,"
                    " refunded_g, holder_name, provider, expires_at, fulfilled_at, created_at) VALUES"
                    " (:no, 1, 'event', :status, 1000, 10, 0, 0, '', 'sandbox', :now, :fulfilled, :now)"
                ),
                {"no": no, "status": status, "fulfilled": fulfilled, "now": now},
            )
        for event_id, stage, no in ((1, "accounted", "EV1"), (2, "accounted", "EV2"), (3, "plan", None)):
            conn.execute(
                sa.text(
                    "INSERT INTO events (id, organisation_id, name, start_date, end_date, venue_city,"
                    " expected_attendees, stage, published, boundary, reduction_measures, offset_plan,"
                    " offset_order_no, created_by, created_at) VALUES (:id, 1, 'e', '2026-10-10', '2026-10-11',"
                    " 'fuzhou', 0, :stage, 0, '', '', '', :no, 1, :now)"
                ),
                {"id": event_id, "stage": stage, "no": no, "now": now},
            )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, stage, offset_at FROM events ORDER BY id")).all()
    engine.dispose()
    assert [(r.id, r.stage, r.offset_at is not None) for r in rows] == [
        (1, "offset", True),
        (2, "accounted", False),
        (3, "plan", False),
    ]
    assert str(rows[0].offset_at).startswith("2026-11-02 09:30:00")


def test_events_and_claims_made_before_0014_get_distinct_random_public_codes(tmp_path):
    """Their public pages answer only under a code, so the upgrade gives every existing row one."""
    import re

    import sqlalchemy as sa
    from alembic import command

    from models.public_codes import CODE_ALPHABET
    from tests.conftest import alembic_config

    url = f"sqlite:///{tmp_path / 'codes.sqlite3'}"
    config = alembic_config(url)
    command.upgrade(config, "0013")
    engine = sa.create_engine(url)
    now = "2026-11-01 08:00:00"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, username, role, display_name, avatar_url, city, region, is_active, created_at) "
                "VALUES (1, 'organiser', 'user', '', '', '', '', 1, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            sa.text("INSERT INTO organisations (id, name, kind, created_at) VALUES (1, 'o', 'court', :now)"),
            {"now": now},
        )
        for event_id in (1, 2, 3):
            conn.execute(
                sa.text(
                    "INSERT INTO events (id, organisation_id, name, start_date, end_date, venue_city,"
                    " expected_attendees, stage, published, boundary, reduction_measures, offset_plan,"
                    " created_by, created_at) VALUES (:id, 1, 'e', '2026-10-10', '2026-10-11',"
                    " 'fuzhou', 0, 'plan', 1, '', '', '', 1, :now)"
                ),
                {"id": event_id, "now": now},
            )
        for claim_id in (1, 2):
            conn.execute(
                sa.text(
                    "INSERT INTO institutional_claims (id, organisation_id, kind, case_number, court,"
                    " defendant_name, grams_required, out_trade_no, certificate_title, certificate_statement,"
                    " created_by, created_at) VALUES (:id, 1, 'tree_planting', '', '', '', 1000, :no, 't', 's',"
                    " 1, :now)"
                ),
                {"id": claim_id, "no": f"IN{claim_id}", "now": now},
            )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        codes = [
            *conn.execute(sa.text("SELECT public_code FROM events")).scalars(),
            *conn.execute(sa.text("SELECT public_code FROM institutional_claims")).scalars(),
        ]
    engine.dispose()
    assert len(codes) == 5 and len(set(codes)) == 5
    assert all(re.fullmatch(f"[{CODE_ALPHABET}]{{20}}", code) for code in codes), codes
    command.downgrade(config, "0013")  # and back
