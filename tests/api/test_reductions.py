"""Personal reductions sold as credits: monthly batches of reviewed actions, issuance into the pool,
sales whose proceeds go back to the contributors as points, refunds that take them back, statements."""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import (
    Action,
    ActionFlag,
    ActionKind,
    ActionStatus,
    AuditEntry,
    FlagDecision,
    PointsEntry,
    PointsSource,
    ReductionBatch,
    ReductionBatchAction,
    ReductionBatchStatus,
    ReductionSale,
    User,
    utcnow,
)
from models.database import unit_of_work
from services.accounts import account_deletion
from services.actions import methodology
from services.kernel import beijing_time
from services.personal_data.erasure import carry_out_due
from services.pool.pool_audit import run_audit
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.reductions import (
    TONNE,
    build,
    closed_month,
    day_in,
    issue_body,
    make_action,
    submit_and_issue,
)

BUS = methodology.methodology_of(ActionKind.BUS)
METRO = methodology.methodology_of(ActionKind.METRO)
PRICE_FEN_PER_T = 30_000


@pytest.fixture
def admin(client):
    return bearer(login_admin(client)[0])


@pytest.fixture
def people(client):
    """Users A and B (contributors, logged in) and C (a buyer)."""
    found = {}
    for name in "abc":
        token, user = login_user(client, f"reducer-{name}")
        found[name] = {"id": user["id"], "headers": bearer(token)}
    return found


@pytest.fixture
def month():
    return closed_month()


@pytest.fixture
def actions(people, month):
    """A's and B's actions of the month, some of which may not be sold."""
    a, b = people["a"]["id"], people["b"]["id"]
    ids = {
        # In: accepted by the checks, or accepted on review.
        "a_bus": make_action(a, day_in(month, 3), ActionKind.BUS, 600_000),
        "b_bus": make_action(b, day_in(month, 4), ActionKind.BUS, 500_000, flag=FlagDecision.ACCEPTED),
        "a_metro": make_action(a, day_in(month, 5), ActionKind.METRO, 250_000),
        # Out: a claim waiting for review, refused on review, rejected, nothing credited, another month.
        "a_pending": make_action(
            a, day_in(month, 9), ActionKind.BUS, 0, status=ActionStatus.FLAGGED, flag=None, quantity=40_000
        ),
        "b_refused": make_action(b, day_in(month, 6), ActionKind.BUS, 800, flag=FlagDecision.REJECTED),
        "b_rejected": make_action(b, day_in(month, 7), ActionKind.BUS, 0, status=ActionStatus.REJECTED),
        "b_zero": make_action(b, day_in(month, 8), ActionKind.METRO, 0),
        "b_earlier": make_action(b, beijing_time.add_months(month, -1), ActionKind.BUS, 70_000),
    }
    return ids


def members(batch_id: int) -> set[int]:
    with unit_of_work() as session:
        return set(
            session.scalars(
                select(ReductionBatchAction.action_id).where(ReductionBatchAction.batch_id == batch_id)
            )
        )


def batches_by_methodology(response) -> dict[str, dict]:
    assert response.status_code == 201, response.json
    return {batch["methodology"]: batch for batch in response.json}


