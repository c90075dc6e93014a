"""People with a real history, built through the API as users build it: a profile, a paid order with
its certificate, points, a consent to a bank, a footprint, a trip, a redemption, an organisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from models import Consent, Order, OrganisationMember, PointsBalance, PointsEntry, User, utcnow
from models.database import read_session
from tests.support.accounts import bearer, login_user
from tests.support.organisations import invite_and_accept
from tests.support.rewards import create_item, give_points, read_carbon, redeem
from tests.support.sales import buy


@dataclass
class Person:
    code: str  # the sandbox login code
    token: str
    id: int
    openid: str
    orders: list[str] = field(default_factory=list)
    certificates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


def person(client: FlaskClient, code: str, name: str, city: str = "福州") -> Person:
    token, user = login_user(client, code)
    changed = client.patch("/api/v1/me", json={"display_name": name, "city": city}, headers=bearer(token))
    assert changed.status_code == 200, changed.json
    session = read_session()
    openid = session.scalar(select(User.openid).where(User.id == user["id"]))
    session.rollback()
    return Person(code, token, user["id"], openid)


def with_history(client: FlaskClient, who: Person, holder: str, bank_id: int, item_id: int) -> Person:
    """A paid order (certificate issued, points pending), spendable points, one redemption, a consent
    to the bank, a bus trip."""
    who.orders.append(buy(client, who.headers, 2, holder_name=holder))
    who.certificates = client.get("/api/v1/me/certificates", headers=who.headers).json
    give_points(who.id, 800)
    redeemed = redeem(client, who.headers, item_id)
    assert redeemed.status_code == 201, redeemed.json
    expires_at = (utcnow() + timedelta(days=30)).isoformat()
    consent = client.post(
        "/api/v1/me/consents",
        json={"partner_id": bank_id, "scopes": ["tier", "points_summary"], "expires_at": expires_at},
        headers=who.headers,
    )
    assert consent.status_code == 201, consent.json
    trip = client.post("/api/v1/actions/trips", json={"mode": "bus", "km": 6}, headers=who.headers)
    assert trip.status_code in (200, 201), trip.json
    return who


def bank_and_item(client: FlaskClient, admin: dict[str, str]) -> tuple[dict[str, Any], int]:
    bank = client.post("/api/v1/admin/partners", json={"name": "丽水农商银行"}, headers=admin)
    assert bank.status_code == 201, bank.json
    return bank.json, create_item(cost_points=100)


def organisation(client: FlaskClient, admin: dict[str, str], name: str, owner: Person) -> int:
    created = client.post(
        "/api/v1/admin/organisations",
        json={"name": name, "kind": "company", "owner_id": owner.id},
        headers=admin,
    )
    assert created.status_code == 201, created.json
    return created.json["id"]


def join(client: FlaskClient, organisation_id: int, owner: Person, member: Person) -> None:
    invite_and_accept(client, owner.token, organisation_id, member.token, member.id)


def bank_reads(client: FlaskClient, bank: dict[str, Any], identifier: str):
    return read_carbon(client, bank["key_id"], bank["secret"], identifier)


def snapshot(user_id: int) -> dict[str, Any]:
    """Everything of one user that a deletion of someone else must leave exactly as it was."""
    session = read_session()
    try:
        user = session.get(User, user_id)
        balance = session.get(PointsBalance, user_id)
        return {
            "user": {
                c.key: getattr(user, c.key)
                for c in User.__table__.columns  # type: ignore[attr-defined]
            },
            "balance": (balance.balance, balance.pending, balance.lifetime_earned) if balance else None,
            "ledger": session.execute(
                select(PointsEntry.id, PointsEntry.points, PointsEntry.remaining, PointsEntry.status)
                .where(PointsEntry.user_id == user_id)
                .order_by(PointsEntry.id)
            ).all(),
            "orders": session.execute(
                select(Order.out_trade_no, Order.status, Order.holder_name, Order.grams)
                .where(Order.user_id == user_id)
                .order_by(Order.id)
            ).all(),
            "consents": session.execute(
                select(Consent.id, Consent.revoked_at).where(Consent.user_id == user_id).order_by(Consent.id)
            ).all(),
            "memberships": session.scalars(
                select(OrganisationMember.organisation_id)
                .where(OrganisationMember.user_id == user_id)
                .order_by(OrganisationMember.organisation_id)
            ).all(),
        }
    finally:
        session.rollback()
