"""Rankings over HTTP: reductions and offsets, day / week / all time, global and by city, own rank,
rebuilt from the database after Redis loses them, 503 when Redis is down."""

import itertools
import json
from datetime import timedelta

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from models import Action, ActionKind, Channel, Order, OrderStatus, utcnow
from models.database import unit_of_work
from services.kernel.beijing_time import today
from services.kernel.redis_store import get_redis
from services.points import rankings
from tests.support.accounts import bearer, login_user
from tests.support.pool import stock_pool

_numbers = itertools.count(1)


def person(client, code, name, city=""):
    token, profile = login_user(client, code)
    headers = bearer(token)
    response = client.patch("/api/v1/me", json={"display_name": name, "city": city}, headers=headers)
    assert response.status_code == 200, response.json
    return headers, profile["id"]


def trip(client, headers, mode, km, **extra):
    response = client.post("/api/v1/actions/trips", json={"mode": mode, "km": km, **extra}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def board(client, headers, **query):
    response = client.get("/api/v1/rankings", query_string=query, headers=headers)
    assert response.status_code == 200, response.json
    return [(e["rank"], e["display_name"], e["score_g"], e["is_me"]) for e in response.json]


def order(user_id, grams, status=OrderStatus.FULFILLED, refunded_g=0, fulfilled_at=None):
    """An order row as the purchase flow leaves it (no ranking call: the rebuild must find it)."""
    number = next(_numbers)
    with unit_of_work() as session:
        session.add(
            Order(
                out_trade_no=f"T{number:020d}",
                user_id=user_id,
                channel=Channel.ONE_YUAN,
                status=status,
                grams=grams,
                amount_fen=grams // 100,
                refunded_g=refunded_g,
                provider="sandbox",
                expires_at=utcnow(),
                fulfilled_at=fulfilled_at or utcnow(),
            )
        )


@pytest.fixture
def three(client):
    alice = person(client, "a", "张三丰", "深圳")
    bob = person(client, "b", "Robert", "深圳")
    carol = person(client, "c", "李四", "广州")
    trip(client, alice[0], "metro", 10)  # 468 g
    trip(client, bob[0], "bus", 10)  # 269 g
    trip(client, carol[0], "metro", 20)  # 936 g
    return alice, bob, carol


def test_the_reduction_ranking_is_best_first_with_masked_names(client, three):
    alice, _bob, _carol = three

    entries = board(client, alice[0], board="reductions", period="day")

    assert entries == [(1, "李*", 936, False), (2, "张*丰", 468, True), (3, "R****t", 269, False)]
    response = client.get("/api/v1/rankings?period=day", headers=alice[0])
    assert json.loads(response.headers["X-Pagination"])["total"] == 3
    assert response.headers["X-Ranking-Period"] == today().isoformat()


def test_city_rankings_use_the_profile_city(client, three):
    alice, _bob, carol = three

    shenzhen = board(client, alice[0], scope="city", period="all")
    guangzhou = board(client, carol[0], scope="city", period="all")
    named = board(client, carol[0], scope="city", city="深圳", period="all")

    assert [(rank, name) for rank, name, _g, _me in shenzhen] == [(1, "张*丰"), (2, "R****t")]
    assert [(rank, name) for rank, name, _g, _me in guangzhou] == [(1, "李*")]
    assert named == [(1, "张*丰", 468, False), (2, "R****t", 269, False)]


def test_a_city_ranking_needs_a_city(client):
    headers, _ = person(client, "nomad", "Nomad")

    response = client.get("/api/v1/rankings?scope=city", headers=headers)

    assert response.status_code == 422
    assert "city" in response.json["errors"]


def test_periods_count_their_own_days(client):
    headers, _ = person(client, "a", "Alice")
    long_ago = today() - timedelta(days=20)
    trip(client, headers, "metro", 10)
    trip(client, headers, "metro", 10, date=long_ago.isoformat())

    assert board(client, headers, period="day")[0][2] == 468
    assert board(client, headers, period="week")[0][2] == 468
    assert board(client, headers, period="all")[0][2] == 936
    assert board(client, headers, period="day", date=long_ago.isoformat())[0][2] == 468


def test_my_rank_and_equal_grams_sharing_a_rank(client, three):
    alice, bob, carol = three
    dave = person(client, "d", "Dave", "深圳")
    trip(client, dave[0], "metro", 10)  # 468 g, as much as alice
    nobody = person(client, "e", "Eve", "深圳")

    mine = client.get("/api/v1/me/rank?period=day", headers=alice[0]).json
    theirs = client.get("/api/v1/me/rank?period=day", headers=dave[0]).json
    last = client.get("/api/v1/me/rank?period=day", headers=bob[0]).json
    unranked = client.get("/api/v1/me/rank?period=day&scope=city", headers=nobody[0]).json

    assert (mine["rank"], mine["score_g"], mine["participants"]) == (2, 468, 4)
    assert theirs["rank"] == 2
    assert last["rank"] == 4
    assert mine["period_id"] == today().isoformat()
    assert (unranked["rank"], unranked["score_g"], unranked["city"], unranked["participants"]) == (
        None,
        0,
        "深圳",
        3,
    )
    assert [e[0] for e in board(client, carol[0], period="day")] == [1, 2, 2, 4]


def test_an_accepted_action_updates_a_built_ranking(client, three):
    alice, _bob, _carol = three
    assert board(client, alice[0], period="week")[1][2] == 468  # now built in Redis

    trip(client, alice[0], "bus", 10)

    assert board(client, alice[0], period="week") == [
        (1, "李*", 936, False),
        (2, "张*丰", 468 + 269, True),
        (3, "R****t", 269, False),
    ]


def test_rankings_are_rebuilt_from_the_database_after_a_flush(client, three):
    alice, bob, _carol = three
    before = board(client, alice[0], period="all")
    # Rows the rankings never heard of: only a rebuild from the database can count them.
    with unit_of_work() as session:
        session.add(
            Action(
                user_id=bob[1],
                kind=ActionKind.METRO,
                date=today(),
                quantity=30_000,
                reduction_g=1_404,
                points=14,
                methodology="sz-2021-metro",
            )
        )

    assert board(client, alice[0], period="all") == before  # served from Redis
    get_redis().flushdb()
    after = board(client, alice[0], period="all")
    city = board(client, alice[0], period="all", scope="city")

    assert after == [(1, "R****t", 269 + 1_404, False), (2, "李*", 936, False), (3, "张*丰", 468, True)]
    assert city == [(1, "R****t", 1_673, False), (2, "张*丰", 468, True)]


def test_offsets_rank_fulfilled_grams_less_refunds_from_the_database(client):
    alice, alice_id = person(client, "a", "Alice", "三明")
    _bob, bob_id = person(client, "b", "Bob", "三明")
    _carol, carol_id = person(client, "c", "Carol", "顺昌")
    order(alice_id, 10_000)
    order(alice_id, 50_000, OrderStatus.PARTIALLY_REFUNDED, refunded_g=20_000)
    order(bob_id, 100_000, OrderStatus.REFUNDED, refunded_g=100_000)
    order(bob_id, 20_000, OrderStatus.PAID)
    order(bob_id, 30_000)
    order(carol_id, 70_000, fulfilled_at=utcnow() - timedelta(days=40))

    week = board(client, alice, board="offsets", period="week")
    ever = board(client, alice, board="offsets", period="all")
    city = board(client, alice, board="offsets", period="all", scope="city")

    assert week == [(1, "A***e", 40_000, True), (2, "B*b", 30_000, False)]
    assert ever == [(1, "C***l", 70_000, False), (2, "A***e", 40_000, True), (3, "B*b", 30_000, False)]
    assert city == [(1, "A***e", 40_000, True), (2, "B*b", 30_000, False)]


def test_record_offset_adds_to_built_boards_and_a_refund_takes_away(client):
    alice, alice_id = person(client, "a", "Alice", "三明")
    assert board(client, alice, board="offsets", period="day") == []  # built, empty
    assert board(client, alice, board="offsets", period="day", scope="city") == []

    rankings.record_offset(alice_id, "三明", 10_000, utcnow())
    assert board(client, alice, board="offsets", period="day") == [(1, "A***e", 10_000, True)]
    assert board(client, alice, board="offsets", period="day", scope="city") == [(1, "A***e", 10_000, True)]

    rankings.record_offset(alice_id, "三明", -10_000, utcnow())
    assert board(client, alice, board="offsets", period="day") == []


def test_a_purchase_adds_to_built_offset_boards_at_once_and_its_refund_takes_away(client):
    stock_pool()
    alice, _alice_id = person(client, "a", "Alice", "三明")
    assert board(client, alice, board="offsets", period="week") == []  # built, empty
    assert board(client, alice, board="offsets", period="all", scope="city") == []

    placed = client.post("/api/v1/orders", json={"product": "one_yuan", "units": 3}, headers=alice)
    number = placed.json["order"]["out_trade_no"]
    assert client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=alice).status_code == 200
    assert board(client, alice, board="offsets", period="week") == [(1, "A***e", 30_000, True)]
    assert board(client, alice, board="offsets", period="all", scope="city") == [(1, "A***e", 30_000, True)]

    refund = client.post(f"/api/v1/orders/{number}/refunds", json={"grams": 10_000}, headers=alice)
    assert refund.status_code == 201 and refund.json["status"] == "succeeded"
    assert board(client, alice, board="offsets", period="week") == [(1, "A***e", 20_000, True)]
    # What the increments built is what a rebuild from the database finds.
    get_redis().flushdb()
    assert board(client, alice, board="offsets", period="week") == [(1, "A***e", 20_000, True)]