def test_a_batch_takes_only_reviewed_unflagged_unbatched_actions_of_its_month(client, admin, actions, month):
    summary = client.get(
        "/api/v1/admin/reduction-batches/eligible", query_string={"month": f"{month:%Y-%m}"}, headers=admin
    )
    assert summary.status_code == 200, summary.json
    bus = next(row for row in summary.json if row["methodology"] == BUS)
    assert (bus["eligible_actions"], bus["eligible_g"]) == (2, 1_100_000)
    assert (bus["under_review_actions"], bus["refused_actions"]) == (1, 2)

    made = batches_by_methodology(build(client, admin, month))
    assert set(made) == {BUS, METRO}
    assert (made[BUS]["grams"], made[BUS]["actions"], made[BUS]["contributors"]) == (1_100_000, 2, 2)
    assert made[BUS]["status"] == "draft" and made[BUS]["month"] == f"{month:%Y-%m}"
    assert members(made[BUS]["id"]) == {actions["a_bus"], actions["b_bus"]}
    assert members(made[METRO]["id"]) == {actions["a_metro"]}

    again = build(client, admin, month)
    assert again.status_code == 409, again.json  # every eligible action is already in a batch

    # The pending claim is accepted on review: it goes into a later batch of the same month.
    with unit_of_work() as session:
        flag_id = session.scalar(select(ActionFlag.id).where(ActionFlag.action_id == actions["a_pending"]))
    decided = client.post(
        f"/api/v1/admin/action-flags/{flag_id}/decision", json={"decision": "accept"}, headers=admin
    )
    assert decided.status_code == 200 and decided.json["reduction_g"] > 0, decided.json
    later = batches_by_methodology(build(client, admin, month, methodology=BUS))
    assert later[BUS]["sequence"] == 2 and later[BUS]["grams"] == decided.json["reduction_g"]
    assert members(later[BUS]["id"]) == {actions["a_pending"]}
    assert list(run_audit()) == []


def test_a_month_still_open_is_refused_and_bad_input_is_named(client, admin, people):
    make_action(people["a"]["id"], beijing_time.today(), ActionKind.BUS, 1_000)
    current = build(client, admin, beijing_time.month_start(beijing_time.today()))
    assert current.status_code == 422 and "month" in current.json["errors"], current.json
    for body in (
        {"month": "2026-13"},
        {"month": "26-11"},
        {"month": "٢٠٢٦-١١"},  # digits of another script are not ASCII digits
        {},
        {"month": "2026-11", "methodology": "x" * 65},
        {"month": "2026-11", "note": "a\u0000b"},
    ):
        refused = client.post("/api/v1/admin/reduction-batches", json=body, headers=admin)
        assert refused.status_code == 422, (body, refused.json)
    nothing = build(client, admin, beijing_time.add_months(closed_month(), -12))
    assert nothing.status_code == 409, nothing.json
    eligible = "/api/v1/admin/reduction-batches/eligible"
    for month in ("٢٠٢٦-١١", "0000-01", "2026-1", "2026-11\n"):
        refused = client.get(eligible, query_string={"month": month}, headers=admin)
        assert refused.status_code == 422 and "month" in str(refused.json["errors"]), (month, refused.json)


def test_an_action_cannot_be_in_two_batches(client, admin, actions, month):
    made = batches_by_methodology(build(client, admin, month))
    with pytest.raises(IntegrityError), unit_of_work() as session:
        session.add(
            ReductionBatchAction(
                batch_id=made[METRO]["id"], action_id=actions["a_bus"], user_id=None, grams=600_000
            )
        )
        session.flush()


