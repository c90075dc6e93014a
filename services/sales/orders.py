"""Orders: one-yuan carbon sink and plain credit purchases, from reservation to expiry.

An order reserves its grams when it is created and keeps them until it is paid or expires.
Creating an order and opening its payment are separate transactions: no row stays locked while
WeChat Pay is called, and an order whose payment could not be opened is kept and can be paid later.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import inspect, select, tuple_
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, selectinload

from models import (
    Batch,
    Channel,
    Order,
    OrderLine,
    OrderStatus,
    Project,
    Reservation,
    utcnow,
)
from models.database import is_postgres, read_session, unit_of_work
from services.accounts.tokens import Principal
from services.kernel import idempotency
from services.kernel.errors import InsufficientCredits, NotFound, ValidationFailed
from services.kernel.paging import objects_page, total_of, window
from services.pool import reservations
from services.pool.reservations import Selector
from services.sales import order_caps, order_rows, order_states, pricing
from services.sales.order_policy import OrderPolicy

log = logging.getLogger(__name__)

IDEMPOTENCY_SCOPE = "orders"


@dataclass(frozen=True)
class OrderRequest:
    """What a buyer asks for: `units` of one-yuan sink, or `grams` of one project's credits."""

    product: str  # "one_yuan" or "credits"
    units: int | None = None
    grams: int | None = None
    project_id: int | None = None
    owner_id: int | None = None
    holder_name: str = ""
    channel: Channel | None = None
    source_type: str | None = None
    source_id: str | None = None
    # The buyer of record when the order is bought for an organisation (see `Order.organisation_id`).
    organisation_id: int | None = None
    # The holder name is the buyer's own text (not an organisation's name): it passes WeChat's
    # content security check before it is recorded (`checkout.place_order`).
    holder_typed: bool = False


def new_out_trade_no(now: datetime | None = None) -> str:
    """A merchant order number: date plus 48 random bits, within WeChat's 32 characters."""
    return f"CO{(now or utcnow()):%Y%m%d}{secrets.token_hex(6).upper()}"


@dataclass(frozen=True)
class Quote:
    """What an order request costs and where its grams may come from."""

    grams: int
    amount_fen: int
    price_fen_per_t: int
    selector: Selector


class ReplayedOrder(Exception):
    """The Idempotency-Key was used already (perhaps by a request racing this one): this is its order."""

    def __init__(self, order_id: int) -> None:
        super().__init__(order_id)
        self.order_id = order_id


def fingerprint(request: OrderRequest) -> str:
    values = asdict(request)
    values.pop("holder_typed")  # follows from the endpoint, not the body; keeps earlier keys' hashes
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def quote(request: OrderRequest, policy: OrderPolicy) -> Quote:
    return Quote(*_price(request, policy))


def replayed_order_id(user_id: int, idempotency_key: str, request_hash: str) -> int | None:
    """The order an earlier request with this key created, or None; 422 if that request had another body."""
    session = read_session()
    try:
        return _replay(session, user_id, idempotency_key, request_hash)
    finally:
        session.rollback()


def _landed(out_trade_no: str) -> Order | None:
    """The order a request wrote under its own number before its connection broke, if it did."""
    session = read_session()
    try:
        order_id = _landed_id(session, out_trade_no)
    finally:
        session.rollback()
    return load_order(order_id) if order_id is not None else None


def _landed_id(session: Session, out_trade_no: str) -> int | None:
    return session.scalar(select(Order.id).where(Order.out_trade_no == out_trade_no))


