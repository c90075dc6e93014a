"""Personal footprints: compute and keep them, read a user's history and trend, offset one in one tap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from models import Channel, Footprint, PeriodType, User, utcnow
from models.database import read_session, unit_of_work
from payments.interface import PaymentProvider
from services.accounts.tokens import Principal
from services.footprint import factor_library
from services.footprint.footprint_calculator import FootprintInputError, calculate
from services.kernel.errors import NotFound, ValidationFailed
from services.kernel.paging import objects_page
from services.sales import checkout
from services.sales.order_policy import OrderPolicy
from services.sales.orders import OrderRequest

INPUT_SECTIONS = ("province", "city", "home", "transport", "diet")
_INSERT_FOOTPRINT = insert(Footprint).returning(Footprint.id)


@dataclass(frozen=True)
class TrendPoint:
    period_start: date
    total_g: int
    footprint_id: int
    factor_set_version: int


def period_start_for(period_type: PeriodType, day: date | None) -> date:
    """The first day of the month or year that contains `day` (today, UTC, when None)."""
    day = day or utcnow().date()
    return day.replace(day=1) if period_type == PeriodType.MONTH else day.replace(month=1, day=1)


def _json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def calculate_footprint(
    principal: Principal, data: dict[str, Any], unit_g: int, unit_price_fen: int
) -> Footprint:
    """Compute the footprint with the current factor set and keep it in the user's history."""
    period_type = PeriodType(data.get("period_type") or PeriodType.MONTH)
    inputs = {name: data[name] for name in INPUT_SECTIONS if data.get(name) is not None}
    with unit_of_work() as session:
        table = factor_library.current_table_in(session)
        default_place: tuple[str, ...] = ()
        if not inputs.get("province") and not inputs.get("city"):
            user = session.get(User, principal.user_id)
            default_place = (user.city, user.region) if user else ()
        try:
            result = calculate(inputs, table, period_type.value, unit_g, unit_price_fen, default_place)
        except FootprintInputError as exc:
            raise ValidationFailed(
                "The footprint inputs are not valid; see `errors` for every field.",
                errors={"json": exc.errors},
            ) from None
        values = {
            "user_id": principal.user_id,
            "period_type": period_type,
            "period_start": period_start_for(period_type, data.get("period_start")),
            "inputs": _json_safe(inputs),
            "factor_set_version": table.version,
            "total_g": result.total_g,
            "breakdown": result.as_json(),
            "created_at": utcnow(),
        }
        # A Core INSERT: the hot path of the calculator skips the ORM's unit-of-work bookkeeping.
        footprint_id = session.execute(_INSERT_FOOTPRINT, values).scalar_one()
        return Footprint(id=footprint_id, **values)


def list_footprints(user_id: int, page: int, page_size: int) -> tuple[list[Footprint], int]:
    """The user's footprints, newest first."""
    session = read_session()
    page_of = objects_page(
        session,
        select(Footprint).where(Footprint.user_id == user_id).order_by(Footprint.id.desc()),
        page,
        page_size,
    )
    session.rollback()
    return page_of


def get_footprint(user_id: int, footprint_id: int) -> Footprint:
    """One of the user's footprints; another user's is not found."""
    session = read_session()
    footprint = session.scalar(
        select(Footprint).where(Footprint.id == footprint_id, Footprint.user_id == user_id)
    )
    session.rollback()
    if footprint is None:
        raise NotFound(
            f"Footprint {footprint_id} does not exist.", errors={"id": ["no such footprint of yours"]}
        )
    return footprint


def trend(user_id: int, period_type: PeriodType, limit: int) -> list[TrendPoint]:
    """Totals per period, oldest first, over the `limit` latest periods; a recalculated period counts once (the latest)."""
    session = read_session()
    rows = session.execute(
        select(Footprint.id, Footprint.period_start, Footprint.total_g, Footprint.factor_set_version)
        .where(Footprint.user_id == user_id, Footprint.period_type == period_type)
        .order_by(Footprint.period_start, Footprint.id)
    ).all()
    session.rollback()
    latest: dict[date, TrendPoint] = {}
    for row in rows:
        latest[row.period_start] = TrendPoint(row.period_start, row.total_g, row.id, row.factor_set_version)
    return sorted(latest.values(), key=lambda p: p.period_start)[-limit:]


def offset_footprint(
    principal: Principal,
    footprint_id: int,
    policy: OrderPolicy,
    provider: PaymentProvider,
    idempotency_key: str | None = None,
    *,
    holder_name: str = "",
    project_id: int | None = None,
    owner_id: int | None = None,
) -> checkout.PlacedOrder:
    """Place a one-yuan order of ceil(total / unit) units for one of the user's footprints.

    The holder name, project and owner are an order's (`OrderRequest`): a project must be sold as
    one-yuan carbon sink (404 unknown, 422 not one-yuan).
    """
    footprint = get_footprint(principal.user_id, footprint_id)
    units = -(-footprint.total_g // policy.unit_g)
    if units == 0:
        raise ValidationFailed(
            "This footprint is zero; there is nothing to offset.", errors={"id": ["total is 0 g"]}
        )
    request = OrderRequest(
        product="one_yuan",
        units=units,
        channel=Channel.FOOTPRINT_OFFSET,
        source_type="footprint",
        source_id=str(footprint.id),
        project_id=project_id,
        owner_id=owner_id,
        holder_name=holder_name,
        holder_typed=True,
    )
    return checkout.place_order(principal, request, policy, provider, idempotency_key)


def erase_user_in(session: Session, user_id: int) -> int:
    """Delete every footprint of the user (their account is deleted), in the caller's unit of work.

    A footprint is the user's own calculation and nothing else refers to it; an order placed to
    offset one keeps its grams and amount. How many were deleted.
    """
    return int(session.execute(delete(Footprint).where(Footprint.user_id == user_id)).rowcount or 0)