def test_the_issuance_flow_refuses_bad_transitions_and_figures(client, admin, actions, month):
    batch_id = batches_by_methodology(build(client, admin, month))[BUS]["id"]
    path = f"/api/v1/admin/reduction-batches/{batch_id}"

    early = client.post(f"{path}/issue", json=issue_body(), headers=admin)
    assert early.status_code == 409, early.json  # a draft is submitted first
    assert client.post(f"{path}/submit", json={"application_ref": ""}, headers=admin).status_code == 422
    assert client.post(f"{path}/submit", json={"application_ref": "SQ-7"}, headers=admin).status_code == 200
    assert client.post(f"{path}/submit", json={"application_ref": "SQ-8"}, headers=admin).status_code == 409

    for changes, field in (
        ({"issued_g": 2 * TONNE}, "issued_g"),  # more than the batch's 1,100,000 g
        ({"issued_g": TONNE + 1}, "issued_g"),  # not whole tonnes: refused at the schema
        ({"issued_on": f"{month:%Y-%m}-02"}, "issued_on"),  # before the month is over
        ({"registry_url": "http://example.cn"}, "registry_url"),
    ):
        refused = client.post(f"{path}/issue", json=issue_body(**changes), headers=admin)
        assert refused.status_code == 422, (changes, refused.json)
        assert field in str(refused.json.get("errors")), (changes, refused.json)
    assert client.get(path, headers=admin).json["status"] == "submitted"  # nothing half-done

    issued = client.post(f"{path}/issue", json=issue_body(), headers=admin)
    assert issued.status_code == 200, issued.json
    assert issued.json["status"] == "issued" and issued.json["issued_g"] == TONNE
    assert (
        issued.json["pool"]["kind_code"] == "CIER"
        and issued.json["pool"]["first_serial"] == "CIER-HB-0000001"
    )
    assert client.post(f"{path}/reject", json={"reason": "late"}, headers=admin).status_code == 409

    # The same serials cannot be issued twice: the pool's own import checks apply.
    metro_batch = client.get(
        "/api/v1/admin/reduction-batches", query_string={"methodology": METRO}, headers=admin
    )
    metro_id = metro_batch.json[0]["id"]
    client.post(
        f"/api/v1/admin/reduction-batches/{metro_id}/submit", json={"application_ref": "SQ-9"}, headers=admin
    )
    too_big = client.post(
        f"/api/v1/admin/reduction-batches/{metro_id}/issue", json=issue_body(), headers=admin
    )
    assert too_big.status_code == 422, too_big.json  # 1 t is more than the metro batch's 250,000 g

    with unit_of_work() as session:
        logged = set(session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(batch_id))))
    assert {"reduction_batch.build", "reduction_batch.submit", "reduction_batch.issue"} <= logged
    assert list(run_audit()) == []


def test_a_rejected_batch_keeps_its_actions_unsold(client, admin, actions, month):
    batch_id = batches_by_methodology(build(client, admin, month))[BUS]["id"]
    path = f"/api/v1/admin/reduction-batches/{batch_id}"
    assert client.post(f"{path}/reject", json={"reason": "x"}, headers=admin).status_code == 409  # a draft
    client.post(f"{path}/submit", json={"application_ref": "SQ-7"}, headers=admin)
    assert client.post(f"{path}/reject", json={"reason": ""}, headers=admin).status_code == 422
    rejected = client.post(f"{path}/reject", json={"reason": "baseline not accepted"}, headers=admin)
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected", rejected.json
    assert client.post(f"{path}/issue", json=issue_body(), headers=admin).status_code == 409
    assert build(client, admin, month, methodology=BUS).status_code == 409  # not offered again


def expected_split(total: int, weights: dict[int, int]) -> dict[int, int]:
    """Largest remainder worked out with fractions, ties to the lower user id."""
    whole = sum(weights.values())
    exact = {user: Fraction(total * grams, whole) for user, grams in weights.items()}
    parts = {user: int(share) for user, share in exact.items()}
    by_remainder = sorted(weights, key=lambda user: (-(exact[user] - parts[user]), user))
    for user in by_remainder[: total - sum(parts.values())]:
        parts[user] += 1
    return parts


def points_of(user_id: int) -> dict[str, int]:
    """The user's reduction-proceeds entries: earned and reversed, by source."""
    with unit_of_work() as session:
        rows = session.execute(
            select(PointsEntry.source_id, PointsEntry.kind, PointsEntry.points, PointsEntry.reason).where(
                PointsEntry.user_id == user_id, PointsEntry.source_type == PointsSource.REDUCTION
            )
        ).all()
    assert all(reason.startswith("reduction proceeds") for *_rest, reason in rows)
    return {f"{kind.value}:{source}": points for source, kind, points, _reason in rows}


