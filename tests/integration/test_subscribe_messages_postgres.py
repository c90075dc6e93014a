"""On PostgreSQL: runs of the subscribe message job at once send each message exactly once.

Eight runs released together scan the same certificates and claim the same outbox rows: the unique
(kind, subject, user) lets one scan enqueue each message, the conditional claim lets one run send
it, and the fake WeChat API records what reached it.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from models import MessageStatus, SubscribeAllowance, SubscribeMessage
from models.database import read_session
from services.notifications import message_settings
from services.notifications.message_sending import scan_and_send
from tests.support.accounts import bearer, login_user
from tests.support.concurrency import run_together
from tests.support.pool import stock_pool
from tests.support.sales import buy

pytestmark = pytest.mark.postgres

TEMPLATE = "7tVbX_certificate-issued_Q2mF9aW1yE"
RUNS = 8
BUYERS = 3
BUYS = 2


@pytest.fixture
def app_overrides(wechat_api):
    return wechat_api.settings(SUBSCRIBE_TEMPLATE_CERTIFICATE_ISSUED=TEMPLATE, DATABASE_POOL_SIZE=20)


def test_concurrent_runs_send_each_message_once(pg_client, wechat_api):
    stock_pool(tonnes=2)
    for n in range(BUYERS):
        wechat_api.add_code(f"code-{n}", openid=f"o-buyer-{n}", session_key="c2Vzc2lvbi1rZXk=")
        token, _ = login_user(pg_client, f"code-{n}")
        for _ in range(BUYS + 1):  # one accept more than there are certificates
            accepted = pg_client.post(
                "/api/v1/me/subscriptions", json={"results": {TEMPLATE: "accept"}}, headers=bearer(token)
            )
            assert accepted.status_code == 200, accepted.json
        for _ in range(BUYS):
            buy(pg_client, bearer(token), 1)
    settings = message_settings.current()

    outcomes = run_together(lambda _index: scan_and_send(settings), RUNS)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(o.enqueued for o in outcomes) == BUYERS * BUYS
    assert sum(o.sent for o in outcomes) == BUYERS * BUYS
    sent = Counter((m["touser"], m["page"]) for m in wechat_api.subscribe_messages)
    assert len(sent) == BUYERS * BUYS and set(sent.values()) == {1}
    session = read_session()
    rows = list(session.scalars(select(SubscribeMessage)))
    assert [(m.status, m.attempts) for m in rows] == [(MessageStatus.SENT, 1)] * BUYERS * BUYS
    assert set(session.scalars(select(SubscribeAllowance.remaining))) == {1}

    again = run_together(lambda _index: scan_and_send(settings), RUNS)
    assert sum(o.enqueued + o.sent for o in again) == 0
    assert len(wechat_api.subscribe_messages) == BUYERS * BUYS
