"""Rankings of reductions (low-carbon actions) and offsets (fulfilled orders), served from Redis.

Each board (board x period x scope) is a Redis sorted set of user id → grams, with a `ready`
marker that says the set was built from the database. A board whose marker is missing (never
built, expired after `RANKINGS_TTL_S`, or lost with Redis) is rebuilt from the database by one
process at a time (a lock; the others wait for the marker). Accepted actions and fulfilled or
refunded orders add to the built boards with ZINCRBY (`record_reduction`, `record_offset`); a
board that is not built is left alone, since its rebuild will read the database, which is the
record. Increments lost while Redis is unreachable heal when the board expires and is rebuilt.

Days and weeks are Beijing calendar days and ISO weeks (Monday first). City boards use the
users' profile city. Users with equal grams share a rank (1, 2, 2, 4).

Rankings are for people: the offset boards count the orders whose buyer of record is the user. An
organisation's purchase (`Order.organisation_id` set) puts neither the organisation nor the member
who placed it on a board.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

import redis
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models import Action, Order, OrderStatus, User, utcnow
from models.database import read_session
from services.accounts import content_check
from services.kernel.beijing_time import beijing_date, day_start_utc, today, week_id, week_start
from services.kernel.errors import UpstreamError, ValidationFailed
from services.kernel.masking import mask_name
from services.kernel.order_effects import Fulfilled, Refunded
from services.kernel.redis_store import get_redis

log = logging.getLogger(__name__)

BOARDS = ("reductions", "offsets")
PERIODS = ("day", "week", "all")
SCOPES = ("global", "city")
OFFSET_STATUSES = (OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED)
ANONYMOUS_NAME = "微信用户"

LOCK_MS = 30_000
WAIT_S = 5.0
POLL_S = 0.05
ZADD_CHUNK = 1_000
WATCH_RETRIES = 5

UNAVAILABLE = (
    "Rankings are unavailable right now (the ranking store cannot be reached); your actions are "
    "still recorded. Retry shortly."
)


@dataclass(frozen=True)
class Board:
    """One ranking: which board, the period it covers (Beijing dates, inclusive) and the scope."""

    board: str
    period: str
    period_id: str
    scope: str
    city: str | None
    first_day: date | None
    last_day: date | None

    @property
    def key(self) -> str:
        where = "global" if self.city is None else f"city:{self.city}"
        # The hash tag keeps a board, its marker and its lock in one Redis Cluster slot.
        return f"rank:{{{self.board}:{self.period_id}:{where}}}"

    @property
    def ready_key(self) -> str:
        return self.key + ":ready"

    @property
    def lock_key(self) -> str:
        return self.key + ":lock"


@dataclass(frozen=True)
class RankEntry:
    rank: int
    display_name: str
    score_g: int
    is_me: bool


@dataclass(frozen=True)
class Leaderboard:
    board: Board
    entries: list[RankEntry]
    participants: int


@dataclass(frozen=True)
class MyRank:
    board: str
    period: str
    period_id: str
    scope: str
    city: str | None
    rank: int | None
    score_g: int
    participants: int


def board_for(board: str, period: str, city: str | None, day: date) -> Board:
    """The board of `board` over the `period` holding `day`; `city` None means the global scope."""
    if board not in BOARDS or period not in PERIODS:
        raise ValueError(f"unknown board {board!r} or period {period!r}")
    scope = "global" if city is None else "city"
    if period == "day":
        return Board(board, period, day.isoformat(), scope, city, day, day)
    if period == "week":
        first = week_start(day)
        return Board(board, period, week_id(day), scope, city, first, first + timedelta(days=6))
    return Board(board, period, "all", scope, city, None, None)


def _boards_touched(board: str, city: str | None, day: date) -> list[Board]:
    cities: list[str | None] = [None, city] if city else [None]
    return [board_for(board, period, where, day) for period in PERIODS for where in cities]


# -- increments ---------------------------------------------------------------------------------


def record_reduction(user_id: int, city: str | None, grams: int, on: date) -> None:
    """Add `grams` avoided by an accepted action done on Beijing day `on` to the built boards."""
    _record("reductions", user_id, city, grams, on)


def record_offset(user_id: int, city: str | None, grams: int, at: datetime) -> None:
    """Add `grams` of a fulfilled order to the built offset boards (negative for a refund).

    `at` is the order's fulfilment time (also for its refunds, so they leave the same boards);
    `city` is the buyer's profile city. Call it after the purchase commits; it never raises.
    """
    _record("offsets", user_id, city, grams, beijing_date(at))


@dataclass(frozen=True)
class OffsetPosting:
    """What a fulfilment (grams > 0) or a refund (grams < 0) adds to the offset boards once committed."""

    user_id: int
    city: str | None
    grams: int
    at: datetime


def offset_posting_in(session: Session, order: Order, grams: int) -> OffsetPosting | None:
    """The posting of `grams` of `order` (at its fulfilment time, in its buyer's profile city);
    None for an organisation's purchase, which ranks nobody."""
    if order.organisation_id is not None:
        return None
    city = session.scalar(select(User.city).where(User.id == order.user_id))
    return OffsetPosting(order.user_id, (city or "").strip() or None, grams, order.fulfilled_at or utcnow())


def post_offset(posting: OffsetPosting | None) -> None:
    """Add a committed posting to the built offset boards (never raises: the database is the record)."""
    if posting is not None:
        record_offset(posting.user_id, posting.city, posting.grams, posting.at)


def _record(board: str, user_id: int, city: str | None, grams: int, day: date) -> None:
    if grams == 0:
        return
    try:
        _increment(get_redis(), _boards_touched(board, city or None, day), str(user_id), grams)
    except redis.RedisError as exc:
        log.warning("ranking increment lost (boards heal when rebuilt): %r", exc)


def _increment(r: redis.Redis, boards: list[Board], member: str, grams: int) -> None:
    ready_keys = [b.ready_key for b in boards]
    with r.pipeline() as pipe:
        for _attempt in range(WATCH_RETRIES):
            try:
                pipe.watch(*ready_keys)
                ttls = [pipe.pttl(k) for k in ready_keys]
                pipe.multi()
                for board, ttl in zip(boards, ttls, strict=True):
                    if ttl == -2:  # not built: its rebuild reads the database
                        continue
                    pipe.zincrby(board.key, grams, member)
                    if grams < 0:
                        pipe.zremrangebyscore(board.key, "-inf", 0)
                    if ttl > 0:
                        pipe.pexpire(board.key, ttl)
                pipe.execute()
                return
            except redis.WatchError:
                continue
    log.warning("ranking increment gave up after %d contended attempts", WATCH_RETRIES)


# -- rebuild from the database --------------------------------------------------------------------


def _reduction_scores(board: Board) -> Select:
    total = func.sum(Action.reduction_g)
    query = select(Action.user_id, total).group_by(Action.user_id).having(total > 0)
    if board.first_day is not None:
        query = query.where(Action.date >= board.first_day, Action.date <= board.last_day)
    return query


def _offset_scores(board: Board) -> Select:
    total = func.sum(Order.grams - Order.refunded_g)
    query = (
        select(Order.user_id, total)
        .where(
            Order.status.in_(OFFSET_STATUSES),
            Order.fulfilled_at.is_not(None),
            Order.organisation_id.is_(None),
        )
        .group_by(Order.user_id)
        .having(total > 0)
    )
    if board.first_day is not None and board.last_day is not None:
        query = query.where(
            Order.fulfilled_at >= day_start_utc(board.first_day),
            Order.fulfilled_at < day_start_utc(board.last_day + timedelta(days=1)),
        )
    return query


def scores_from_database(board: Board) -> dict[str, int]:
    """The board's scores as the database says: user id → grams (only positive scores)."""
    query = _reduction_scores(board) if board.board == "reductions" else _offset_scores(board)
    if board.city is not None:
        user_id = query.selected_columns[0]
        query = query.join(User, User.id == user_id).where(User.city == board.city)
    session = read_session()
    try:
        return {str(user_id): int(total) for user_id, total in session.execute(query)}
    finally:
        session.rollback()


def _store(r: redis.Redis, board: Board, scores: dict[str, int], ttl_s: int) -> None:
    items = list(scores.items())
    with r.pipeline(transaction=True) as pipe:
        pipe.delete(board.key)
        for start in range(0, len(items), ZADD_CHUNK):
            pipe.zadd(board.key, dict(items[start : start + ZADD_CHUNK]))
        if ttl_s > 0:
            pipe.expire(board.key, ttl_s)
            pipe.set(board.ready_key, "1", ex=ttl_s)
        else:
            pipe.set(board.ready_key, "1")
        pipe.execute()


def _release(r: redis.Redis, lock_key: str, token: str) -> None:
    with r.pipeline() as pipe:
        try:
            pipe.watch(lock_key)
            held = pipe.get(lock_key)
            pipe.multi()
            if held is not None and held.decode() == token:
                pipe.delete(lock_key)
            pipe.execute()
        except redis.WatchError:
            pass  # the lock expired and another process took it: leave it


def ensure_built(r: redis.Redis, board: Board, ttl_s: int) -> None:
    """Rebuild the board from the database unless it is built; one process rebuilds, others wait."""
    if r.exists(board.ready_key):
        return
    token = secrets.token_hex(8)
    if r.set(board.lock_key, token, nx=True, px=LOCK_MS):
        try:
            _store(r, board, scores_from_database(board), ttl_s)
        finally:
            _release(r, board.lock_key, token)
        return
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        time.sleep(POLL_S)
        if r.exists(board.ready_key):
            return
    raise UpstreamError("This ranking is being rebuilt; retry in a moment.")


# -- reading ----------------------------------------------------------------------------------------


def _profile_city(user_id: int) -> str:
    session = read_session()
    try:
        return (session.scalar(select(User.city).where(User.id == user_id)) or "").strip()
    finally:
        session.rollback()


def _resolve(viewer_id: int, board: str, period: str, scope: str, city: str | None, on: date | None) -> Board:
    if scope not in SCOPES:
        raise ValidationFailed("Unknown scope.", errors={"scope": [f"One of {list(SCOPES)}."]})
    day = on or today()
    if day > today():
        raise ValidationFailed("That day has not come yet.", errors={"date": ["Must not be in the future."]})
    where = None
    if scope == "city":
        where = (city or "").strip() or _profile_city(viewer_id)
        if not where:
            message = "Set your city in your profile (PATCH /api/v1/me), or name a city."
            raise ValidationFailed(message, errors={"city": [message]})
    return board_for(board, period, where, day)


def _names(user_ids: Iterable[int]) -> dict[int, str]:
    ids = list(user_ids)
    if not ids:
        return {}
    session = read_session()
    try:
        rows = session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()
        # A display name WeChat's content security check has not passed (yet) is not shown.
        withheld = content_check.withheld_subjects_in(
            session, content_check.DISPLAY_NAME, (str(row.id) for row in rows if row.display_name)
        )
        return {
            row.id: mask_name(
                ANONYMOUS_NAME if str(row.id) in withheld else row.display_name or ANONYMOUS_NAME
            )
            for row in rows
        }
    finally:
        session.rollback()


def leaderboard(
    viewer_id: int,
    board: str,
    period: str,
    scope: str,
    *,
    city: str | None = None,
    on: date | None = None,
    page: int = 1,
    page_size: int = 20,
    ttl_s: int = 3600,
) -> Leaderboard:
    """One page of a ranking, best first, with masked names; 503 when Redis cannot be reached."""
    ref = _resolve(viewer_id, board, period, scope, city, on)
    try:
        r = get_redis()
        ensure_built(r, ref, ttl_s)
        start = (page - 1) * page_size
        rows = r.zrevrange(ref.key, start, start + page_size - 1, withscores=True)
        with r.pipeline(transaction=False) as pipe:
            pipe.zcard(ref.key)
            for _member, score in rows:
                pipe.zcount(ref.key, f"({score}", "+inf")
            participants, *higher = pipe.execute()
    except redis.RedisError as exc:
        raise UpstreamError(UNAVAILABLE) from exc
    members = [(int(member), int(score)) for member, score in rows]
    names = _names(user_id for user_id, _ in members)
    entries = [
        RankEntry(above + 1, names.get(user_id, mask_name(ANONYMOUS_NAME)), score, user_id == viewer_id)
        for (user_id, score), above in zip(members, higher, strict=True)
    ]
    return Leaderboard(ref, entries, int(participants))


def my_rank(
    user_id: int,
    board: str,
    period: str,
    scope: str,
    *,
    city: str | None = None,
    on: date | None = None,
    ttl_s: int = 3600,
) -> MyRank:
    """The user's own rank and grams on a ranking (rank None when they have none yet)."""
    ref = _resolve(user_id, board, period, scope, city, on)
    try:
        r = get_redis()
        ensure_built(r, ref, ttl_s)
        score = r.zscore(ref.key, str(user_id))
        participants = r.zcard(ref.key)
        above = r.zcount(ref.key, f"({score}", "+inf") if score is not None else None
    except redis.RedisError as exc:
        raise UpstreamError(UNAVAILABLE) from exc
    return MyRank(
        board=ref.board,
        period=ref.period,
        period_id=ref.period_id,
        scope=ref.scope,
        city=ref.city,
        rank=None if above is None else int(above) + 1,
        score_g=int(score or 0),
        participants=int(participants),
    )


def on_order_fulfilled(session: Session, fact: Fulfilled) -> Callable[[], None]:
    """Order effect: the fulfilled grams are posted to the offset boards once the fulfilment commits."""
    return partial(post_offset, offset_posting_in(session, fact.order, fact.order.grams))


def on_order_refunded(session: Session, fact: Refunded) -> Callable[[], None] | None:
    """Order effect: refunded grams come off the offset boards once the refund commits."""
    if not fact.refund.grams:
        return None
    return partial(post_offset, offset_posting_in(session, fact.order, -fact.refund.grams))
