"""Credit purchases of organisations: quotes by allowed credit kind, and placing the order.

An organisation pays by WeChat Pay (the ordinary checkout) or by bank transfer: the order is created
the same way and reserves its grams for the longer bank-transfer window until an admin confirms the
transfer (`services.settlement.bank_transfers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from config import listed
from models import Batch, Channel, Order, Project
from models.database import read_session
from payments.interface import PaymentProvider
from services.accounts.tokens import Principal
from services.kernel.errors import NotFound, ValidationFailed
from services.sales import checkout, orders, pricing
from services.sales.order_policy import OrderPolicy
from services.sales.orders import OrderRequest
from services.sales.payment_opening import BANK_TRANSFER

WECHAT = "wechat"
PAYMENT_METHODS = (WECHAT, BANK_TRANSFER)


@dataclass(frozen=True)
class PurchaseTerms:
    """Where the credits may come from and how long a bank transfer may take."""

    kinds: tuple[str, ...]
    bank_transfer_ttl_s: int

    @classmethod
    def from_settings(cls, settings: Any) -> PurchaseTerms:
        kinds = listed(settings["EVENT_OFFSET_KINDS"])
        return cls(kinds, settings["BANK_TRANSFER_TTL_S"])


@dataclass(frozen=True)
class Purchase:
    order: Order
    request_payment: dict[str, str] | None
    payment_error: str | None
    bank_transfer: dict[str, Any] | None


def round_up_to_kg(grams: int) -> int:
    """Credits are sold in whole kilograms, never less than one."""
    return max(1_000, -(-grams // 1_000) * 1_000)


def quote(grams: int, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """Projects of the allowed kinds that have `grams` available, with the price of that amount."""
    session = read_session()
    available = (
        select(Batch.project_id, func.sum(Batch.available_g).label("available_g"))
        .group_by(Batch.project_id)
        .subquery()
    )
    rows = session.execute(
        select(Project, available.c.available_g)
        .join(available, available.c.project_id == Project.id)
        .where(Project.kind_code.in_(kinds), available.c.available_g >= grams)
        .order_by(Project.id)
    ).all()
    options = []
    for project, available_g in rows:
        offer = pricing.credits(project.effective_price_fen_per_t)
        if offer is None:
            continue
        options.append(
            {
                "project_id": project.id,
                "project_code": project.code,
                "project_name": project.name,
                "kind": project.kind_code,
                "price_fen_per_t": offer.price_fen_per_unit,
                "available_g": int(available_g),
                "amount_fen": offer.charge_fen(grams),
            }
        )
    session.rollback()
    return options


def _require_kind(project_id: int, kinds: tuple[str, ...]) -> None:
    project = read_session().get(Project, project_id)
    if project is None:
        raise NotFound(f"Project {project_id} does not exist.", errors={"project_id": ["unknown project"]})
    if project.kind_code not in kinds:
        raise ValidationFailed(
            f"{project.kind_code} credits are not accepted here.",
            errors={"project_id": [f"credit kind must be one of {', '.join(kinds)}"]},
        )


def buy(
    principal: Principal,
    *,
    organisation_id: int,
    grams: int,
    project_id: int,
    method: str,
    channel: Channel,
    source_type: str,
    source_id: str,
    holder_name: str,
    terms: PurchaseTerms,
    policy: OrderPolicy,
    provider: PaymentProvider,
    idempotency_key: str | None = None,
) -> Purchase:
    """Place a credits order for an organisation (its buyer of record), paid by WeChat Pay or by bank
    transfer; the same `idempotency_key` and request give the same order."""
    principal.require_member(organisation_id)
    _require_kind(project_id, terms.kinds)
    request = OrderRequest(
        product="credits",
        organisation_id=organisation_id,
        grams=grams,
        project_id=project_id,
        holder_name=holder_name[:64],
        channel=channel,
        source_type=source_type,
        source_id=source_id,
    )
    if method == WECHAT:
        placed = checkout.place_order(principal, request, policy, provider, idempotency_key)
        return Purchase(placed.order, placed.request_payment, placed.payment_error, None)
    if method != BANK_TRANSFER:
        raise ValidationFailed("Unknown payment method.", errors={"payment": ["wechat or bank_transfer"]})
    order_id = orders.create_order(
        principal, request, policy, BANK_TRANSFER, idempotency_key, ttl_s=terms.bank_transfer_ttl_s
    )
    order = orders.load_order(order_id)
    instructions = {
        "reference": order.out_trade_no,
        "amount_fen": order.amount_fen,
        "pay_by": order.expires_at,
        "note": "Quote the reference on the transfer; the credits are issued when the operator confirms it.",
    }
    return Purchase(order, None, None, instructions)
