"""What anyone may read without login is found only by an opaque code, and only once it is public.

Walked over the whole URL map: every public route that takes a key takes a random code (or is a
catalogue entry, or a static file), no sequential id, certificate number or order number opens
any of them, and an unpaid claim or an unpublished event answers 404 under its own code too.
"""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter

from models import Certificate, Event, InstitutionalClaim, Order, Organisation, User
from models.database import read_session
from models.public_codes import CODE_ALPHABET
from tests.api.test_url_map_auth import _auth_kind
from tests.support.accounts import bearer, login_user
from tests.support.events import create_event, organiser, publish
from tests.support.factors import publish_library
from tests.support.forestry import adopt, memorial_forest, pay
from tests.support.pool import stock_pool
from tests.support.sales import buy

# Public catalogue entries: their list endpoints name every one of them, so an id reveals nothing.
# What is for sale or adoption: public by design, keyed by its id.
CATALOGUE = {
    "catalogue.get_project",
    "forestry.get_forest",
    "forestry.get_plot",
    "forestry.list_plantings",
    "forestry.list_plots",
    "rewards.get_reward",
}
# Published documents, public by design and keyed by their version: no person's record.
PUBLISHED = {"privacy.version"}
CODE = re.compile(f"^[{CODE_ALPHABET}]{{20}}$")


def _public_keyed_get_rules(app):
    for rule in app.url_map.iter_rules():
        if (
            "GET" in rule.methods
            and rule.arguments
            and _auth_kind(app.view_functions[rule.endpoint], "GET") is None
        ):
            yield rule


def _url(rule, value) -> str:
    return re.sub(r"<(?:[^:<>]+:)?[^<>]+>", str(value), rule.rule)


def _claim(client, who, project_id, **body):
    placed = client.post(
        f"/api/v1/organisations/{who['organisation_id']}/institutional-claims",
        json={"project_id": project_id, **body},
        headers=who["headers"],
    )
    assert placed.status_code == 201, placed.json
    return placed.json


@pytest.fixture
def records(client):
    """A paid and an unpaid institutional claim, adoption and land-use compensation, a published and an
    unpublished event, certificates."""
    publish_library()
    project_id, _ = stock_pool(tonnes=4)
    court = organiser(client, "court-code", "顺昌县人民法院")
    unpaid = _claim(
        client,
        court,
        project_id,
        kind="ecological_justice",
        tonnes_required="1",
        case_number="(2026)闽0721刑初99号",
        court="顺昌县人民法院",
        defendant_name="李四",
    )
    paid = _claim(client, court, project_id, kind="tree_planting", tonnes_required="0.5")
    number = paid["purchase"]["order"]["out_trade_no"]
    assert client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=court["headers"]).status_code == 200
    hidden = create_event(client, court, name="未公开的活动")
    shown = create_event(client, court, name="公开的活动")
    shown_code = publish(client, court, shown["id"])
    token, _ = login_user(client, "buyer-code")
    buy(client, bearer(token), 3)
    buy(client, bearer(token), 2)
    certificates = client.get("/api/v1/me/certificates", headers=bearer(token)).json
    admin = court["admin"]
    plot_id = memorial_forest(client, admin)["plot"]["id"]
    adopter = bearer(login_user(client, "adopter-code")[0])
    paid_adoption = adopt(client, adopter, plot_id=plot_id, trees=1).json
    pay(client, adopter, paid_adoption["order"]["out_trade_no"])
    unpaid_adoption = adopt(client, adopter, plot_id=plot_id, trees=1, holder_name="李四").json
    permit = {
        "permit_authority": "山西省林业和草原局",
        "business_project": "物流园",
        "occupied_area_m2": 10,
        "project_id": project_id,
    }
    compensations = f"/api/v1/organisations/{court['organisation_id']}/land-compensations"
    paid_compensation = client.post(
        compensations, json={"permit_number": "许准1号", **permit}, headers=court["headers"]
    ).json
    pay(client, court["headers"], paid_compensation["purchase"]["order"]["out_trade_no"])
    unpaid_compensation = client.post(
        compensations,
        json={"permit_number": "许准2号", "location": "李四", **permit},
        headers=court["headers"],
    ).json
    return {
        "paid_adoption": paid_adoption["adoption"],
        "unpaid_adoption": unpaid_adoption["adoption"],
        "paid_compensation": paid_compensation["compensation"],
        "unpaid_compensation": unpaid_compensation["compensation"],
        "court": court,
        "unpaid_claim": unpaid["claim"],
        "paid_claim": paid["claim"],
        "hidden_event": hidden,
        "shown_event_code": shown_code,
        "certificates": certificates,
    }


def test_every_public_key_is_a_code_never_a_sequential_id(app):
    keyed = {}
    for rule in _public_keyed_get_rules(app):
        converters = {type(c) for c in rule._converters.values()}
        if converters <= {PathConverter}:
            continue  # static files and the API docs' assets
        if rule.endpoint in CATALOGUE:
            assert all(issubclass(c, IntegerConverter) for c in converters), rule.rule
            continue
        if rule.endpoint in PUBLISHED:
            continue
        assert converters == {UnicodeConverter} and rule.arguments == {"code"}, (
            f"{rule.rule} is public and keyed by {sorted(rule.arguments)}: key it by an opaque code"
        )
        keyed[rule.endpoint] = rule
    assert set(keyed) == {
        "certificates.claim_page",
        "certificates.poster",
        "certificates.verify",
        "certificates.verify_page",
        "events.disclosure",
        "events.disclosure_page",
        "events.poster",
        "forestry.adoption_page",
        "forestry.public_adoption",
        "institutional.poster",
        "institutional.public",
        "land_compensation.page",
        "land_compensation.public",
    }


