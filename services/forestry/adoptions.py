"""Adopting trees of a memorial forest's plot (or the whole plot) for a donation.

The adoption and its donation order (`services.sales.donations`) are written in one unit of work,
under the plot's lock, before any payment is opened: no payment can come for an order nobody
recorded, and no two adopters take the same free trees. The payment is then opened with no row
locked, like any order's; a person pays by WeChat Pay, an organisation by WeChat Pay or bank
transfer. Fulfilment activates the adoption (`adoption_effects`): a certificate number, the points.

An adoption holds no grams: the projected sink of its trees is not a credit, is never sold, and is
not counted as anyone's offset.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Adoption, AdoptionStatus, ForestPlot, Order, Organisation, User, utcnow
from models.database import read_session, single_read, unit_of_work
from models.public_codes import parse_code
from payments.interface import PaymentProvider
from services.accounts import content_check
from services.accounts.tokens import Principal
from services.forestry.forests import held_trees, plot_in
from services.forestry.plantings import plantings_in
from services.kernel import beijing_time, idempotency
from services.kernel.errors import (
    Conflict,
    InvalidState,
    NotFound,
    PaymentRequired,
    UpstreamError,
    ValidationFailed,
)
from services.kernel.masking import mask_name
from services.kernel.paging import objects_page
from services.sales import donations, order_states, payment_opening
from services.sales.order_policy import OrderPolicy
from services.sales.payment_opening import BANK_TRANSFER

WECHAT = "wechat"
IDEMPOTENCY_SCOPE = "adoptions"
DEFAULT_HOLDER = "认建认养人"
SOURCE_TYPE = "adoption"
NOT_A_CREDIT = "认养树木的预期碳汇不作为碳信用出售，也不计入任何人的碳抵消。"


@dataclass(frozen=True)
class AdoptionTerms:
    """Points per adopted tree (a configured rule) and how long a bank transfer may take."""

    points_per_tree: int
    bank_transfer_ttl_s: int

    @classmethod
    def from_settings(cls, settings: Any) -> AdoptionTerms:
        return cls(settings["ADOPTION_POINTS_PER_TREE"], settings["BANK_TRANSFER_TTL_S"])


@dataclass(frozen=True)
class PlacedAdoption:
    adoption: dict[str, Any]
    order: Order
    request_payment: dict[str, str] | None
    payment_error: str | None
    bank_transfer: dict[str, Any] | None


class _Replayed(Exception):
    def __init__(self, adoption_id: int) -> None:
        super().__init__(adoption_id)
        self.adoption_id = adoption_id


def _fingerprint(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def _replayed(user_id: int, key: str, request_hash: str) -> int | None:
    session = read_session()
    try:
        found = idempotency.stored_resource(
            session, user_id, IDEMPOTENCY_SCOPE, key, request_hash, "adoption"
        )
    finally:
        session.rollback()
    return None if found is None else int(found)


def _openid(user_id: int) -> str | None:
    with single_read() as connection:
        return connection.execute(select(User.openid).where(User.id == user_id)).scalar()


def _trees(session: Session, plot: ForestPlot, values: dict[str, Any]) -> int:
    """How many trees this adoption takes, or why it cannot (under the plot's lock)."""
    if plot.credit_project_id is not None:
        raise Conflict(
            "This plot's sink is enrolled in a credit project and sold as credits; it cannot be adopted.",
            errors={"plot_id": ["enrolled in a credit project"]},
        )
    held = held_trees(session, plot.id)
    if values.get("whole_plot"):
        if values.get("trees") not in (None, plot.tree_capacity):
            raise ValidationFailed(
                "A whole plot is adopted with all its trees.", errors={"trees": ["leave out with whole_plot"]}
            )
        if held:
            raise Conflict(
                f"{held} trees of this plot are adopted already; adopt some of the rest instead.",
                errors={"whole_plot": ["the plot is partly adopted"]},
            )
        return plot.tree_capacity
    trees = values.get("trees")
    if not trees:
        raise ValidationFailed("Say how many trees, or adopt the whole plot.", errors={"trees": ["required"]})
    free = plot.tree_capacity - held
    if trees > free:
        raise Conflict(f"Only {free} trees of this plot are free.", errors={"trees": [f"at most {free}"]})
    return trees


def adopt(
    principal: Principal,
    values: dict[str, Any],
    terms: AdoptionTerms,
    policy: OrderPolicy,
    provider: PaymentProvider,
    idempotency_key: str | None = None,
) -> PlacedAdoption:
    """Adopt trees (or a whole plot): record the adoption and its donation order, then open the payment.

    The same Idempotency-Key and body answer the same adoption; the same key with another body is 422.
    """
    organisation_id = values.get("organisation_id")
    if organisation_id is not None:
        principal.require_member(organisation_id)
    method = values.get("payment", WECHAT)
    if method == BANK_TRANSFER and organisation_id is None:
        raise ValidationFailed(
            "A person pays by WeChat Pay; bank transfer is for organisations.",
            errors={"payment": ["wechat for a personal adoption"]},
        )
    request_hash = _fingerprint(values) if idempotency_key else ""
    if idempotency_key and (existing := _replayed(principal.user_id, idempotency_key, request_hash)):
        return _again(existing, provider, policy)
    if method == WECHAT and not _openid(principal.user_id):
        raise ValidationFailed(
            "This account has no WeChat openid to pay with.", errors={"user": ["no openid"]}
        )
    typed = values.get("holder_name") or ""
    # The adopter's own text is shown on the public record: WeChat's content security check first.
    verdict = content_check.screen(principal.user_id, "holder_name", typed)
    now = utcnow()
    ttl = terms.bank_transfer_ttl_s if method == BANK_TRANSFER else policy.reservation_ttl_s
    try:
        with unit_of_work() as session:
            plot = plot_in(session, values["plot_id"], lock=True)
            if idempotency_key and (
                found := idempotency.stored_resource(
                    session, principal.user_id, IDEMPOTENCY_SCOPE, idempotency_key, request_hash, "adoption"
                )
            ):
                # A request with this key took the plot's lock first and has committed its adoption.
                raise _Replayed(int(found))
            trees = _trees(session, plot, values)
            holder = values.get("holder_name") or ""
            if organisation_id is not None:
                organisation = session.get(Organisation, organisation_id)
                if organisation is None:
                    raise NotFound(f"Organisation {organisation_id} does not exist.")
                holder = holder or organisation.name
            order = donations.write_in(
                session,
                user_id=principal.user_id,
                organisation_id=organisation_id,
                amount_fen=trees * plot.donation_fen_per_tree,
                holder_name=holder or DEFAULT_HOLDER,
                provider_name=BANK_TRANSFER if method == BANK_TRANSFER else provider.name,
                expires_at=now + timedelta(seconds=ttl),
                source_type=SOURCE_TYPE,
                source_id="",
            )
            if verdict.status != "pass":
                content_check.record_in(
                    session, content_check.HOLDER_NAME, order.out_trade_no, typed, verdict, principal.user_id
                )
            adoption = Adoption(
                plot_id=plot.id,
                user_id=principal.user_id,
                organisation_id=organisation_id,
                trees=trees,
                whole_plot=bool(values.get("whole_plot")),
                holder_name=holder or DEFAULT_HOLDER,
                donation_fen=order.amount_fen,
                order_id=order.id,
                points=trees * terms.points_per_tree,
            )
            session.add(adoption)
            session.flush()
            order.source_id = str(adoption.id)
            if idempotency_key:
                idempotency.remember(
                    session, principal.user_id, IDEMPOTENCY_SCOPE, idempotency_key, request_hash, adoption.id
                )
            adoption_id = adoption.id
    except _Replayed as replay:
        return _again(replay.adoption_id, provider, policy)
    except IntegrityError:
        # Two requests with one key raced: the other one's adoption is the answer.
        if idempotency_key and (existing := _replayed(principal.user_id, idempotency_key, request_hash)):
            return _again(existing, provider, policy)
        raise
    return _again(adoption_id, provider, policy)


def _bank_instructions(order: Order) -> dict[str, Any]:
    return {
        "reference": order.out_trade_no,
        "amount_fen": order.amount_fen,
        "pay_by": order.expires_at,
        "note": "Quote the reference on the transfer; the adoption starts when the operator confirms it.",
    }


def _again(adoption_id: int, provider: PaymentProvider, policy: OrderPolicy) -> PlacedAdoption:
    """The adoption as it is, with its payment (re)opened while its order is open."""
    session = read_session()
    adoption = session.get(Adoption, adoption_id, populate_existing=True)
    order = session.get(Order, adoption.order_id, populate_existing=True)
    view = adoption_view(session, adoption, order)
    session.rollback()
    if order.provider == BANK_TRANSFER:
        return PlacedAdoption(view, order, None, None, _bank_instructions(order))
    try:
        prepay = payment_opening.open_payment(order.id, provider, policy)
    except (UpstreamError, PaymentRequired) as exc:
        return PlacedAdoption(view, order, None, exc.message, None)
    except InvalidState:
        return PlacedAdoption(view, order, None, "The donation is no longer open for payment.", None)
    return PlacedAdoption(
        view, read_session().get(Order, order.id, populate_existing=True), prepay.request_payment, None, None
    )


def shown_status(adoption: Adoption, order: Order) -> str:
    """`pending` while its payment may still come, `lapsed` once its order ended unpaid, else the status."""
    if adoption.status is not AdoptionStatus.PENDING:
        return adoption.status.value
    still_open = order.status in order_states.OPEN and order.expires_at > utcnow()
    return "pending" if still_open else "lapsed"


def adoption_view(session: Session, adoption: Adoption, order: Order | None = None) -> dict[str, Any]:
    """An adoption as its adopter (and the operator) reads it."""
    order = order or session.get(Order, adoption.order_id)
    plot = adoption.plot
    return {
        "id": adoption.id,
        "plot_id": plot.id,
        "plot_code": plot.code,
        "forest_id": plot.forest.id,
        "forest_name": plot.forest.name,
        "place": plot.forest.place,
        "species": list(plot.species or []),
        "trees": adoption.trees,
        "whole_plot": adoption.whole_plot,
        "holder_name": adoption.holder_name,
        "organisation_id": adoption.organisation_id,
        "donation_fen": adoption.donation_fen,
        "points": adoption.points,
        "status": shown_status(adoption, order),
        "out_trade_no": order.out_trade_no,
        "order_status": order.status.value,
        "public_code": adoption.public_code,
        "certificate_number": adoption.certificate_number,
        "created_at": adoption.created_at,
        "activated_at": adoption.activated_at,
        "refunded_at": adoption.refunded_at,
    }


def _page_of(query: Any, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    session = read_session()
    rows, total = objects_page(session, query.order_by(Adoption.id.desc()), page, page_size)
    return [adoption_view(session, row) for row in rows], total


def list_mine(principal: Principal, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """My own adoptions (not those I placed for an organisation), newest first."""
    query = select(Adoption).where(Adoption.user_id == principal.user_id, Adoption.organisation_id.is_(None))
    return _page_of(query, page, page_size)


def list_for_organisation(
    principal: Principal, organisation_id: int, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """An organisation's adoptions, for its members."""
    principal.require_member(organisation_id)
    return _page_of(select(Adoption).where(Adoption.organisation_id == organisation_id), page, page_size)


def list_all(
    page: int, page_size: int, status: str | None = None, plot_id: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Every adoption, newest first (admin), by stored status or plot."""
    query = select(Adoption)
    if status:
        query = query.where(Adoption.status == AdoptionStatus(status))
    if plot_id:
        query = query.where(Adoption.plot_id == plot_id)
    return _page_of(query, page, page_size)


def _readable(principal: Principal, adoption: Adoption | None, adoption_id: int) -> Adoption:
    if adoption is not None and (
        principal.is_admin
        or (adoption.organisation_id is None and adoption.user_id == principal.user_id)
        or (adoption.organisation_id is not None and adoption.organisation_id in principal.organisation_ids)
    ):
        return adoption
    raise NotFound(f"Adoption {adoption_id} does not exist.")


def get_adoption(principal: Principal, adoption_id: int) -> dict[str, Any]:
    """One adoption of mine (or of my organisation; any, for an admin)."""
    session = read_session()
    adoption = _readable(principal, session.get(Adoption, adoption_id), adoption_id)
    return adoption_view(session, adoption)


def _record(session: Session, adoption: Adoption) -> dict[str, Any]:
    plot = adoption.plot
    forest = plot.forest
    organisation = session.get(Organisation, adoption.organisation_id) if adoption.organisation_id else None
    return {
        "code": adoption.public_code,
        "valid": adoption.status is AdoptionStatus.ACTIVE,
        "status": adoption.status.value,
        "certificate_number": adoption.certificate_number,
        "holder": organisation.name if organisation else _public_holder(session, adoption),
        "forest_name": forest.name,
        "forest_code": forest.code,
        "place": forest.place,
        "owner": forest.owner.name,
        "plot_code": plot.code,
        "area_m2": plot.area_m2,
        "species": list(plot.species or []),
        "trees": adoption.trees,
        "whole_plot": adoption.whole_plot,
        "activated_at": adoption.activated_at,
        "activated_on": beijing_time.beijing_date(adoption.activated_at) if adoption.activated_at else None,
        "refunded_at": adoption.refunded_at,
        "plantings": plantings_in(session, plot.id),
        "statement": NOT_A_CREDIT,
    }


def _public_holder(session: Session, adoption: Adoption) -> str:
    """The adopter's name masked, or a placeholder while WeChat's content check has not passed it."""
    if content_check.order_holder_withheld_in(session, adoption.order_id):
        return content_check.PLACEHOLDER
    return mask_name(adoption.holder_name)


def public_record(code: str) -> dict[str, Any]:
    """What anyone may read of a paid adoption by its code (the holder's name masked).

    An unknown code and an adoption never paid for answer alike.
    """
    session = read_session()
    key = parse_code(code)
    adoption = None if key is None else session.scalar(select(Adoption).where(Adoption.public_code == key))
    if adoption is None or adoption.status is AdoptionStatus.PENDING:
        raise NotFound("No adoption has this code.")
    return _record(session, adoption)


def certificate_record(principal: Principal, adoption_id: int) -> dict[str, Any]:
    """The record the adopter's certificate prints; only once the adoption was paid."""
    session = read_session()
    adoption = _readable(principal, session.get(Adoption, adoption_id), adoption_id)
    if adoption.status is AdoptionStatus.PENDING:
        raise InvalidState("The adoption is not paid yet; its certificate comes with the payment.")
    record = _record(session, adoption)
    record["holder"] = adoption.holder_name  # the adopter's own copy names them in full
    return record
