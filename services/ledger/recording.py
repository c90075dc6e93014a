"""What the log records, entry by entry, inside the unit of work of the change itself.

- `batch_issued`: a batch entered the pool (kind, project, vintage, serial range, registry record);
- `certificate_issued`: a certificate now holds these serial slices and grams, for a pseudonymous
  holder (`keys.holder_pseudonym`), perhaps replacing another;
- `grams_returned`: slices a refund took from a certificate and gave back to the pool;
- `certificate_ended`: a certificate is void (refunded in full) or superseded (by its reissue);
- `tonnes_retired`: a confirmed registry retirement, its reference and its tonnes as runs per batch.

A slice is `{"batch", "serial", "from_g", "to_g"}`: grams from_g..to_g (inclusive) of the tonne
with that registry serial, as on the certificate. The order effects call `on_order_fulfilled` and
`on_order_refunded` after the certificate's own handler; the pool calls `batches_issued_in`, the
registry `tonnes_retired_in`.

A database whose pool had a history before the log existed (an upgrade) gets it at the log's first
append: `opening_in` writes the pool as that unit of work leaves it (its batches, valid certificates
and confirmed retirements) instead of that unit of work's own entries, which it includes. `flask
ledger backfill` (`backfill`) does the same at once, without waiting for a change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Batch,
    Certificate,
    CertificateStatus,
    LedgerEntry,
    Order,
    Project,
    RetiredTonne,
    Retirement,
    RetirementStatus,
    utcnow,
)
from models.database import unit_of_work
from services.kernel.errors import Conflict
from services.kernel.order_effects import Fulfilled, Refunded
from services.ledger import keys, tree_store

BATCH_ISSUED = "batch_issued"
CERTIFICATE_ISSUED = "certificate_issued"
CERTIFICATE_ENDED = "certificate_ended"
GRAMS_RETURNED = "grams_returned"
TONNES_RETIRED = "tonnes_retired"

Slice = tuple[int, str, int, int]  # batch id, serial, first gram, last gram (inclusive)


def _seconds(moment: datetime | None = None) -> int:
    return int((moment or utcnow()).timestamp())


def batch_entry(batch: Batch, project_code: str, kind: str, at: datetime | None = None) -> dict[str, Any]:
    return {
        "type": BATCH_ISSUED,
        "time": _seconds(at),
        "batch": batch.id,
        "kind": kind,
        "project": project_code,
        "vintage": batch.vintage,
        "serial_prefix": batch.serial_prefix,
        "serial_start": batch.serial_start,
        "serial_end": batch.serial_end,
        "serial_digits": batch.serial_digits,
        "first_serial": batch.serial(0),
        "last_serial": batch.serial(batch.quantity_t - 1),
        "quantity_t": batch.quantity_t,
        "issued_g": batch.issued_g,
        "issued_on": batch.issued_on.isoformat(),
        "registry_ref": batch.registry_ref,
        "registry_url": batch.registry_url,
    }


def _batch_entries(
    session: Session, batches: Sequence[Batch], as_created: bool = False
) -> list[tuple[dict[str, Any], int]]:
    """(entry, batch id) of each batch; timed now, or `as_created`, when the batch was made."""
    projects = {
        project_id: (code, kind)
        for project_id, code, kind in session.execute(
            select(Project.id, Project.code, Project.kind_code).where(
                Project.id.in_({batch.project_id for batch in batches})
            )
        )
    }
    return [
        (batch_entry(batch, *projects[batch.project_id], batch.created_at if as_created else None), batch.id)
        for batch in batches
    ]


def batches_issued_in(session: Session, batches: Sequence[Batch]) -> None:
    """Log the batches just entered in the pool (flushed, so they have ids), in the caller's unit of work."""
    for body, ref_id in _batch_entries(session, batches) if batches else ():
        tree_store.append_in(session, body, ref_id=ref_id)


def slices_of(certificate: Certificate) -> list[Slice]:
    return sorted(
        (int(c["batch_id"]), str(c["serial"]), int(c["from_g"]), int(c["to_g"]))
        for c in certificate.claims or []
    )


def _slice_views(slices: Iterable[Slice]) -> list[dict[str, Any]]:
    return [{"batch": b, "serial": s, "from_g": lo, "to_g": hi} for b, s, lo, hi in sorted(slices)]