def statement(client, headers) -> list[dict]:
    response = client.get("/api/v1/me/reductions/batches", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def sold(client, admin, people, actions, month):
    """The bus batch issued (1 t) and bought whole by C at ¥300 per tonne."""
    batch = batches_by_methodology(build(client, admin, month))[BUS]
    issued = submit_and_issue(client, admin, batch["id"], price_fen_per_t=PRICE_FEN_PER_T)
    project_id = issued["pool"]["project_id"]
    listed = client.get("/api/v1/catalogue/projects", query_string={"kind": "CIER"})
    assert [project["id"] for project in listed.json] == [project_id]
    assert listed.json[0]["available_g"] == TONNE and listed.json[0]["methodology"] == BUS
    buyer = people["c"]["headers"]
    placed = client.post(
        "/api/v1/orders", json={"product": "credits", "project_id": project_id, "kg": 1_000}, headers=buyer
    )
    assert placed.status_code == 201, placed.json
    number = placed.json["order"]["out_trade_no"]
    paid = client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=buyer)
    assert paid.status_code == 200 and paid.json["status"] == "fulfilled", paid.json
    return {"batch": issued, "order": number, "amount_fen": placed.json["order"]["amount_fen"]}


def test_the_proceeds_of_a_sale_go_to_the_contributors_exactly(client, admin, people, sold, app):
    amount = sold["amount_fen"]
    assert amount == PRICE_FEN_PER_T  # one tonne
    share = app.config["REDUCTION_OPERATOR_SHARE_PERMILLE"]
    distributable = amount - amount * share // 1000
    a, b = people["a"]["id"], people["b"]["id"]
    parts = expected_split(distributable * app.config["REDUCTION_POINTS_PER_FEN"], {a: 600_000, b: 500_000})

    earned_a, earned_b = points_of(a), points_of(b)
    assert list(earned_a.values()) == [parts[a]] and list(earned_b.values()) == [parts[b]]
    assert parts[a] + parts[b] == distributable * app.config["REDUCTION_POINTS_PER_FEN"]
    pending = client.get("/api/v1/me/points", headers=people["a"]["headers"]).json
    assert pending["pending"] == parts[a]  # spendable once the buyer's refund window closes

    batch = client.get(f"/api/v1/admin/reduction-batches/{sold['batch']['id']}", headers=admin).json
    assert batch["proceeds"] == {
        "sales": 1,
        "sold_g": TONNE,
        "amount_fen": amount,
        "operator_fen": amount - distributable,
        "distributable_fen": distributable,
        "points": parts[a] + parts[b],
    }
    assert batch["pool"]["sold_g"] == TONNE
    grams = expected_split(TONNE, {a: 600_000, b: 500_000})
    contributors = client.get(
        f"/api/v1/admin/reduction-batches/{sold['batch']['id']}/contributors", headers=admin
    ).json
    assert [(row["user_id"], row["grams"], row["sold_g"], row["points"]) for row in contributors] == [
        (a, 600_000, grams[a], parts[a]),
        (b, 500_000, grams[b], parts[b]),
    ]
    assert list(run_audit()) == []


def test_each_user_sees_their_own_statement_and_nothing_of_others(client, admin, people, sold, month):
    a, b = people["a"]["id"], people["b"]["id"]
    mine = statement(client, people["a"]["headers"])
    assert {(row["methodology"], row["my_g"], row["status"]) for row in mine} == {
        (BUS, 600_000, "issued"),
        (METRO, 250_000, "draft"),
    }
    bus = next(row for row in mine if row["methodology"] == BUS)
    grams = expected_split(TONNE, {a: 600_000, b: 500_000})
    assert (bus["sold_g"], bus["points"]) == (grams[a], sum(points_of(a).values()))
    assert bus["month"] == f"{month:%Y-%m}" and bus["batch_g"] == 1_100_000 and bus["issued_g"] == TONNE

    theirs = statement(client, people["b"]["headers"])
    assert [(row["methodology"], row["my_g"]) for row in theirs] == [(BUS, 500_000)]
    assert theirs[0]["points"] == sum(points_of(b).values()) != bus["points"]
    assert statement(client, people["c"]["headers"]) == []  # the buyer contributed nothing
    assert client.get("/api/v1/me/reductions/batches").status_code == 401
    paged = client.get(
        "/api/v1/me/reductions/batches", query_string={"page_size": 1}, headers=people["a"]["headers"]
    )
    assert len(paged.json) == 1 and '"total": 2' in paged.headers["X-Pagination"]