def test_rankings_answer_503_when_redis_is_down_but_actions_are_recorded(client, monkeypatch):
    headers, _ = person(client, "a", "Alice", "深圳")
    # Nothing listens on port 1: every command fails to connect (no retries, to keep the test quick).
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(rankings, "get_redis", lambda: down)

    recorded = client.post("/api/v1/actions/trips", json={"mode": "metro", "km": 10}, headers=headers)
    listing = client.get("/api/v1/rankings", headers=headers)
    mine = client.get("/api/v1/me/rank", headers=headers)

    assert recorded.status_code == 201
    assert recorded.json["reduction_g"] == 468
    assert listing.status_code == 503
    assert "unavailable" in listing.json["message"]
    assert listing.headers["Retry-After"] == "5"
    assert mine.status_code == 503
    assert [a["reduction_g"] for a in client.get("/api/v1/me/actions", headers=headers).json] == [468]
    monkeypatch.undo()
    assert board(client, headers, period="day") == [(1, "A***e", 468, True)]  # rebuilt from the database


def test_unknown_board_period_or_scope_is_refused(client):
    headers, _ = person(client, "a", "Alice")
    for query in ("board=trees", "period=year", "scope=planet"):
        response = client.get(f"/api/v1/rankings?{query}", headers=headers)
        assert response.status_code == 422, query
    assert client.get("/api/v1/rankings").status_code == 401
