"""The admin flow of a reduction batch: draft → submitted for issuance → issued, or rejected.

Submitting records the registry's application reference. Issuing records what the registry issued:
a quantity of whole tonnes (registries count tonnes; the pool sells each gram of a tonne against its
serial), no more than the batch's grams, with the registry's reference and the serials. It enters
the pool as a batch of the carbon-inclusion credit kind (`CIER`), in a project of its own that says
the month and methodology, through the pool's own catalogue and batch services, so every pool
check and audit entry applies, and the batch can be sold like any other at the price given.
A rejected batch keeps its actions: a reduction the registry refused is not offered again.

Each transition is one unit of work with an audit entry, under the batch's row lock; a transition
the state does not allow is refused (409) and bad figures are refused before anything is written (422).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import GRAMS_PER_TONNE, CreditKind, ReductionBatch, ReductionBatchStatus, utcnow
from models.database import unit_of_work
from services.kernel import audit, beijing_time
from services.kernel.errors import InvalidState, NotFound, ValidationFailed
from services.pool import batches, catalogue_admin
from services.reductions import reduction_batches

S = ReductionBatchStatus
TRANSITIONS: dict[ReductionBatchStatus, frozenset[ReductionBatchStatus]] = {
    S.DRAFT: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.ISSUED, S.REJECTED}),
    S.ISSUED: frozenset(),
    S.REJECTED: frozenset(),
}
KIND_CODE = "CIER"
KIND = {
    "code": KIND_CODE,
    "name": "碳普惠核证减排量（个人低碳行为）",
    "registry_name": "",
    "description": (
        "Carbon-inclusion emission reductions of this platform's users' low-carbon actions (bus and "
        "metro trips, walking), batched by month and methodology and issued by a carbon-inclusion "
        "registry. Registry unit 1 tCO2e. The proceeds of each sale, less the operator's share, go "
        "back to the users who made the reductions, as carbon points."
    ),
    "price_fen_per_t": 0,
}
REF_MAX = 200
URL_MAX = 512
REASON_MAX = 255


@dataclass(frozen=True)
class Issuance:
    """The registry's issuance of a submitted batch, as the admin records it."""

    issued_g: int
    registry_ref: str
    serial_prefix: str
    serial_start: int
    issued_on: date
    price_fen_per_t: int
    registry_url: str = ""
    registry_name: str = ""
    serial_digits: int | None = None