def without(held: Iterable[Slice], kept: Iterable[Slice]) -> list[Slice]:
    """The grams of `held` that are not in `kept`, as slices."""
    keep: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    for batch, serial, lo, hi in kept:
        keep[(batch, serial)].append((lo, hi))
    left: list[Slice] = []
    for batch, serial, lo, hi in held:
        pieces = [(lo, hi)]
        for k_lo, k_hi in keep.get((batch, serial), []):
            pieces = [
                part
                for p_lo, p_hi in pieces
                for part in ((p_lo, min(p_hi, k_lo - 1)), (max(p_lo, k_hi + 1), p_hi))
                if part[0] <= part[1]
            ]
        left.extend((batch, serial, p_lo, p_hi) for p_lo, p_hi in pieces)
    return sorted(left)


def certificate_entry(
    certificate: Certificate, holder: str, replaces: str | None, at: datetime | None = None
) -> dict[str, Any]:
    return {
        "type": CERTIFICATE_ISSUED,
        "time": _seconds(at),
        "certificate": certificate.number,
        "holder": holder,
        "grams": certificate.grams,
        "slices": _slice_views(slices_of(certificate)),
        "replaces": replaces,
    }


def certificates_of_order_in(session: Session, order: Order) -> None:
    """Log what this unit of work did to the order's certificates: the ones that ended (and the grams
    their refund gave back), then the ones issued. Certificates already logged are left alone, and so
    is the end of one the log never held (it ended before the log opened)."""
    issued = (
        select(LedgerEntry.log_index)
        .where(LedgerEntry.kind == CERTIFICATE_ISSUED, LedgerEntry.ref_id == Certificate.id)
        .exists()
    )
    ended = (
        select(LedgerEntry.log_index)
        .where(LedgerEntry.kind == CERTIFICATE_ENDED, LedgerEntry.ref_id == Certificate.id)
        .exists()
    )
    rows = session.execute(
        select(Certificate, issued, ended).where(Certificate.order_id == order.id).order_by(Certificate.id)
    ).all()
    waiting = tree_store.pending_refs(session)
    by_id = {certificate.id: certificate for certificate, _i, _e in rows}
    new = [
        c
        for c, was_issued, _e in rows
        if c.status == CertificateStatus.VALID
        and not was_issued
        and (CERTIFICATE_ISSUED, c.id) not in waiting
    ]
    gone = [
        c
        for c, was_issued, was_ended in rows
        if c.status != CertificateStatus.VALID
        and not was_ended
        and (CERTIFICATE_ENDED, c.id) not in waiting
        and (was_issued or (CERTIFICATE_ISSUED, c.id) in waiting)
    ]
    replaces: dict[int, str] = {}
    for old in gone:
        replacement = by_id.get(old.replaced_by_id) if old.replaced_by_id else None
        returned = without(slices_of(old), slices_of(replacement) if replacement else [])
        if returned:
            tree_store.append_in(
                session,
                {
                    "type": GRAMS_RETURNED,
                    "time": _seconds(),
                    "certificate": old.number,
                    "grams": sum(hi - lo + 1 for _b, _s, lo, hi in returned),
                    "slices": _slice_views(returned),
                },
                ref_id=old.id,
            )
        tree_store.append_in(
            session,
            {
                "type": CERTIFICATE_ENDED,
                "time": _seconds(old.voided_at),
                "certificate": old.number,
                "status": old.status.value,
                "replaced_by": replacement.number if replacement else None,
            },
            ref_id=old.id,
        )
        if replacement is not None:
            replaces[replacement.id] = old.number
    holder = keys.holder_pseudonym(order.user_id, order.organisation_id)
    for certificate in new:
        tree_store.append_in(
            session,
            certificate_entry(certificate, holder, replaces.get(certificate.id), certificate.issued_at),
            ref_id=certificate.id,
        )


def on_order_fulfilled(session: Session, fact: Fulfilled) -> None:
    """Order effect (after the certificate's): log the certificate the fulfilment issued."""
    if fact.order.grams:
        certificates_of_order_in(session, fact.order)


def on_order_refunded(session: Session, fact: Refunded) -> None:
    """Order effect (after the certificate's): log the certificate ended, the grams given back, the reissue."""
    if fact.order.grams:
        certificates_of_order_in(session, fact.order)