def test_a_refund_takes_the_proceeds_back_in_proportion(client, admin, people, sold, app):
    a, b = people["a"]["id"], people["b"]["id"]
    buyer = people["c"]["headers"]
    partial = client.post(f"/api/v1/orders/{sold['order']}/refunds", json={"grams": 400_000}, headers=buyer)
    assert partial.status_code == 201 and partial.json["status"] == "succeeded", partial.json
    left_fen = sold["amount_fen"] - partial.json["amount_fen"]
    distributable = left_fen - left_fen * app.config["REDUCTION_OPERATOR_SHARE_PERMILLE"] // 1000
    parts = expected_split(distributable * app.config["REDUCTION_POINTS_PER_FEN"], {a: 600_000, b: 500_000})

    with unit_of_work() as session:
        sales = session.scalars(select(ReductionSale).order_by(ReductionSale.id)).all()
        assert [(s.grams, s.amount_fen, s.reversed_at is None) for s in sales] == [
            (TONNE, sold["amount_fen"], False),
            (600_000, left_fen, True),
        ]
        first, second = sales[0].source_id, sales[1].source_id
    for user in (a, b):
        entries = points_of(user)
        assert entries[f"reverse:{first}"] == -entries[f"earn:{first}"]  # nothing was spent: all taken back
        assert entries[f"earn:{second}"] == parts[user]
    standing = next(row for row in statement(client, people["a"]["headers"]) if row["methodology"] == BUS)
    assert standing["points"] == parts[a] and standing["sold_g"] == expected_split(600_000, {a: 6, b: 5})[a]
    assert list(run_audit()) == []

    rest = client.post(f"/api/v1/orders/{sold['order']}/refunds", json={}, headers=buyer)
    assert rest.status_code == 201 and rest.json["status"] == "succeeded", rest.json
    for user in (a, b):
        assert sum(points_of(user).values()) == 0
    standing = next(row for row in statement(client, people["a"]["headers"]) if row["methodology"] == BUS)
    assert (standing["sold_g"], standing["points"]) == (0, 0)
    assert client.get("/api/v1/me/points", headers=people["a"]["headers"]).json["pending"] == 0
    assert list(run_audit()) == []


def test_the_audit_finds_a_sale_whose_parts_do_not_add_up(client, admin, sold):
    with unit_of_work() as session:
        sale = session.scalar(select(ReductionSale))
        sale.points += 1
        sale.distributable_fen += 1
        sale.operator_fen -= 1
    found = [violation.rule for violation in run_audit()]
    assert "reduction-proceeds" in found


def test_the_audit_finds_an_action_that_changed_after_it_was_batched(client, admin, actions, month):
    build(client, admin, month)
    assert list(run_audit()) == []
    with unit_of_work() as session:
        action_id = session.scalar(select(ReductionBatchAction.action_id).order_by(ReductionBatchAction.id))
        session.get(Action, action_id).status = ActionStatus.FLAGGED
    assert "reduction-action" in [violation.rule for violation in run_audit()]


def _sell_bus_batch(client, admin, people, month) -> dict:
    """Build and issue the month's bus batch (1 t) and have C buy it whole; gives the sale's figures."""
    batch = batches_by_methodology(build(client, admin, month))[BUS]
    issued = submit_and_issue(client, admin, batch["id"], price_fen_per_t=PRICE_FEN_PER_T)
    buyer = people["c"]["headers"]
    placed = client.post(
        "/api/v1/orders",
        json={"product": "credits", "project_id": issued["pool"]["project_id"], "kg": 1_000},
        headers=buyer,
    )
    assert placed.status_code == 201, placed.json
    number = placed.json["order"]["out_trade_no"]
    paid = client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=buyer)
    assert paid.status_code == 200 and paid.json["status"] == "fulfilled", paid.json
    return {"batch_id": batch["id"], "order": number, "amount_fen": placed.json["order"]["amount_fen"]}


def _delete_account(user_id: int) -> None:
    """The user asks for deletion and the deletion job carries it out (the row stays, emptied)."""
    account_deletion.request_deletion(user_id, cooling_off_days=0)
    assert carry_out_due(7, now=utcnow() + timedelta(seconds=1)).completed == 1
    with unit_of_work() as session:
        assert session.get(User, user_id).deleted_at is not None