def record_order(
    principal: Principal,
    request: OrderRequest,
    priced: Quote,
    provider_name: str,
    *,
    policy: OrderPolicy,
    out_trade_no: str,
    expires_at: datetime,
    prepay_id: str | None = None,
    idempotency_key: str | None = None,
    request_hash: str = "",
) -> order_rows.WrittenOrder | Order:
    """Reserve the grams and record the order in one transaction; gives the order as written, with its
    lines and events. A prepay id already obtained makes it `awaiting_payment` at once.

    A person's own order is refused when it would pass their caps on unpaid orders (`order_caps`:
    TooManyOpenOrders, ReservationLimitReached); an organisation's order is not capped.
    """
    for _attempt in range(reservations.MAX_PLAN_ATTEMPTS):
        try:
            return _record_once(
                principal,
                request,
                priced,
                provider_name,
                policy,
                out_trade_no,
                expires_at,
                prepay_id,
                idempotency_key,
                request_hash,
            )
        except reservations.PlanStale:
            continue  # a batch sold its grams meanwhile: plan again in a new transaction
        except IntegrityError:
            if (landed := _landed(out_trade_no)) is not None:
                return landed
            # Two requests with one key raced; the other one won and its order is the answer.
            if not idempotency_key:
                raise
            existing = replayed_order_id(principal.user_id, idempotency_key, request_hash)
            if existing is None:
                raise
            raise ReplayedOrder(existing) from None
    raise InsufficientCredits(
        "The pool is too busy to reserve these grams now; try again.", grams=priced.grams
    )


def _record_once(
    principal: Principal,
    request: OrderRequest,
    priced: Quote,
    provider_name: str,
    policy: OrderPolicy,
    out_trade_no: str,
    expires_at: datetime,
    prepay_id: str | None,
    idempotency_key: str | None,
    request_hash: str,
) -> order_rows.WrittenOrder | Order:
    order = order_rows.NewOrder(
        user_id=principal.user_id,
        values={
            "out_trade_no": out_trade_no,
            "channel": request.channel
            or (Channel.ONE_YUAN if request.product == "one_yuan" else Channel.CREDITS),
            "grams": priced.grams,
            "amount_fen": priced.amount_fen,
            "units": request.units,
            "project_id": request.project_id,
            "owner_id": request.owner_id,
            "holder_name": request.holder_name,
            "provider": provider_name,
            "prepay_id": prepay_id,
            "expires_at": expires_at,
            "source_type": request.source_type,
            "source_id": request.source_id,
            "organisation_id": request.organisation_id,
        },
        selector=priced.selector,
        price_fen_per_t=priced.price_fen_per_t,
        prepaid=prepay_id is not None,
        idempotency_key=(IDEMPOTENCY_SCOPE, idempotency_key, request_hash) if idempotency_key else None,
    )
    # A key already used is found before (place_order) or by the key row's unique index (a race).
    capped = request.organisation_id is None
    if is_postgres():
        try:
            written = order_rows.write_whole_order(order, policy if capped else None)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # The connection broke: whether the transaction landed is found by the order's own number.
            if (landed := _landed(out_trade_no)) is not None:
                return landed
            written = None
        if written is not None:
            return written
    with unit_of_work() as session:
        if capped:
            # The buyer's lock is held until this transaction ends, past the rows written here.
            order_caps.check_in(session, principal.user_id, priced.grams, policy)
        if idempotency_key:
            existing = _replay(session, principal.user_id, idempotency_key, request_hash)
            if existing is not None:
                raise ReplayedOrder(existing)
        return order_rows.write_new_order(session, order)


def create_order(
    principal: Principal,
    request: OrderRequest,
    policy: OrderPolicy,
    provider_name: str,
    idempotency_key: str | None = None,
    ttl_s: int | None = None,
) -> int:
    """Reserve the grams and record an order whose payment is opened later; returns its id."""
    request_hash = fingerprint(request) if idempotency_key else ""
    if idempotency_key and (existing := replayed_order_id(principal.user_id, idempotency_key, request_hash)):
        return existing
    now = utcnow()
    try:
        return record_order(
            principal,
            request,
            quote(request, policy),
            provider_name,
            policy=policy,
            out_trade_no=new_out_trade_no(now),
            expires_at=now + timedelta(seconds=ttl_s or policy.reservation_ttl_s),
            idempotency_key=idempotency_key,
            request_hash=request_hash,
        ).id
    except ReplayedOrder as replay:
        return replay.order_id


def _replay(session: Session, user_id: int, key: str, request_hash: str) -> int | None:
    resource_id = idempotency.stored_resource(session, user_id, IDEMPOTENCY_SCOPE, key, request_hash, "order")
    return None if resource_id is None else int(resource_id)


