"""Certificates: issued on fulfilment, superseded after a partial refund, voided by a full one.

A certificate records its claims as issued: for every registry tonne it draws from, the project,
the serial and the gram offsets. The public verification answers, without login, under the
certificate's random verification code only (the number people read is random too, and names no
order), from the certificate and the live state of those serials (retirement, refunds), with the
public ledger's entry of its issue and that entry's inclusion proof against the latest signed head.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from models import Allocation, AllocationState, Batch, Certificate, CertificateStatus, Order, Project, utcnow
from models.database import read_session
from models.public_codes import new_public_code, parse_code
from services.accounts import content_check
from services.accounts.tokens import Principal
from services.kernel.errors import NotFound
from services.kernel.masking import mask_name
from services.kernel.order_effects import Fulfilled, Refunded
from services.kernel.paging import objects_page
from services.ledger.public_log import certificate_record_in
from services.pool.reservations import serial_slices
from services.registry.retired_tonnes import RegistryRetirement, registry_retirements

NUMBER_RANDOM_SYMBOLS = 10  # 50 bits: unique in practice; the unique index has the last word

# The holder a certificate names when the buyer gave none.
DEFAULT_HOLDER = "碳汇认购人"


def new_number(year: int) -> str:
    """A certificate number people can read out: `CI`, the year, ten random symbols.

    It names no order and follows no sequence, so one certificate's number says nothing of another's.
    """
    return f"CI{year}{new_public_code(NUMBER_RANDOM_SYMBOLS)}"


def claims_for(session: Session, reservation_id: int) -> list[dict[str, Any]]:
    """The sold serial slices of a reservation with their projects, as stored on a certificate."""
    allocations = session.scalars(
        select(Allocation).where(
            Allocation.reservation_id == reservation_id, Allocation.state == AllocationState.SOLD
        )
    ).all()
    # The batches first, so that serial_slices finds them loaded; the projects with their owners.
    batches = {
        b.id: b for b in session.scalars(select(Batch).where(Batch.id.in_({a.batch_id for a in allocations})))
    }
    slices = serial_slices(session, allocations)
    projects = {
        p.id: p
        for p in session.scalars(
            select(Project)
            .where(Project.id.in_({b.project_id for b in batches.values()}))
            .options(joinedload(Project.owner))
        )
    }
    claims = []
    for piece in slices:
        batch = batches[piece.batch_id]
        project = projects[batch.project_id]
        claims.append(
            {
                "project_id": project.id,
                "project_code": project.code,
                "project_name": project.name,
                "kind": project.kind_code,
                "owner": project.owner.name if project.owner else None,
                "batch_id": batch.id,
                "vintage": batch.vintage,
                "serial": piece.serial,
                "from_g": piece.from_g,
                "to_g": piece.to_g,
                "grams": piece.grams,
                "registry_url": batch.registry_url,
            }
        )
    return claims


def issue_in(session: Session, order: Order, holder_name: str) -> Certificate:
    """Issue the certificate of an order's sold grams, inside the fulfilment's unit of work."""
    claims = claims_for(session, order.reservation_id)
    grams = sum(claim["grams"] for claim in claims)
    certificate = Certificate(
        number=new_number(utcnow().year),
        verification_code=new_public_code(),
        order_id=order.id,
        user_id=order.user_id,
        holder_name=holder_name,
        grams=grams,
        claims=claims,
    )
    session.add(certificate)
    session.flush()
    return certificate


def current_for_order(session: Session, order_id: int) -> Certificate | None:
    return session.scalar(
        select(Certificate).where(
            Certificate.order_id == order_id, Certificate.status == CertificateStatus.VALID
        )
    )


def after_refund_in(session: Session, order: Order) -> Certificate | None:
    """Void the order's certificate; reissue it for what is still sold, if anything is."""
    current = current_for_order(session, order.id)
    remaining = order.grams - order.refunded_g
    if current is None:
        return None
    current.voided_at = utcnow()
    if remaining <= 0:
        current.status = CertificateStatus.VOID
        return None
    current.status = CertificateStatus.SUPERSEDED
    session.flush()
    replacement = issue_in(session, order, current.holder_name)
    current.replaced_by_id = replacement.id
    return replacement