def test_a_deleted_contributor_shares_in_no_later_sale(client, admin, people, actions, month, app):
    a, b = people["a"]["id"], people["b"]["id"]
    _delete_account(a)
    sale = _sell_bus_batch(client, admin, people, month)
    amount = sale["amount_fen"]
    distributable = amount - amount * app.config["REDUCTION_OPERATOR_SHARE_PERMILLE"] // 1000
    points = distributable * app.config["REDUCTION_POINTS_PER_FEN"]

    assert points_of(a) == {}  # A's grams stay in the batch, but nothing is awarded to the emptied account
    assert list(points_of(b).values()) == [points]  # B, the one contributor left, gets the whole share
    rows = client.get(f"/api/v1/admin/reduction-batches/{sale['batch_id']}/contributors", headers=admin).json
    by_user = {row["user_id"]: row for row in rows}
    assert (by_user[a]["grams"], by_user[a]["sold_g"], by_user[a]["points"]) == (600_000, 0, 0)
    assert (by_user[b]["grams"], by_user[b]["sold_g"], by_user[b]["points"]) == (500_000, TONNE, points)
    batch = client.get(f"/api/v1/admin/reduction-batches/{sale['batch_id']}", headers=admin).json
    assert batch["grams"] == 1_100_000 and batch["proceeds"]["points"] == points
    assert list(run_audit()) == []


def test_with_every_contributor_deleted_the_operator_keeps_the_line(client, admin, people, actions, month):
    for name in "ab":
        _delete_account(people[name]["id"])
    sale = _sell_bus_batch(client, admin, people, month)

    batch = client.get(f"/api/v1/admin/reduction-batches/{sale['batch_id']}", headers=admin).json
    assert batch["proceeds"]["operator_fen"] == sale["amount_fen"] == PRICE_FEN_PER_T
    assert (batch["proceeds"]["distributable_fen"], batch["proceeds"]["points"]) == (0, 0)
    assert points_of(people["a"]["id"]) == {} and points_of(people["b"]["id"]) == {}
    assert list(run_audit()) == []


def test_the_audit_finds_a_batch_in_the_pool_that_is_not_issued(client, admin, sold):
    assert list(run_audit()) == []
    with unit_of_work() as session:
        session.get(ReductionBatch, sold["batch"]["id"]).status = ReductionBatchStatus.SUBMITTED
    assert "reduction-issue" in [violation.rule for violation in run_audit()]


def test_the_audit_finds_a_sold_line_without_its_standing_sale(client, admin, sold):
    with unit_of_work() as session:
        session.scalar(select(ReductionSale)).reversed_at = utcnow()
    assert "reduction-sale" in [violation.rule for violation in run_audit()]


# Modules that may read an action's credited grams: the actions context that credits them, the
# rankings that show them, and the reduction batches that sell them. An offset path over actions
# would have to leave out the actions in reduction batches, so none may appear unseen.
READERS_OF_ACTION_GRAMS = {
    "api/action_flags/routes.py",
    "api/actions/schemas.py",
    "services/actions/action_credit.py",
    "services/actions/action_review.py",
    "services/actions/actions.py",
    "services/points/rankings.py",
    "services/reductions/batch_building.py",
    "services/reductions/reduction_audit.py",
}


def test_no_other_module_reads_the_grams_of_actions_so_none_is_also_an_offset():
    root = Path(__file__).resolve().parents[2]
    readers = {
        path.relative_to(root).as_posix()
        for folder in ("api", "services", "worker", "commands")
        for path in (root / folder).rglob("*.py")
        if re.search(r"\breduction_g\b", path.read_text(encoding="utf-8"))
    }
    assert readers == READERS_OF_ACTION_GRAMS, (
        "a new reader of actions' grams: if it credits them anywhere (an offset, a claim), it must leave"
        " out the actions in reduction_batch_actions; then add it here"
    )
