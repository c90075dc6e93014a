"""The upgrade that records the buyer of record finds it for the orders placed before it."""

import sqlalchemy as sa
from alembic import command

from tests.conftest import alembic_config


def test_orders_placed_for_organisations_before_0013_name_their_organisation(tmp_path):
    url = f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
    config = alembic_config(url)
    command.upgrade(config, "0012")
    engine = sa.create_engine(url)
    now = "2026-11-01 08:00:00"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, username, role, display_name, avatar_url, city, region, is_active,"
                " created_at) VALUES (1, 'organiser', 'user', '', '', '', '', 1, :now)"
            ),
            {"now": now},
        )
        for org_id in (1, 2):
            conn.execute(
                sa.text(
                    "INSERT INTO organisations (id, name, kind, created_at) VALUES (:id, :name, 'company', :now)"
                ),
                {"id": org_id, "name": f"o{org_id}", "now": now},
            )
        conn.execute(
            sa.text(
                "INSERT INTO events (id, organisation_id, name, start_date, end_date, venue_city,"
                " expected_attendees, stage, published, boundary, reduction_measures, offset_plan,"
                " created_by, created_at) VALUES (7, 2, 'e', '2026-10-10', '2026-10-11',"
                " 'fuzhou', 0, 'accounted', 0, '', '', '', 1, :now)"
            ),
            {"now": now},
        )
        for no, channel, source_type, source_id in (
            ("EV1", "event", "event", "7"),
            ("IN1", "institutional", "institutional_tree_planting", "1"),
            ("OY1", "one_yuan", None, None),
            ("FP1", "footprint_offset", "footprint", "7"),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO orders (out_trade_no, user_id, channel, status, grams, amount_fen, refunded_fen,"
                    " refunded_g, holder_name, provider, expires_at, source_type, source_id, created_at) VALUES"
                    " (:no, 1, :channel, 'fulfilled', 1000, 10, 0, 0, '', 'sandbox', :now, :type, :id, :now)"
                ),
                {"no": no, "channel": channel, "type": source_type, "id": source_id, "now": now},
            )
    command.upgrade(config, "0013")
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT out_trade_no, organisation_id FROM orders")).all())
    command.downgrade(config, "0012")
    engine.dispose()
    assert rows == {"EV1": 2, "IN1": 1, "OY1": None, "FP1": None}
