"""schemathesis against the service's own OpenAPI description: no input, from any caller, gets a 5xx,
and every answer is one the description documents (status, content type, body, headers).

Every operation gets generated requests (valid and invalid) as four callers: anonymous, a
mini-program user, the owner of an organisation with an event, and an admin. The database holds
real objects first (a stocked pool, a paid one-yuan order, an event offset awaiting its bank
transfer, a published factor library), and about half the generated requests name one of them in
their path, so that views get past "not found" into their real work. No operation is skipped; the
payment callbacks are fuzzed too (they answer a FAIL acknowledgement with a 400, never a 5xx).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    Failure,
    FailureGroup,
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from models import User
from models.database import unit_of_work
from services.accounts.tokens import issue_token_in
from tests.support.accounts import bearer, login_user
from tests.support.events import create_event, organiser
from tests.support.factors import publish_library
from tests.support.pool import stock_pool
from tests.support.sales import buy

EXAMPLES = 5
# An operation the caller may not use answers 401 or 403 before it reads any input (`auth_required`
# wraps the view and its arguments); a few requests show that, the role allowed fuzzes the input.
EXAMPLES_REFUSED = 2
ROLES = ("anonymous", "user", "member", "admin")
# Not schemathesis's data-acceptance checks: a generated "valid" request may break a rule the
# description cannot state (a date between 2000 and 2100, one of grams or kg), and is rightly a 422.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# A schema construct schemathesis cannot generate from (e.g. a bundled nested $ref); those
# operations have example-based tests of their own. At most this many may be ungenerated.
MAX_UNGENERATED = 2


@dataclass
class World:
    """The seeded objects: who each role is, and real values for path parameters by name."""

    user_ids: dict[str, int]
    path_values: dict[str, list[Any]] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        """A fresh token for the role, so that a fuzzed logout never silences the next operation."""
        if role == "anonymous":
            return {}
        with unit_of_work() as session:
            issued = issue_token_in(session, session.get(User, self.user_ids[role]), 3600)
        return bearer(issued.token)


def seed(client: FlaskClient) -> World:
    """A pool, a paid order, an organisation whose event awaits a bank transfer, a factor library."""
    library = publish_library()
    project_id, _ = stock_pool(tonnes=20)
    user_token, user = login_user(client, "fuzz-user")
    paid = buy(client, bearer(user_token), units=3)
    org = organiser(client, "fuzz-organiser", "模糊测试会展")
    event = create_event(client, org)
    url = f"/api/v1/events/{event['id']}"
    source = client.post(
        f"{url}/sources",
        json={
            "phase": "actual",
            "kind": "venue_electricity",
            "activity": "1000",
            "factor_key": "electricity.grid.east",
        },
        headers=org["headers"],
    )
    assert source.status_code == 201, source.json
    assert client.post(f"{url}/account", headers=org["headers"]).status_code == 200
    offset = client.post(
        f"{url}/offset", json={"project_id": project_id, "payment": "bank_transfer"}, headers=org["headers"]
    )
    assert offset.status_code == 201, offset.json
    transfer = offset.json["order"]["out_trade_no"]
    certificate = client.get("/api/v1/me/certificates", headers=bearer(user_token)).json[0]
    return World(
        user_ids={
            "user": user["id"],
            "member": _user_id(client, org["headers"]),
            "admin": _user_id(client, org["admin"]),
        },
        path_values={
            "organisation_id": [org["organisation_id"]],
            "event_id": [event["id"]],
            "project_id": [project_id],
            "user_id": [user["id"]],
            "out_trade_no": [paid, transfer],
            "number": [certificate["number"]],
            "code": ["FFCER", certificate["verification_code"], event["public_code"]],
            "version": [library.version],
            "provider_name": ["sandbox"],
        },
    )


def _user_id(client: FlaskClient, headers: dict[str, str]) -> int:
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.json
    return me.json["id"]


def refused_to(operation: Any, role: str) -> bool:
    """Whether the description says the operation needs a token `role` lacks, or the admin role."""
    raw = operation.definition.raw
    if not raw.get("security") or role == "admin":
        return False
    return role == "anonymous" or raw["responses"].get("403", {}).get("description") == "Not an admin"


def fuzz_operation(operation: Any, role: str, world: World, failures: list[str]) -> None:
    """Send generated requests to one operation as `role`; note every 5xx or undocumented answer."""
    name = f"{operation.method.upper()} {operation.path}"
    headers = world.headers(role)
    real = {
        p.name: st.none() | st.sampled_from(world.path_values[p.name])
        for p in operation.path_parameters
        if p.name in world.path_values
    }

    @given(case=operation.as_strategy(), picks=st.fixed_dictionaries(real))
    @settings(
        max_examples=EXAMPLES_REFUSED if refused_to(operation, role) else EXAMPLES,
        deadline=None,
        # The app and its seeded rows come from function-scoped fixtures, on purpose.
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any, picks: dict[str, Any]) -> None:
        for parameter, value in picks.items():
            if value is not None:
                case.path_parameters[parameter] = value
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (
            Failure,
            FailureGroup,
        ) as exc:  # noted, not raised: no shrinking, every operation has its turn
            failures.append(
                f"{name} as {role}: {response.status_code} for {case.method} {case.formatted_path}"
                f" query={case.query} body={str(case.body)[:300]}\n{str(exc)[:600]}"
            )

    check()


def fuzz(app: Flask, world: World, role: str) -> tuple[int, list[str], list[str]]:
    """Run every operation as `role`; gives (operations, ungenerated operations, failures)."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    ungenerated: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            fuzz_operation(operation, role, world, failures)
        except Exception as exc:
            if "Failed to generate test cases" not in str(exc):
                raise
            ungenerated.append(f"{operation.method.upper()} {operation.path}")
    return operations, ungenerated, failures


@pytest.fixture
def app_overrides() -> dict[str, object]:
    # A configured mini-program, so WeRun decrypts (and refuses garbage) instead of answering 503.
    return {"WECHAT_APPID": "wx0123456789abcdef"}


@pytest.mark.parametrize("role", ROLES)
def test_no_input_gets_a_server_error(app, client, role):
    world = seed(client)
    operations, ungenerated, failures = fuzz(app, world, role)
    assert operations > 100
    assert len(ungenerated) <= MAX_UNGENERATED, ungenerated
    assert failures == [], "\n\n".join(failures)