def _locked(session: Session, batch_id: int) -> ReductionBatch:
    batch = session.scalars(
        select(ReductionBatch)
        .where(ReductionBatch.id == batch_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if batch is None:
        raise NotFound(f"No reduction batch {batch_id}.")
    return batch


def _check_move(batch: ReductionBatch, to: ReductionBatchStatus) -> None:
    """Refuse (409) a transition the batch's state does not allow."""
    if to not in TRANSITIONS[batch.status]:
        raise InvalidState(
            f"Reduction batch {batch.id} is {batch.status.value}; it cannot become {to.value}.",
            status=batch.status.value,
        )


def _move(batch: ReductionBatch, to: ReductionBatchStatus) -> None:
    _check_move(batch, to)
    batch.status = to


def _text(name: str, value: str, most: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"{name} is required.", errors={name: ["Required."]})
    if len(value) > most or any(ord(char) < 32 for char in value):
        raise ValidationFailed(
            f"{name}: at most {most} characters, no control characters.",
            errors={name: ["Too long or not text."]},
        )
    return value


def submit(actor_id: int | None, batch_id: int, application_ref: str) -> dict[str, Any]:
    """Record that a draft batch was filed at the registry under `application_ref`."""
    reference = _text("application_ref", application_ref, REF_MAX)
    with unit_of_work() as session:
        batch = _locked(session, batch_id)
        before = audit.snapshot(batch)
        _move(batch, S.SUBMITTED)
        batch.application_ref = reference
        batch.submitted_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor_id,
            "reduction_batch.submit",
            "reduction_batch",
            batch.id,
            before,
            audit.snapshot(batch),
        )
        return reduction_batches.view_in(session, batch)


def reject(actor_id: int | None, batch_id: int, reason: str) -> dict[str, Any]:
    """Record that the registry refused a submitted batch; its actions stay in it, unsold."""
    why = _text("reason", reason, REASON_MAX)
    with unit_of_work() as session:
        batch = _locked(session, batch_id)
        before = audit.snapshot(batch)
        _move(batch, S.REJECTED)
        batch.rejected_at = utcnow()
        batch.reject_reason = why
        session.flush()
        audit.record(
            session,
            actor_id,
            "reduction_batch.reject",
            "reduction_batch",
            batch.id,
            before,
            audit.snapshot(batch),
        )
        return reduction_batches.view_in(session, batch)


def _check_issuance(batch: ReductionBatch, issuance: Issuance) -> None:
    """Every figure of the issuance against the batch, all faults at once (422)."""
    errors: dict[str, list[str]] = {}
    if issuance.issued_g <= 0 or issuance.issued_g % GRAMS_PER_TONNE:
        errors["issued_g"] = [f"Whole tonnes: a positive multiple of {GRAMS_PER_TONNE:,} g."]
    elif issuance.issued_g > batch.grams:
        errors["issued_g"] = [
            f"{issuance.issued_g:,} g is more than the batch's {batch.grams:,} g; a registry issues at most "
            "what was submitted."
        ]
    month_end = beijing_time.add_months(batch.month, 1)
    if issuance.issued_on < month_end:
        errors["issued_on"] = [f"Must be on or after {month_end.isoformat()}, once the month is over."]
    if issuance.price_fen_per_t <= 0:
        errors["price_fen_per_t"] = ["A price per tonne above 0, so the batch can be sold."]
    if errors:
        raise ValidationFailed("The issuance cannot be recorded.", errors=errors)


def _kind_in(session: Session, actor_id: int | None) -> None:
    if session.get(CreditKind, KIND_CODE) is None:
        catalogue_admin.create_kind_in(session, actor_id, KIND)


def _project_in(session: Session, actor_id: int | None, batch: ReductionBatch, issuance: Issuance) -> str:
    """A project of its own for the issued batch: the catalogue entry buyers see."""
    code = f"{KIND_CODE}-{batch.month:%Y%m}-B{batch.id}"
    tonnes = issuance.issued_g // GRAMS_PER_TONNE
    catalogue_admin.create_project_in(
        session,
        actor_id,
        {
            "code": code,
            "name": f"碳普惠减排量 {batch.month:%Y-%m} · {batch.methodology}"[:200],
            "kind_code": KIND_CODE,
            "methodology": batch.methodology,
            "registry_name": issuance.registry_name,
            "description": (
                f"{batch.actions:,} low-carbon actions of {batch.contributors:,} users in {batch.month:%Y-%m}, "
                f"counted by methodology {batch.methodology}: {batch.grams:,} g submitted, {tonnes:,} t issued "
                f"(registry reference {issuance.registry_ref}). The proceeds, less the operator's share, "
                "go back to these users as carbon points."
            ),
            "price_fen_per_t": issuance.price_fen_per_t,
        },
    )
    return code


def issue(actor_id: int | None, batch_id: int, issuance: Issuance) -> dict[str, Any]:
    """Record the registry's issuance of a submitted batch and enter it in the pool, for sale."""
    registry_ref = _text("registry_ref", issuance.registry_ref, REF_MAX)
    serial_prefix = _text("serial_prefix", issuance.serial_prefix, 64)
    registry_url = _text("registry_url", issuance.registry_url, URL_MAX, required=False)
    registry_name = _text("registry_name", issuance.registry_name, REF_MAX, required=False)
    with unit_of_work() as session:
        batch = _locked(session, batch_id)
        before = audit.snapshot(batch)
        _check_move(batch, S.ISSUED)
        _check_issuance(batch, issuance)
        _kind_in(session, actor_id)
        issued = Issuance(
            issued_g=issuance.issued_g,
            registry_ref=registry_ref,
            serial_prefix=serial_prefix,
            serial_start=issuance.serial_start,
            issued_on=issuance.issued_on,
            price_fen_per_t=issuance.price_fen_per_t,
            registry_url=registry_url,
            registry_name=registry_name,
            serial_digits=issuance.serial_digits,
        )
        project_code = _project_in(session, actor_id, batch, issued)
        pool_batch = batches.create_batch_in(
            session,
            project_code=project_code,
            vintage=batch.month.year,
            serial_prefix=serial_prefix,
            serial_start=issuance.serial_start,
            quantity_t=issuance.issued_g // GRAMS_PER_TONNE,
            issued_on=issuance.issued_on,
            registry_ref=registry_ref,
            registry_url=registry_url,
            serial_digits=issuance.serial_digits,
            actor_id=actor_id,
            source=f"reduction batch {batch.id}",
        )
        batch.issued_g = issuance.issued_g
        batch.registry_ref = registry_ref
        batch.registry_url = registry_url
        batch.serial_prefix = serial_prefix
        batch.issued_on = issuance.issued_on
        batch.issued_at = utcnow()
        batch.pool_batch_id = pool_batch.id
        _move(batch, S.ISSUED)
        session.flush()
        audit.record(
            session,
            actor_id,
            "reduction_batch.issue",
            "reduction_batch",
            batch.id,
            before,
            audit.snapshot(batch),
        )
        return reduction_batches.view_in(session, batch)