def _runs(tonnes: Iterable[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Sorted (batch id, tonne index) pairs as runs (batch id, first, last) of consecutive tonnes."""
    runs: list[tuple[int, int, int]] = []
    for batch_id, tonne in sorted(tonnes):
        if runs and runs[-1][0] == batch_id and runs[-1][2] == tonne - 1:
            runs[-1] = (batch_id, runs[-1][1], tonne)
        else:
            runs.append((batch_id, tonne, tonne))
    return runs


def tonnes_retired_in(session: Session, retirement: Retirement) -> None:
    """Log a retirement the registry confirmed, with its tonnes, in the caller's unit of work."""
    tree_store.append_in(session, retirement_entry(session, retirement), ref_id=retirement.id)


def retirement_entry(session: Session, retirement: Retirement) -> dict[str, Any]:
    """The `tonnes_retired` entry of a confirmed retirement: its reference and its tonnes as runs."""
    tonnes = session.execute(
        select(RetiredTonne.batch_id, RetiredTonne.tonne_index).where(
            RetiredTonne.retirement_id == retirement.id, RetiredTonne.active
        )
    ).all()
    runs = _runs((int(b), int(t)) for b, t in tonnes)
    batches = {b.id: b for b in session.scalars(select(Batch).where(Batch.id.in_({r[0] for r in runs})))}
    return {
        "type": TONNES_RETIRED,
        "time": _seconds(retirement.confirmed_at),
        "retirement": retirement.id,
        "kind": retirement.kind_code,
        "registry_ref": retirement.registry_ref,
        "registry_url": retirement.registry_url,
        "retired_on": retirement.retired_on.isoformat() if retirement.retired_on else None,
        "tonnes": sum(last - first + 1 for _b, first, last in runs),
        "runs": [
            {
                "batch": batch_id,
                "first_tonne": first,
                "last_tonne": last,
                "first_serial": batches[batch_id].serial(first),
                "last_serial": batches[batch_id].serial(last),
            }
            for batch_id, first, last in runs
        ],
    }


POOL_KINDS = frozenset({BATCH_ISSUED, CERTIFICATE_ISSUED, CERTIFICATE_ENDED, GRAMS_RETURNED, TONNES_RETIRED})


def pool_entries_in(session: Session) -> list[tuple[dict[str, Any], int]]:
    """(entry, ref id) of the pool as it is: its batches, then its valid certificates, then its
    confirmed retirements, each timed when it happened; replayed, they give the pool's figures."""
    batches = list(session.scalars(select(Batch).order_by(Batch.id)))
    opening = _batch_entries(session, batches, as_created=True) if batches else []
    certificates = session.execute(
        select(Certificate, Order.user_id, Order.organisation_id)
        .join(Order, Order.id == Certificate.order_id)
        .where(Certificate.status == CertificateStatus.VALID)
        .order_by(Certificate.issued_at, Certificate.id)
    ).all()
    for certificate, user_id, organisation_id in certificates:
        holder = keys.holder_pseudonym(user_id, organisation_id)
        opening.append((certificate_entry(certificate, holder, None, certificate.issued_at), certificate.id))
    retirements = list(
        session.scalars(
            select(Retirement)
            .where(Retirement.status == RetirementStatus.CONFIRMED)
            .order_by(Retirement.confirmed_at, Retirement.id)
        )
    )
    opening.extend((retirement_entry(session, retirement), retirement.id) for retirement in retirements)
    return opening


@tree_store.opens_with
def opening_in(session: Session, waiting: list[tree_store.Pending]) -> list[tree_store.Pending]:
    """What the first append into an empty log writes: the pool as this unit of work leaves it, when
    it has anything, in place of the unit of work's own entries of the pool (they are part of it).
    Called under the log's counter lock, so only one unit of work opens the log."""
    opening = [tree_store.entry_of(body, ref_id) for body, ref_id in pool_entries_in(session)]
    if not opening:
        return waiting
    return opening + [p for p in waiting if p.kind not in POOL_KINDS]


def backfill() -> int:
    """Start the log of a database that has a pool but no log, now rather than at its first change:
    its batches, then its valid certificates, then its confirmed retirements. Gives the entries written."""
    with unit_of_work() as session:
        if tree_store.size_in(session):
            raise Conflict(
                "The ledger has entries already; only an empty ledger can be started from the pool."
            )
        opening = pool_entries_in(session)
        for body, ref_id in opening:
            tree_store.append_in(session, body, ref_id=ref_id)
        return len(opening)