@dataclass(frozen=True)
class Verification:
    certificate: Certificate
    holder: str
    retired_serials: frozenset[str]
    replaced_by: str | None
    # The registry's record of each retired serial of the certificate.
    retirements: Mapping[str, RegistryRetirement] = field(default_factory=dict)
    # The public ledger's entry of its issue, with an inclusion proof against the latest signed head.
    ledger: Mapping[str, Any] | None = None


def verify(code: str) -> Verification:
    """What anyone may know of a certificate from its verification code."""
    session = read_session()
    key = parse_code(code)
    certificate = (
        None
        if key is None
        else session.scalar(select(Certificate).where(Certificate.verification_code == key))
    )
    if certificate is None:
        raise NotFound(
            "No certificate has this verification code. Check the code, or the certificate is not genuine."
        )
    replaced_by = None
    if certificate.replaced_by_id:
        replaced_by = session.get(Certificate, certificate.replaced_by_id).verification_code
    retirements = registry_retirements_of(session, certificate)
    ledger = certificate_record_in(session, certificate.id)
    return Verification(
        certificate,
        public_holder_in(session, certificate),
        frozenset(retirements),
        replaced_by,
        retirements,
        ledger,
    )


def public_holder_in(session: Session, certificate: Certificate) -> str:
    """The holder as the public reads it: masked, or a placeholder while the holder name the buyer
    typed has not passed WeChat's content security check (`content_check`)."""
    if content_check.order_holder_withheld_in(session, certificate.order_id):
        return content_check.PLACEHOLDER
    return mask_name(certificate.holder_name)


def retired_serials(session: Session, certificate: Certificate) -> frozenset[str]:
    """Serials of this certificate already retired at the registry (in a confirmed retirement).

    A serial that is not yet in a confirmed retirement is reported as pending.
    """
    return frozenset(registry_retirements_of(session, certificate))


def registry_retirements_of(session: Session, certificate: Certificate) -> dict[str, RegistryRetirement]:
    """The registry's record (reference, URL, date) of each retired serial of this certificate."""
    return registry_retirements(
        session, ((claim["batch_id"], claim["serial"]) for claim in certificate.claims or [])
    )


def list_for_user(principal: Principal, page: int, page_size: int) -> tuple[list[Certificate], int]:
    session = read_session()
    query = select(Certificate).where(Certificate.user_id == principal.user_id)
    return objects_page(session, query.order_by(Certificate.id.desc()), page, page_size)


def get_for_user(principal: Principal, number: str) -> Certificate:
    session = read_session()
    certificate = session.scalar(select(Certificate).where(Certificate.number == number))
    if certificate is None or (certificate.user_id != principal.user_id and not principal.is_admin):
        raise NotFound(f"Certificate {number} does not exist.")
    return certificate


def pseudonymise_holder_in(session: Session, user_id: int, holder: str) -> int:
    """Name `holder` on every certificate of the user's own purchases (their account is deleted), in
    the caller's unit of work; an organisation's certificates keep its name. Number, verification
    code and claims stay, so each certificate still verifies. How many certificates changed."""
    personal = select(Order.id).where(Order.user_id == user_id, Order.organisation_id.is_(None))
    return int(
        session.execute(
            update(Certificate)
            .where(Certificate.user_id == user_id, Certificate.order_id.in_(personal))
            .values(holder_name=holder)
        ).rowcount
        or 0
    )


def on_order_fulfilled(session: Session, fact: Fulfilled) -> None:
    """Order effect: the fulfilled order's certificate (a donation sells no credits: it has none)."""
    if not fact.order.grams:
        return
    issue_in(session, fact.order, fact.order.holder_name or DEFAULT_HOLDER)


def on_order_refunded(session: Session, fact: Refunded) -> None:
    """Order effect: the refunded order's certificate is voided, and reissued for what is still sold."""
    after_refund_in(session, fact.order)