def test_no_sequential_id_or_readable_number_opens_a_public_record(app, client, records):
    session = read_session()
    largest = max(
        session.scalar(select(func.max(model.id))) or 0
        for model in (Certificate, Event, InstitutionalClaim, Order, Organisation, User)
    )
    numbers = (
        session.scalars(select(Certificate.number)).all() + session.scalars(select(Order.out_trade_no)).all()
    )
    session.rollback()
    assert largest >= 4 and len(numbers) >= 6
    probes = [*range(1, largest + 2), *numbers]

    rules = [r for r in _public_keyed_get_rules(app) if r.arguments == {"code"}]
    assert rules
    for rule in rules:
        for probe in probes:
            response = client.get(_url(rule, probe))
            assert response.status_code == 404, (rule.rule, probe, response.status_code)


def test_unpaid_and_unpublished_records_are_404_and_public_ones_open_by_their_code(app, client, records):
    certificate_code = records["certificates"][0]["verification_code"]
    opens = {
        "certificates.verify": certificate_code,
        "certificates.verify_page": certificate_code,
        "events.disclosure": records["shown_event_code"],
        "events.disclosure_page": records["shown_event_code"],
        "institutional.public": records["paid_claim"]["public_code"],
        "certificates.claim_page": records["paid_claim"]["public_code"],
        "certificates.poster": certificate_code,
        "events.poster": records["shown_event_code"],
        "institutional.poster": records["paid_claim"]["public_code"],
        "forestry.public_adoption": records["paid_adoption"]["public_code"],
        "forestry.adoption_page": records["paid_adoption"]["public_code"],
        "land_compensation.public": records["paid_compensation"]["public_code"],
        "land_compensation.page": records["paid_compensation"]["public_code"],
    }
    hidden = {
        "events.disclosure": records["hidden_event"]["public_code"],
        "events.disclosure_page": records["hidden_event"]["public_code"],
        "institutional.public": records["unpaid_claim"]["public_code"],
        "certificates.claim_page": records["unpaid_claim"]["public_code"],
        "events.poster": records["hidden_event"]["public_code"],
        "institutional.poster": records["unpaid_claim"]["public_code"],
        "forestry.public_adoption": records["unpaid_adoption"]["public_code"],
        "forestry.adoption_page": records["unpaid_adoption"]["public_code"],
        "land_compensation.public": records["unpaid_compensation"]["public_code"],
        "land_compensation.page": records["unpaid_compensation"]["public_code"],
    }
    rules = {r.endpoint: r for r in _public_keyed_get_rules(app) if r.arguments == {"code"}}
    assert set(rules) == set(opens)  # a new public record route says here what opens it
    for endpoint, rule in rules.items():
        assert client.get(_url(rule, opens[endpoint])).status_code == 200, endpoint
        assert client.get(_url(rule, opens[endpoint].lower())).status_code == 200, endpoint  # as typed
        if endpoint in hidden:
            response = client.get(_url(rule, hidden[endpoint]))
            assert response.status_code == 404, endpoint
            assert "李四" not in response.get_data(as_text=True)  # nothing of the record leaks
        for other in set(hidden.values()) | set(opens.values()) - {opens[endpoint]}:
            assert client.get(_url(rule, other)).status_code == 404, (endpoint, other)


def test_codes_are_random_and_certificate_numbers_name_no_order(client, records):
    codes = [
        records["unpaid_claim"]["public_code"],
        records["paid_claim"]["public_code"],
        records["hidden_event"]["public_code"],
        records["shown_event_code"],
        *(c["verification_code"] for c in records["certificates"]),
    ]
    assert all(CODE.match(code) for code in codes), codes
    assert len(set(codes)) == len(codes)
    session = read_session()
    orders = {o.id: o for o in session.scalars(select(Order))}
    for certificate in session.scalars(select(Certificate)):
        assert re.fullmatch(f"CI\\d{{4}}[{CODE_ALPHABET}]{{10}}", certificate.number), certificate.number
        assert f"{certificate.order_id:09d}" not in certificate.number
        assert orders[certificate.order_id].out_trade_no not in certificate.number
    session.rollback()


def test_printed_links_and_qr_codes_carry_the_code(app, client, records):
    certificate = records["certificates"][0]
    token, _ = login_user(client, "buyer-code")
    pdf = client.get(f"/api/v1/me/certificates/{certificate['number']}/pdf", headers=bearer(token))
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert f"/verify/{certificate['verification_code']}" in text

    court = records["court"]
    claim = records["paid_claim"]
    claim_pdf = client.get(
        f"/api/v1/organisations/{court['organisation_id']}/institutional-claims/{claim['id']}/certificate.pdf",
        headers=court["headers"],
    )
    claim_text = PdfReader(io.BytesIO(claim_pdf.data)).pages[0].extract_text()
    assert f"/claims/{claim['public_code']}" in claim_text
    assert not re.search(rf"/institutional-claims/{claim['id']}(\s|$)", claim_text)
