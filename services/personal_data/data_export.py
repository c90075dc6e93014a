"""Everything the service holds about one person, as one JSON document (PIPL right of access).

The document is produced as a stream of text chunks: the head (the profile, which is read before
the first chunk, so a missing user is a clean 404) and then one array per section, each read in
pages of `PAGE` rows by ascending id, one short read each. Memory stays at one page however long a
history is, and no transaction stays open across pages (so a row written meanwhile may or may not
be in the export). The document ends with `"complete": true`: a cut download lacks it.

Credentials are never exported: not the WeChat session key (only whether one is held), not the
hashes of tokens, invitation codes or passwords. The bound phone number is the person's own, so it
is exported in full, decrypted. Sections hold the person's own rows only: what
they placed, earned, granted or were invited to; an organisation's data beyond their membership is
the organisation's.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, inspect, or_, select

from models import (
    AccountDeletion,
    Action,
    ActionFlag,
    ActionUpload,
    Adoption,
    AuthToken,
    Certificate,
    Consent,
    Footprint,
    Order,
    OrganisationInvitation,
    OrganisationMember,
    PartnerAccess,
    PointsBalance,
    PointsEntry,
    PrivacyAcceptance,
    Redemption,
    ReductionBatchAction,
    ReductionProceeds,
    Refund,
    SubscribeAllowance,
    SubscribeMessage,
    User,
    utcnow,
)
from models.base import Base
from models.database import read_session
from services.accounts import accounts, phone_numbers, privacy_guide
from services.kernel.errors import NotFound, UpstreamError

FORMAT = "carbon-inclusion personal data export"
FORMAT_VERSION = 1
PAGE = 500


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def _columns(row: Base, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {
        column.key: _plain(getattr(row, column.key))
        for column in inspect(row).mapper.column_attrs
        if column.key not in exclude
    }


@dataclass(frozen=True)
class Section:
    """One array of the document: the rows of `model` that `rows_of(user_id)` selects."""

    name: str
    model: type[Base]
    rows_of: Callable[[int], Select]
    exclude: frozenset[str] = frozenset()
    extra: Callable[[Any], dict[str, Any]] | None = None


def _mine(model: Any) -> Callable[[int], Select]:
    return lambda user_id: select(model).where(model.user_id == user_id)


def _partner(row: Consent | PartnerAccess) -> dict[str, Any]:
    return {"partner": {"id": row.partner.id, "name": row.partner.name}}


def _membership(row: OrganisationMember) -> dict[str, Any]:
    organisation = row.organisation
    return {
        "organisation": {"id": organisation.id, "name": organisation.name, "kind": organisation.kind.value},
        "is_owner": organisation.owner_id == row.user_id,
    }


def _redemption(row: Redemption) -> dict[str, Any]:
    return {"item": {"id": row.item.id, "name": row.item.name}, "coupon_code": row.coupon_code}


SECTIONS: tuple[Section, ...] = (
    Section("privacy_acceptances", PrivacyAcceptance, _mine(PrivacyAcceptance)),
    Section("account_deletions", AccountDeletion, _mine(AccountDeletion)),
    Section("sessions", AuthToken, _mine(AuthToken), frozenset({"token_hash"})),
    Section("organisation_memberships", OrganisationMember, _mine(OrganisationMember), extra=_membership),
    Section(
        "organisation_invitations",
        OrganisationInvitation,
        lambda user_id: select(OrganisationInvitation).where(
            or_(OrganisationInvitation.invitee_id == user_id, OrganisationInvitation.accepted_by == user_id)
        ),
        frozenset({"code_hash"}),
    ),
    Section("consents", Consent, _mine(Consent), extra=_partner),
    Section("partner_reads", PartnerAccess, _mine(PartnerAccess), extra=_partner),
    Section("orders", Order, _mine(Order), frozenset({"prepay_id"})),
    Section(
        "refunds",
        Refund,
        lambda user_id: (
            select(Refund).join(Order, Order.id == Refund.order_id).where(Order.user_id == user_id)
        ),
    ),
    Section("certificates", Certificate, _mine(Certificate)),
    Section("points_ledger", PointsEntry, _mine(PointsEntry)),
    Section("actions", Action, _mine(Action)),
    Section(
        "action_reviews",
        ActionFlag,
        lambda user_id: (
            select(ActionFlag)
            .join(Action, Action.id == ActionFlag.action_id)
            .where(Action.user_id == user_id)
        ),
    ),
    Section("werun_uploads", ActionUpload, _mine(ActionUpload)),
    Section("reductions_sold", ReductionBatchAction, _mine(ReductionBatchAction)),
    Section("reduction_proceeds", ReductionProceeds, _mine(ReductionProceeds)),
    Section("footprints", Footprint, _mine(Footprint)),
    Section("redemptions", Redemption, _mine(Redemption), frozenset({"idempotency_key"}), _redemption),
    Section("tree_adoptions", Adoption, _mine(Adoption)),
    Section("subscribe_allowances", SubscribeAllowance, _mine(SubscribeAllowance)),
    Section("subscribe_messages", SubscribeMessage, _mine(SubscribeMessage)),
)


def _session_key_held(user_id: int) -> bool | None:
    """Whether a WeChat session key is held for the user (None: the session store cannot say now)."""
    try:
        return accounts.get_session_key(user_id) is not None
    except UpstreamError:
        return None


def _head(user_id: int, now: datetime) -> dict[str, Any]:
    session = read_session()
    try:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("No such user.")
        balance = session.get(PointsBalance, user_id)
        privacy = privacy_guide.status_in(session, user)
        profile = _columns(user, frozenset({"password_hash"}))
        points = _columns(balance, frozenset({"user_id"})) if balance else None
    finally:
        session.rollback()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generated_at": _plain(now),
        "user_id": user_id,
        "profile": profile,
        "wechat_session_key": {
            "held": _session_key_held(user_id),
            "note": "A credential: held for at most three days after a login, never exported.",
        },
        "privacy": {
            "current_version": privacy.current_version,
            "accepted_version": privacy.accepted_version,
            "acceptance_required": privacy.acceptance_required,
        },
        "points_balance": points,
        # The person's own bound phone number, in full (decrypted), or None.
        "phone": phone_numbers.export_of(user_id),
    }


def _pages(section: Section, user_id: int) -> Iterator[list[dict[str, Any]]]:
    model_id = section.model.id  # type: ignore[attr-defined]
    after = 0
    while True:
        session = read_session()
        try:
            rows = (
                session.scalars(
                    section.rows_of(user_id).where(model_id > after).order_by(model_id).limit(PAGE)
                )
                .unique()
                .all()
            )
            page = [
                {**_columns(row, section.exclude), **(section.extra(row) if section.extra else {})}
                for row in rows
            ]
        finally:
            session.rollback()
        if page:
            yield page
        if len(rows) < PAGE:
            return
        after = page[-1]["id"]


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _stream(user_id: int, head: dict[str, Any]) -> Iterator[str]:
    yield _dump(head)[:-1]  # the head's object, left open
    for section in SECTIONS:
        yield f',"{section.name}":['
        first = True
        for page in _pages(section, user_id):
            yield ("" if first else ",") + ",".join(_dump(row) for row in page)
            first = False
        yield "]"
    yield ',"complete":true}'


def export(user_id: int, now: datetime | None = None) -> Iterator[str]:
    """The person's data as chunks of one JSON document; NotFound (before any chunk) for no such user."""
    head = _head(user_id, now or utcnow())
    return _stream(user_id, head)


def section_names() -> list[str]:
    """The arrays every export has, in order."""
    return [section.name for section in SECTIONS]