def _price(request: OrderRequest, policy: OrderPolicy) -> tuple[int, int, int, Selector]:
    """Grams, amount, price per tonne and where the grams may come from."""
    if request.product == "one_yuan":
        units = request.units or 0
        if not 1 <= units <= policy.max_units:
            raise ValidationFailed(
                f"Buy between 1 and {policy.max_units} units.",
                errors={"units": [f"must be 1 to {policy.max_units}"]},
            )
        if request.project_id is not None:
            _require_project(request.project_id, policy.one_yuan_kinds)
        selector = Selector(
            project_id=request.project_id, owner_id=request.owner_id, kind_codes=policy.one_yuan_kinds
        )
        offer = pricing.one_yuan(policy)
        grams = units * offer.unit_g
        return grams, offer.charge_fen(grams), offer.price_fen_per_t, selector
    if request.product == "credits":
        grams = request.grams or 0
        if request.project_id is None:
            raise ValidationFailed(
                "Choose a project.", errors={"project_id": ["required for a credit order"]}
            )
        if not pricing.MIN_CREDITS_G <= grams <= policy.max_order_g:
            raise ValidationFailed(
                "Order between 1 kg and the maximum order size.",
                errors={"grams": [f"must be {pricing.MIN_CREDITS_G:,} to {policy.max_order_g:,} g"]},
            )
        project = _require_project(request.project_id, None)
        offer = pricing.credits(project.effective_price_fen_per_t)
        if offer is None:
            raise ValidationFailed("This project has no price yet.", errors={"project_id": ["not for sale"]})
        selector = Selector(project_id=project.id, owner_id=request.owner_id)
        return grams, offer.charge_fen(grams), offer.price_fen_per_t, selector
    raise ValidationFailed("Unknown product.", errors={"product": ["must be one_yuan or credits"]})


def _require_project(project_id: int, kinds: tuple[str, ...] | None) -> Project:
    session = read_session()
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"Project {project_id} does not exist.", errors={"project_id": ["unknown project"]})
    if kinds is not None and project.kind_code not in kinds:
        raise ValidationFailed(
            "This project is not sold as one-yuan carbon sink.",
            errors={"project_id": ["not a one-yuan project"]},
        )
    return project


def replace_lines(session: Session, order: Order, reservation: Reservation, price_fen_per_t: int) -> None:
    """Lines for a new reservation of the same order (a payment that came after expiry)."""
    for line in list(order.lines):
        session.delete(line)
    session.flush()
    session.expire(order, ["lines"])
    add_lines(session, order, reservation, price_fen_per_t)
    session.flush()
    session.expire(order, ["lines"])


def add_lines(session: Session, order: Order, reservation: Reservation, price_fen_per_t: int) -> None:
    """One line per batch the reservation draws from; the amount split by grams, to the fen."""
    grams_by_batch: dict[int, int] = defaultdict(int)
    for allocation in reservation.allocations:
        grams_by_batch[allocation.batch_id] += allocation.grams
    projects = dict(
        session.execute(select(Batch.id, Batch.project_id).where(Batch.id.in_(list(grams_by_batch)))).all()
    )
    _add_lines(session, order, grams_by_batch, projects, price_fen_per_t)


def _add_lines(
    session: Session,
    order: Order,
    grams_by_batch: dict[int, int],
    projects: dict[int, int],
    price_fen_per_t: int,
) -> None:
    lines_loaded = "lines" not in inspect(order).unloaded
    for values in order_rows.line_values(order.amount_fen, grams_by_batch, projects, price_fen_per_t):
        (order.lines.append if lines_loaded else session.add)(OrderLine(order_id=order.id, **values))
    session.flush()


def get_order(principal: Principal, out_trade_no: str) -> Order:
    """The caller's order (any order for an admin); an open order past its expiry is expired first."""
    order = _find(out_trade_no)
    if order.user_id != principal.user_id and not principal.is_admin:
        raise NotFound(f"Order {out_trade_no} does not exist.")
    if order.status in order_states.OPEN and order.expires_at <= utcnow():
        expire_order(order.id, "expired when read")
        order = _find(out_trade_no)
    return order


