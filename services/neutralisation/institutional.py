"""Institutional purchases: ecological-justice restoration, tree-planting duty, annual neutralisation.

Each places one credits order (channel institutional) and keeps a claim record with what the
certificate states. The public sees a claim once it is paid, under its random public code only,
with the defendant's name masked. The tree-planting certificate states tonnes of CO2e only: the
platform has no cited tonnes-per-tree conversion to state trees by.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    GRAMS_PER_TONNE,
    Channel,
    ClaimKind,
    InstitutionalClaim,
    Order,
    OrderStatus,
    Organisation,
)
from models.database import read_session, unit_of_work
from models.public_codes import parse_code
from payments.interface import PaymentProvider
from services.accounts.tokens import Principal
from services.kernel.errors import NotFound, ValidationFailed
from services.kernel.masking import mask_name
from services.kernel.paging import objects_page
from services.neutralisation.event_disclosure import credits_in
from services.sales import credit_purchase
from services.sales.credit_purchase import Purchase, PurchaseTerms
from services.sales.order_policy import OrderPolicy

TITLES = {
    ClaimKind.ECOLOGICAL_JUSTICE: "生态司法碳汇替代修复证明",
    ClaimKind.TREE_PLANTING: "义务植树尽责（碳汇）证明",
    ClaimKind.ANNUAL_NEUTRALISATION: "年度碳中和证明",
}


def _tonnes_text(grams: int) -> str:
    return f"{Decimal(grams) / GRAMS_PER_TONNE:f}".rstrip("0").rstrip(".")


def statement(kind: ClaimKind, organisation: str, values: dict[str, Any], grams: int, public: bool) -> str:
    tonnes = _tonnes_text(grams)
    if kind is ClaimKind.ECOLOGICAL_JUSTICE:
        defendant = mask_name(values["defendant_name"]) if public else values["defendant_name"]
        return (
            f"依{values['court']}（{values['case_number']}）判决，被告{defendant}以认购并注销林业碳汇的方式"
            f"替代性修复生态环境，所需 {tonnes} 吨二氧化碳当量。"
        )
    if kind is ClaimKind.TREE_PLANTING:
        return f"{organisation}以认购并注销林业碳汇的方式履行义务植树尽责，计 {tonnes} 吨二氧化碳当量。"
    return f"{organisation} {values['year']} 年度排放以 {tonnes} 吨二氧化碳当量的碳信用中和。"


def _validate(kind: ClaimKind, values: dict[str, Any]) -> None:
    required = {
        ClaimKind.ECOLOGICAL_JUSTICE: ("case_number", "court", "defendant_name"),
        ClaimKind.TREE_PLANTING: (),
        ClaimKind.ANNUAL_NEUTRALISATION: ("year",),
    }[kind]
    missing = [name for name in required if not values.get(name)]
    if missing:
        raise ValidationFailed(
            f"A {kind.value} claim needs {', '.join(missing)}.",
            errors={name: [f"required for {kind.value}"] for name in missing},
        )


def create_claim(
    principal: Principal,
    organisation_id: int,
    values: dict[str, Any],
    terms: PurchaseTerms,
    policy: OrderPolicy,
    provider: PaymentProvider,
) -> tuple[InstitutionalClaim, Purchase]:
    """Order the credits an institution needs and record what the claim is for."""
    principal.require_member(organisation_id)
    kind = ClaimKind(values["kind"])
    _validate(kind, values)
    grams = int(Decimal(str(values["tonnes_required"])) * GRAMS_PER_TONNE)
    organisation = read_session().get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"Organisation {organisation_id} does not exist.")
    name = organisation.name
    purchase = credit_purchase.buy(
        principal,
        organisation_id=organisation_id,
        grams=grams,
        project_id=values["project_id"],
        method=values.get("payment", credit_purchase.WECHAT),
        channel=Channel.INSTITUTIONAL,
        source_type=f"institutional_{kind.value}",
        source_id=str(organisation_id),
        holder_name=name,
        terms=terms,
        policy=policy,
        provider=provider,
    )
    with unit_of_work() as session:
        claim = InstitutionalClaim(
            organisation_id=organisation_id,
            kind=kind,
            case_number=values.get("case_number") or "",
            court=values.get("court") or "",
            defendant_name=values.get("defendant_name") or "",
            year=values.get("year"),
            grams_required=grams,
            out_trade_no=purchase.order.out_trade_no,
            certificate_title=TITLES[kind],
            certificate_statement=statement(kind, name, values, grams, public=False),
            created_by=principal.user_id,
        )
        session.add(claim)
        session.flush()
        session.expunge(claim)
    return claim, purchase


def list_claims(
    principal: Principal, organisation_id: int, page: int, page_size: int
) -> tuple[list[InstitutionalClaim], int]:
    principal.require_member(organisation_id)
    session = read_session()
    query = select(InstitutionalClaim).where(InstitutionalClaim.organisation_id == organisation_id)
    return objects_page(session, query.order_by(InstitutionalClaim.id.desc()), page, page_size)


# A claim is public only once its order was paid: before that it names a court, a case and a
# defendant for a purchase that may never happen.
PAID_STATUSES = frozenset(
    {OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}
)


def _record(session: Session, claim: InstitutionalClaim, order: Order) -> dict[str, Any]:
    organisation = session.get(Organisation, claim.organisation_id)
    values = {
        "case_number": claim.case_number,
        "court": claim.court,
        "defendant_name": claim.defendant_name,
        "year": claim.year,
    }
    return {
        "code": claim.public_code,
        "kind": claim.kind.value,
        "organisation": organisation.name,
        "case_number": claim.case_number,
        "court": claim.court,
        "defendant": mask_name(claim.defendant_name) if claim.defendant_name else "",
        "year": claim.year,
        "grams_required": claim.grams_required,
        "certificate_title": claim.certificate_title,
        "certificate_statement": statement(
            claim.kind, organisation.name, values, claim.grams_required, public=True
        ),
        "order_status": order.status.value,
        "credits": credits_in(session, order.id),
    }


def _order_of(session: Session, claim: InstitutionalClaim) -> Order:
    return session.scalar(select(Order).where(Order.out_trade_no == claim.out_trade_no))


def public_claim(code: str) -> dict[str, Any]:
    """What anyone may read about a paid claim, by its public code: the defendant masked, the credits.

    An unknown code and a claim not paid for answer alike, so the public learns nothing of either.
    """
    with unit_of_work() as session:
        key = parse_code(code)
        claim = (
            None
            if key is None
            else session.scalar(select(InstitutionalClaim).where(InstitutionalClaim.public_code == key))
        )
        order = None if claim is None else _order_of(session, claim)
        if claim is None or order is None or order.status not in PAID_STATUSES:
            raise NotFound("No paid institutional claim has this code.")
        return _record(session, claim, order)


def member_claim(principal: Principal, organisation_id: int, claim_id: int) -> dict[str, Any]:
    """A claim's public record, paid or not, for a member of the organisation that made it."""
    principal.require_member(organisation_id)
    with unit_of_work() as session:
        claim = session.get(InstitutionalClaim, claim_id)
        if claim is None or claim.organisation_id != organisation_id:
            raise NotFound(f"No institutional claim has id {claim_id}.")
        return _record(session, claim, _order_of(session, claim))
