"""Land-use compensation (经营性项目用地碳汇补偿, Shuozhou): the sink a business project occupying
forest land buys when its land-use permit is processed.

Shuozhou's reply (朔自然资函〔2023〕315号, 三、二是): the ecological loss of forest land occupied by a
business project is compensated by buying forestry sink of equal value, paid when the forest-land
use procedure is handled; the fee is shared between the state and the forest-land owner by
proportion. Here: grams = occupied area x the cited per-area loss factor (`loss_factor`), ordered
in whole kilograms from one project of the pool like any credit order (WeChat Pay or bank
transfer); the fee is split once, when the compensation is made, by `LAND_COMPENSATION_STATE_SHARE_BP`
(largest remainder, so the two parts add up to the fen), and the owner payouts show both parts.

One permit is compensated once: while a compensation of it is open or paid, another is refused.
The order is placed first (idempotent on the request's key), then the record written; a request
retried with the same key after a failure in between finds its order and writes the record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from models import (
    GRAMS_PER_TONNE,
    Channel,
    LandCompensation,
    Order,
    OrderStatus,
    Organisation,
    utcnow,
)
from models.database import read_session, unit_of_work
from models.forestry import BASIS_POINTS
from models.public_codes import parse_code
from payments.interface import PaymentProvider
from services.accounts.tokens import Principal
from services.forestry.loss_factor import LossFactor, loss_factor, loss_grams
from services.kernel import idempotency
from services.kernel.errors import Conflict, NotFound
from services.kernel.money import split_amount
from services.kernel.paging import objects_page
from services.neutralisation.event_disclosure import credits_in
from services.sales import credit_purchase, order_states, orders
from services.sales.credit_purchase import Purchase, PurchaseTerms
from services.sales.order_policy import OrderPolicy
from services.sales.payment_opening import BANK_TRANSFER

TITLE = "经营性项目用地碳汇补偿证明"
IDEMPOTENCY_SCOPE = "land-compensations"
SOURCE_TYPE = "land_compensation"
PAID = frozenset(
    {OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}
)


@dataclass(frozen=True)
class CompensationTerms:
    """The credit kinds a compensation may buy, the bank-transfer window and the state's share."""

    purchase: PurchaseTerms
    state_share_bp: int

    @classmethod
    def from_settings(cls, settings: Any) -> CompensationTerms:
        return cls(PurchaseTerms.from_settings(settings), settings["LAND_COMPENSATION_STATE_SHARE_BP"])


def split_fee(amount_fen: int, state_share_bp: int) -> tuple[int, int]:
    """(state, forest-land owner) parts of a fee, by largest remainder: they add up to `amount_fen`."""
    state, owner = split_amount(amount_fen, [state_share_bp, BASIS_POINTS - state_share_bp])
    return state, owner


def _tonnes_text(grams: int) -> str:
    return f"{Decimal(grams) / GRAMS_PER_TONNE:f}".rstrip("0").rstrip(".")


def required_grams(area_m2: int, factor: LossFactor | None = None) -> tuple[int, int]:
    """(loss in grams, grams to buy: the loss in whole kilograms, rounded up)."""
    loss = loss_grams(area_m2, factor)
    return loss, credit_purchase.round_up_to_kg(loss)


def quote(area_m2: int, terms: CompensationTerms) -> dict[str, Any]:
    """What compensating `area_m2` of forest land takes: the grams, the factor, and per project of
    an allowed kind with enough credits, the fee and its two parts."""
    factor = loss_factor()
    loss, grams = required_grams(area_m2, factor)
    options = []
    for option in credit_purchase.quote(grams, terms.purchase.kinds):
        state, owner = split_fee(option["amount_fen"], terms.state_share_bp)
        options.append({**option, "state_fen": state, "owner_fen": owner})
    return {
        "occupied_area_m2": area_m2,
        "factor_t_per_ha": factor.text(),
        "factor_source": factor.source,
        "policy": factor.policy,
        "loss_g": loss,
        "grams": grams,
        "state_share_bp": terms.state_share_bp,
        "options": options,
    }


def statement(organisation: str, values: dict[str, Any], grams: int, factor_text: str) -> str:
    where = f"（{values['location']}）" if values.get("location") else ""
    return (
        f"{organisation}的经营性项目{values['business_project']}{where}占用林地 {values['occupied_area_m2']:,} 平方米，"
        f"在办理使用林地手续（{values['permit_authority']}，{values['permit_number']}）时，"
        f"按每公顷 {factor_text} 吨二氧化碳当量的损失因子认购等量林业碳汇 {_tonnes_text(grams)} 吨二氧化碳当量，"
        "补偿所造成的生态价值损失。"
    )


