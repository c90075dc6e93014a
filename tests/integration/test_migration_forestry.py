"""The forestry upgrade rebuilds `orders` on SQLite for its new CHECK: the rows that refer to orders
stay, and the database then takes a donation (no grams) and still refuses a sale of none."""

import pytest
import sqlalchemy as sa
from alembic import command

from tests.conftest import alembic_config

NOW = "2026-11-01 08:00:00"


def _order(conn, number: str, channel: str, grams: int) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO orders (out_trade_no, user_id, channel, status, grams, amount_fen, refunded_fen,"
            " refunded_g, holder_name, provider, expires_at, created_at) VALUES"
            " (:no, 1, :channel, 'created', :grams, 10, 0, 0, '', 'sandbox', :now, :now)"
        ),
        {"no": number, "channel": channel, "grams": grams, "now": NOW},
    )


def test_the_upgrade_keeps_what_refers_to_orders_and_allows_only_gramless_donations(tmp_path):
    url = f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
    config = alembic_config(url)
    command.upgrade(config, "0019")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, username, role, display_name, avatar_url, city, region, is_active,"
                " created_at) VALUES (1, 'buyer', 'user', '', '', '', '', 1, :now)"
            ),
            {"now": NOW},
        )
        _order(conn, "OY1", "one_yuan", 10_000)
        conn.execute(
            sa.text(
                "INSERT INTO order_events (order_id, to_status, note, at) VALUES (1, 'created', '', :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO certificates (number, verification_code, order_id, user_id, holder_name, grams,"
                " status, claims, issued_at) VALUES ('C1', 'V1', 1, 1, 'h', 10000, 'valid', '[]', :now)"
            ),
            {"now": NOW},
        )
    command.upgrade(config, "head")
    with engine.begin() as conn:
        counts = [
            conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar()
            for t in ("order_events", "certificates")
        ]
        assert counts == [1, 1]
        _order(conn, "AD1", "adoption", 0)
    for channel, grams in (("adoption", 1_000), ("one_yuan", 0)):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            _order(conn, f"X{channel}", channel, grams)
    with pytest.raises(RuntimeError, match="Donation orders exist"):
        command.downgrade(config, "0019")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM orders WHERE channel = 'adoption'"))
    command.downgrade(config, "0019")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM order_events")).scalar() == 1
    engine.dispose()