def _find(out_trade_no: str) -> Order:
    session = read_session()
    order = session.scalar(
        select(Order).where(Order.out_trade_no == out_trade_no).execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound(f"Order {out_trade_no} does not exist.")
    return order


def list_orders(
    principal: Principal, page: int, page_size: int, status: str | None = None, before: str | None = None
) -> tuple[list[Order], int]:
    """A page of the principal's orders, newest first, and how many there are. `before` (an order
    number) starts after that order: a deep page read from the index, however many came before."""
    session = read_session()
    mine = select(Order).where(Order.user_id == principal.user_id)
    if status:
        mine = mine.where(Order.status == status)
    query = mine.options(selectinload(Order.lines), selectinload(Order.events))
    if before is not None:
        mark = session.execute(
            select(Order.created_at, Order.id).where(
                Order.user_id == principal.user_id, Order.out_trade_no == before
            )
        ).one_or_none()
        if mark is None:
            raise ValidationFailed("No order of yours has that number.", errors={"before": ["unknown order"]})
        query = query.where(Order.created_at <= mark[0], tuple_(Order.created_at, Order.id) < tuple_(*mark))
    newest_first = query.order_by(Order.created_at.desc(), Order.id.desc())
    rows = list(session.scalars(window(newest_first, page, page_size)).all())
    return rows, total_of(session, mine)


def lock_order(session: Session, order_id: int) -> Order:
    order = session.scalar(
        select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound(f"Order {order_id} does not exist.")
    return order


def expire_order(order_id: int, note: str = "payment window passed", trade_closed: bool = False) -> bool:
    """Expire an unpaid order and release its grams; False if it was no longer open.

    `trade_closed`: WeChat Pay has just confirmed its trade closed, so no payment can follow.
    """
    with unit_of_work() as session:
        order = lock_order(session, order_id)
        if order.status not in order_states.OPEN:
            return False
        order_states.transition(session, order, OrderStatus.EXPIRED, note)
        if trade_closed:
            order.trade_closed_at = utcnow()
        if order.reservation_id is not None:
            reservations.release_in(session, order.reservation_id)
    return True


def cancel_order(principal: Principal, out_trade_no: str) -> Order:
    """The buyer gives up an unpaid order; its grams go back to the pool."""
    order = get_order(principal, out_trade_no)
    with unit_of_work() as session:
        locked = lock_order(session, order.id)
        order_states.transition(session, locked, OrderStatus.CANCELLED, "cancelled by the buyer")
        if locked.reservation_id is not None:
            reservations.release_in(session, locked.reservation_id)
    return _find(out_trade_no)


def due_for_expiry(now: datetime | None = None, limit: int = 500) -> list[tuple[int, str, str]]:
    """(id, out_trade_no, provider) of open orders past their expiry, oldest first."""
    session = read_session()
    rows = session.execute(
        select(Order.id, Order.out_trade_no, Order.provider)
        .where(Order.status.in_(list(order_states.OPEN)), Order.expires_at <= (now or utcnow()))
        .order_by(Order.expires_at)
        .limit(limit)
    ).all()
    session.rollback()
    return [tuple(row) for row in rows]


def load_order(order_id: int) -> Order:
    """An order with its lines and events loaded, as answered to its buyer."""
    session = read_session()
    order = session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.lines), selectinload(Order.events))
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound(f"Order {order_id} does not exist.")
    return order


def search_orders(
    *,
    page: int,
    page_size: int,
    status: str | None = None,
    channel: str | None = None,
    user_id: int | None = None,
    project_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[Order], int]:
    """All orders matching the filters, newest first (admin)."""
    session = read_session()
    query = select(Order)
    if status:
        query = query.where(Order.status == status)
    if channel:
        query = query.where(Order.channel == channel)
    if user_id:
        query = query.where(Order.user_id == user_id)
    if project_id:
        query = query.where(Order.lines.any(OrderLine.project_id == project_id))
    if since:
        query = query.where(Order.created_at >= since)
    if until:
        query = query.where(Order.created_at < until)
    return objects_page(session, query.order_by(Order.id.desc()), page, page_size)