def _fingerprint(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def _live(session: Session, authority: str, number: str, except_order: int | None = None) -> bool:
    """Whether the permit has a compensation that is paid, or open for payment."""
    rows = session.execute(
        select(Order.status, Order.expires_at, Order.id)
        .join(LandCompensation, LandCompensation.order_id == Order.id)
        .where(LandCompensation.permit_authority == authority, LandCompensation.permit_number == number)
    ).all()
    now = utcnow()
    return any(
        order_id != except_order
        and (
            (status in PAID and status is not OrderStatus.REFUNDED)
            or (status in order_states.OPEN and expires_at > now)
        )
        for status, expires_at, order_id in rows
    )


def create_compensation(
    principal: Principal,
    organisation_id: int,
    values: dict[str, Any],
    terms: CompensationTerms,
    policy: OrderPolicy,
    provider: PaymentProvider,
    idempotency_key: str | None = None,
) -> tuple[dict[str, Any], Purchase]:
    """Order the sink a permit's occupied forest land requires and record the compensation."""
    principal.require_member(organisation_id)
    request_hash = _fingerprint(values) if idempotency_key else ""
    session = read_session()
    try:
        if idempotency_key:
            found = idempotency.stored_resource(
                session, principal.user_id, IDEMPOTENCY_SCOPE, idempotency_key, request_hash, "compensation"
            )
            if found is not None:
                return _answer(int(found), None)
        organisation = session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotFound(f"Organisation {organisation_id} does not exist.")
        name = organisation.name
        if _live(session, values["permit_authority"], values["permit_number"]):
            raise Conflict(
                f"Permit {values['permit_number']} is compensated (or being paid) already.",
                errors={"permit_number": ["compensated already"]},
            )
    finally:
        session.rollback()
    factor = loss_factor()
    _loss, grams = required_grams(values["occupied_area_m2"], factor)
    purchase = credit_purchase.buy(
        principal,
        organisation_id=organisation_id,
        grams=grams,
        project_id=values["project_id"],
        method=values.get("payment", credit_purchase.WECHAT),
        channel=Channel.LAND_COMPENSATION,
        source_type=SOURCE_TYPE,
        source_id=values["permit_number"][:64],
        holder_name=name,
        terms=terms.purchase,
        policy=policy,
        provider=provider,
        idempotency_key=f"lc:{idempotency_key}" if idempotency_key else None,
    )
    key = (idempotency_key, request_hash) if idempotency_key else None
    fee = (purchase.order.id, purchase.order.amount_fen)
    try:
        compensation_id = _record_once(
            principal, organisation_id, values, terms, factor, grams, fee, name, key
        )
    except IntegrityError:
        # A request racing this one with the same key (so the same order) wrote it first.
        compensation_id = _record_once(
            principal, organisation_id, values, terms, factor, grams, fee, name, key
        )
    except Conflict:
        orders.expire_order(fee[0], "its permit was compensated by another order")  # the grams go back
        raise
    except DataError:
        orders.expire_order(fee[0], "its compensation could not be recorded")  # no order without its record
        raise
    return _answer(compensation_id, purchase)


def _record_once(
    principal: Principal,
    organisation_id: int,
    values: dict[str, Any],
    terms: CompensationTerms,
    factor: LossFactor,
    grams: int,
    fee: tuple[int, int],
    name: str,
    key: tuple[str, str] | None,
) -> int:
    """Write the compensation of a placed order `fee` = (order id, amount), and remember the request's
    key with it, once: a retry finds both. Gives the compensation's id."""
    order_id, amount = fee
    with unit_of_work() as session:
        found = session.scalar(select(LandCompensation.id).where(LandCompensation.order_id == order_id))
        if found is None:
            session.get(Organisation, organisation_id, with_for_update=True)  # one writer per organisation
            if _live(session, values["permit_authority"], values["permit_number"], except_order=order_id):
                raise Conflict(
                    f"Permit {values['permit_number']} was compensated meanwhile.",
                    errors={"permit_number": ["compensated already"]},
                )
            state, owner = split_fee(amount, terms.state_share_bp)
            compensation = LandCompensation(
                organisation_id=organisation_id,
                permit_number=values["permit_number"],
                permit_authority=values["permit_authority"],
                business_project=values["business_project"],
                location=values.get("location", ""),
                occupied_area_m2=values["occupied_area_m2"],
                factor_t_per_ha=factor.text(),
                factor_source=factor.source,
                grams=grams,
                project_id=values["project_id"],
                order_id=order_id,
                amount_fen=amount,
                state_share_bp=terms.state_share_bp,
                state_fen=state,
                owner_fen=owner,
                certificate_title=TITLE,
                certificate_statement=statement(name, values, grams, factor.text()),
                created_by=principal.user_id,
            )
            session.add(compensation)
            session.flush()
            found = compensation.id
        if key is not None:
            user, (raw, request_hash) = principal.user_id, key
            if (
                idempotency.stored_resource(
                    session, user, IDEMPOTENCY_SCOPE, raw, request_hash, "compensation"
                )
                is None
            ):
                idempotency.remember(session, user, IDEMPOTENCY_SCOPE, raw, request_hash, found)
    return found


def _answer(compensation_id: int, purchase: Purchase | None) -> tuple[dict[str, Any], Purchase]:
    session = read_session()
    compensation = session.get(LandCompensation, compensation_id, populate_existing=True)
    view = compensation_view(session, compensation)
    if purchase is None:
        order = orders.load_order(compensation.order_id)
        bank = None
        if order.provider == BANK_TRANSFER:
            bank = {
                "reference": order.out_trade_no,
                "amount_fen": order.amount_fen,
                "pay_by": order.expires_at,
                "note": "Quote the reference on the transfer; the credits are issued when the operator confirms it.",
            }
        purchase = Purchase(order, None, None, bank)
    return view, purchase


def compensation_view(session: Session, compensation: LandCompensation) -> dict[str, Any]:
    """A compensation as its organisation (and the operator) reads it."""
    order = session.get(Order, compensation.order_id)
    return {
        "id": compensation.id,
        "organisation_id": compensation.organisation_id,
        "permit_number": compensation.permit_number,
        "permit_authority": compensation.permit_authority,
        "business_project": compensation.business_project,
        "location": compensation.location,
        "occupied_area_m2": compensation.occupied_area_m2,
        "factor_t_per_ha": compensation.factor_t_per_ha,
        "factor_source": compensation.factor_source,
        "grams": compensation.grams,
        "project_id": compensation.project_id,
        "amount_fen": compensation.amount_fen,
        "state_share_bp": compensation.state_share_bp,
        "state_fen": compensation.state_fen,
        "owner_fen": compensation.owner_fen,
        "out_trade_no": order.out_trade_no,
        "order_status": order.status.value,
        "public_code": compensation.public_code,
        "certificate_title": compensation.certificate_title,
        "certificate_statement": compensation.certificate_statement,
        "created_at": compensation.created_at,
    }


def list_for_organisation(
    principal: Principal, organisation_id: int, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    principal.require_member(organisation_id)
    session = read_session()
    query = select(LandCompensation).where(LandCompensation.organisation_id == organisation_id)
    rows, total = objects_page(session, query.order_by(LandCompensation.id.desc()), page, page_size)
    return [compensation_view(session, row) for row in rows], total


def list_all(page: int, page_size: int, permit_number: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """Every compensation, newest first (admin), or those of one permit number."""
    session = read_session()
    query = select(LandCompensation)
    if permit_number:
        query = query.where(LandCompensation.permit_number == permit_number)
    rows, total = objects_page(session, query.order_by(LandCompensation.id.desc()), page, page_size)
    return [compensation_view(session, row) for row in rows], total


def get_compensation(principal: Principal, compensation_id: int) -> dict[str, Any]:
    """One compensation, for a member of its organisation or an admin."""
    session = read_session()
    compensation = session.get(LandCompensation, compensation_id)
    if compensation is None or not (
        principal.is_admin or compensation.organisation_id in principal.organisation_ids
    ):
        raise NotFound(f"No land-use compensation has id {compensation_id}.")
    return compensation_view(session, compensation)


def _record(session: Session, compensation: LandCompensation, order: Order) -> dict[str, Any]:
    organisation = session.get(Organisation, compensation.organisation_id)
    return {
        "code": compensation.public_code,
        "kind": SOURCE_TYPE,
        "organisation": organisation.name,
        "permit_number": compensation.permit_number,
        "permit_authority": compensation.permit_authority,
        "business_project": compensation.business_project,
        "location": compensation.location,
        "occupied_area_m2": compensation.occupied_area_m2,
        "factor_t_per_ha": compensation.factor_t_per_ha,
        "factor_source": compensation.factor_source,
        "grams_required": compensation.grams,
        "certificate_title": compensation.certificate_title,
        "certificate_statement": compensation.certificate_statement,
        "order_status": order.status.value,
        "credits": credits_in(session, order.id),
    }


def public_record(code: str) -> dict[str, Any]:
    """What anyone may read of a paid compensation by its code: the permit, the area, the credits.

    An unknown code and a compensation not paid for answer alike.
    """
    session = read_session()
    key = parse_code(code)
    compensation = (
        None
        if key is None
        else session.scalar(select(LandCompensation).where(LandCompensation.public_code == key))
    )
    order = None if compensation is None else session.get(Order, compensation.order_id)
    if compensation is None or order is None or order.status not in PAID:
        raise NotFound("No paid land-use compensation has this code.")
    return _record(session, compensation, order)


def member_record(principal: Principal, compensation_id: int) -> dict[str, Any]:
    """A compensation's public record, paid or not, for a member of its organisation (the certificate)."""
    get_compensation(principal, compensation_id)
    session = read_session()
    compensation = session.get(LandCompensation, compensation_id)
    return _record(session, compensation, session.get(Order, compensation.order_id))
