"""The public carbon ledger through the HTTP API: what it records, its signed heads and proofs, the
certificate page's proof, and the verifier catching every way of rewriting the log (SQLite app)."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select

from clients.ledger_verifier import verify
from models import Certificate, LedgerEntry, Order
from models.database import read_session, unit_of_work
from services.kernel.errors import ValidationFailed
from services.ledger import canonical, keys, merkle, recording, tree_store
from services.pool import batch_import
from services.pool.pool_audit import run_audit
from tests.support import ledger as support
from tests.support.ledger import build_history, client_fetch, entries, sign
from tests.support.sales import buy

KINDS = [
    "batch_issued",
    "batch_issued",
    "certificate_issued",
    "certificate_issued",
    "certificate_issued",
    "grams_returned",
    "certificate_ended",
    "certificate_issued",
    "tonnes_retired",
]


@pytest.fixture
def history(client, admin_headers):
    return build_history(client, admin_headers)


def bodies(client) -> list[dict]:
    return [json.loads(text) for text in entries(client)]


def test_every_change_of_holding_is_an_entry_in_order_canonical_and_pseudonymous(client, history):
    texts = entries(client)
    assert [json.loads(t)["type"] for t in texts] == KINDS
    assert all(canonical.is_canonical(t) and " " not in t.replace("顺昌", "") for t in texts)
    assert not any(name in t for t in texts for name in ("陈小明", "李华", "王芳", "ledger-a"))
    batch, _second, a, b, c, returned, ended, reissue, retired = (json.loads(t) for t in texts)
    assert (batch["project"], batch["kind"], batch["vintage"], batch["issued_g"]) == (
        "SC-01",
        "FFCER",
        2021,
        3_000_000,
    )
    assert (batch["first_serial"], batch["last_serial"], batch["registry_ref"]) == (
        "FFCER-350721-01-0000001",
        "FFCER-350721-01-0000003",
        "FFCER-2022-027",
    )
    assert a["grams"] == 1_500_000 and [s["serial"][-1] for s in a["slices"]] == ["1", "2"]
    with unit_of_work() as session:
        orders = {o.out_trade_no: o for o in session.scalars(select(Order))}
        a_order = orders[history["orders"]["a"]]
        assert a["holder"] == keys.holder_pseudonym(a_order.user_id, None)
        numbers = [n for (n,) in session.execute(select(Certificate.number).order_by(Certificate.id))]
    assert len({a["holder"], b["holder"], c["holder"]}) == 3 and c["holder"] == reissue["holder"]
    assert [a["certificate"], b["certificate"], c["certificate"], reissue["certificate"]] == numbers
    assert returned["certificate"] == c["certificate"] and returned["grams"] == 50_000
    assert returned["slices"] == [
        {"batch": 1, "serial": "FFCER-350721-01-0000003", "from_g": 150_000, "to_g": 199_999}
    ]
    assert (ended["status"], ended["replaced_by"]) == ("superseded", reissue["certificate"])
    assert (reissue["replaces"], reissue["grams"]) == (c["certificate"], 150_000)
    assert (retired["registry_ref"], retired["tonnes"]) == ("FJ-ZX-2026-0042", 1)
    assert retired["runs"] == [
        {
            "batch": 1,
            "first_tonne": 0,
            "last_tonne": 0,
            "first_serial": batch["first_serial"],
            "last_serial": batch["first_serial"],
        }
    ]
    assert list(run_audit()) == []


def test_the_head_signs_exactly_the_canonical_bytes_of_the_tree(client, history):
    assert client.get("/api/v1/ledger/head").status_code == 404  # nothing signed yet
    assert sign().signed and not sign().signed  # signed once; the same size is not signed again
    head = client.get("/api/v1/ledger/head").json
    assert set(head) == {"tree_size", "root_hash", "timestamp", "signature", "public_key"}
    leaves = [merkle.leaf_hash(t.encode()) for t in entries(client)]
    assert head["tree_size"] == 9 and head["root_hash"] == merkle.root_of(leaves).hex()
    message = f'{{"root_hash":"{head["root_hash"]}","timestamp":{head["timestamp"]},"tree_size":9}}'.encode()
    public = base64.b64decode(head["public_key"])
    assert len(public) == 32 and public == keys.public_key_bytes()
    Ed25519PublicKey.from_public_bytes(public).verify(base64.b64decode(head["signature"]), message)


def test_proofs_verify_for_every_entry_and_between_heads(client, history):
    sign()
    first = client.get("/api/v1/ledger/head").json
    buy(client, history["people"]["b"], 10)
    assert sign().tree_size == 10
    head = client.get("/api/v1/ledger/head").json
    root = bytes.fromhex(head["root_hash"])
    leaves = [merkle.leaf_hash(t.encode()) for t in entries(client)]
    for index in range(10):
        proof = client.get(f"/api/v1/ledger/proof/inclusion?index={index}&tree_size=10").json
        assert (proof["leaf_index"], proof["tree_size"]) == (index, 10)
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        assert merkle.verify_inclusion(index, 10, leaves[index], path, root)
        assert not merkle.verify_inclusion(index, 10, leaves[index - 1], path, root)
    older = client.get("/api/v1/ledger/proof/inclusion?index=3&tree_size=9").json["audit_path"]
    assert merkle.verify_inclusion(
        3, 9, leaves[3], [bytes.fromhex(h) for h in older], bytes.fromhex(first["root_hash"])
    )
    proof = client.get("/api/v1/ledger/proof/consistency?first=9&second=10").json
    assert (proof["first"], proof["second"]) == (9, 10)
    hashes = [bytes.fromhex(h) for h in proof["proof"]]
    assert merkle.verify_consistency(9, 10, bytes.fromhex(first["root_hash"]), root, hashes)
    assert client.get("/api/v1/ledger/proof/consistency?first=10&second=10").json["proof"] == []


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/ledger/proof/inclusion?index=9&tree_size=9", 422),
        ("/api/v1/ledger/proof/inclusion?index=0&tree_size=10", 422),
        ("/api/v1/ledger/proof/inclusion?index=-1&tree_size=9", 422),
        ("/api/v1/ledger/proof/inclusion?index=0&tree_size=0", 422),
        ("/api/v1/ledger/proof/inclusion?index=0", 422),
        ("/api/v1/ledger/proof/inclusion?index=1.5&tree_size=9", 422),
        ("/api/v1/ledger/proof/inclusion?index=0&tree_size=99999999999999999999999", 422),
        ("/api/v1/ledger/proof/consistency?first=5&second=4", 422),
        ("/api/v1/ledger/proof/consistency?first=0&second=4", 422),
        ("/api/v1/ledger/proof/consistency?first=1&second=10", 422),
        ("/api/v1/ledger/proof/consistency?first=x&second=4", 422),
        ("/api/v1/ledger/entries?start=5&end=4", 422),
        ("/api/v1/ledger/entries?start=0", 422),
        ("/api/v1/ledger/entries?start=-3&end=4", 422),
        ("/api/v1/ledger/entries?start=9223372036854775807&end=9223372036854775807", 200),
    ],
)
def test_bad_parameters_are_clear_4xx(client, history, path, status):
    sign()
    response = client.get(path)
    assert response.status_code == status, (path, response.json)


def test_proofs_before_any_head_are_a_404_and_entries_are_paged(client, history):
    assert client.get("/api/v1/ledger/proof/inclusion?index=0&tree_size=1").status_code == 404
    assert client.get("/api/v1/ledger/proof/consistency?first=1&second=2").status_code == 404
    page = client.get("/api/v1/ledger/entries?start=2&end=4").json["entries"]
    assert [item["index"] for item in page] == [2, 3, 4]
    assert client.get("/api/v1/ledger/entries?start=7&end=2000").json["entries"][-1]["index"] == 8
    assert client.get("/api/v1/ledger/entries?start=9&end=20").json == {"entries": []}
    assert len(client.get("/api/v1/ledger/entries?start=0&end=9999999").json["entries"]) == 9


def test_a_page_holds_at_most_a_thousand_entries(client, admin_headers):
    with unit_of_work() as session:
        for _ in range(1_005):
            tree_store.append_in(session, {"type": "probe"})
    page = client.get("/api/v1/ledger/entries?start=3&end=5000").json["entries"]
    assert len(page) == 1_000 and (page[0]["index"], page[-1]["index"]) == (3, 1_002)


def test_the_verification_page_and_json_show_the_log_index_and_its_proof(client, history):
    code = client.get("/api/v1/me/certificates", headers=history["people"]["a"]).json[0]["verification_code"]
    before = client.get(f"/api/v1/certificates/{code}").json["ledger"]
    assert before["log_index"] == 2 and before["head"] is None and before["audit_path"] is None
    assert "In the next signed head" in client.get(f"/verify/{code}").get_data(as_text=True)
    sign()
    record = client.get(f"/api/v1/certificates/{code}").json["ledger"]
    assert record["entry"] == entries(client)[2]
    assert record["leaf_hash"] == merkle.leaf_hash(record["entry"].encode()).hex()
    assert record["head"] == client.get("/api/v1/ledger/head").json
    path = [bytes.fromhex(h) for h in record["audit_path"]]
    assert merkle.verify_inclusion(
        2, 9, bytes.fromhex(record["leaf_hash"]), path, bytes.fromhex(record["head"]["root_hash"])
    )
    page = client.get(f"/verify/{code}").get_data(as_text=True)
    assert "账本序号 Log index</dt><dd>2<" in page
    assert all(h in page for h in record["audit_path"]) and record["head"]["root_hash"] in page


def test_the_transparency_report_says_how_many_entries_it_reflects(client, history):
    assert client.get("/api/v1/transparency").json["ledger_size"] == 9


def test_a_dry_run_import_and_a_refused_import_append_nothing(client, history):
    row = "SC-01,2023,FFCER-350721-01-,100,101,7,2,2024-06-28,FFCER-2024-001,"
    summary = batch_import.check_import(f"{support.HEADER}\n{row}", "csv", actor_id=None)
    assert summary.batches_created == 1
    overlapping = "SC-01,2023,FFCER-350721-01-,2,3,7,2,2024-06-28,FFCER-2024-002,"
    with pytest.raises(ValidationFailed):
        batch_import.import_batches(f"{support.HEADER}\n{row}\n{overlapping}", "csv", actor_id=None)
    buy(client, history["people"]["a"], 1)  # the next unit of work carries nothing over
    assert [json.loads(t)["type"] for t in entries(client)] == [*KINDS, "certificate_issued"]
    assert list(run_audit()) == []


def test_the_verifier_passes_an_honest_log_and_a_grown_one_against_its_saved_head(client, history):
    sign()
    report = verify(client_fetch(client))
    assert report.ok, report.lines()
    saved, copy = report.head, report.entries
    buy(client, history["people"]["b"], 30)
    refund = client.post(
        f"/api/v1/orders/{history['orders']['b']}/refunds", json={}, headers=history["people"]["b"]
    )
    assert refund.status_code == 201, refund.json
    sign()
    grown = verify(client_fetch(client), saved_head=saved, copy=copy)
    assert grown.ok, grown.lines()
    assert "consistent with the saved head of 9 entries" in grown.notes
    pinned = verify(client_fetch(client), public_key=base64.b64encode(b"\x01" * 32).decode())
    assert ("the head is signed with another key than the one pinned") in [m for _i, m in pinned.problems]


def failed_at(report) -> set[int | None]:
    assert not report.ok
    return {index for index, _message in report.problems}


def test_the_verifier_finds_a_changed_entry(client, history):
    sign()
    support.rewrite_entry(3, '"grams":500000', '"grams":400000')  # B's certificate, 100 kg less
    report = verify(client_fetch(client))
    assert 3 in failed_at(report), report.lines()
    assert any(i == 3 and "not the entry the head" in m for i, m in report.problems)
    assert "ledger-leaf" in {v.rule for v in run_audit()}


def test_the_verifier_finds_a_changed_entry_even_with_its_leaf_hash_rewritten(client, history):
    sign()
    support.rewrite_entry(4, '"grams":200000', '"grams":100000', rehash=True)
    assert failed_at(verify(client_fetch(client))) >= {4}
    assert "ledger-head" in {v.rule for v in run_audit()}


def test_the_verifier_finds_a_deleted_entry(client, history):
    sign()
    support.delete_entry(5)
    report = verify(client_fetch(client))
    assert any(i == 5 and "missing" in m for i, m in report.problems), report.lines()
    assert "ledger-structure" in {v.rule for v in run_audit()}


def test_the_verifier_finds_two_entries_swapped(client, history):
    sign()
    support.swap_entries(2, 6)
    report = verify(client_fetch(client))
    assert {2, 6} <= failed_at(report), report.lines()
    assert any(i == 2 and "ended but is not live" in m for i, m in report.problems)  # the replay too


def test_the_verifier_finds_a_fork_and_where_it_starts(client, history):
    sign()
    saved = verify(client_fetch(client))
    assert saved.ok
    support.cut_log_at(5)  # C's refund was never logged, and the log goes on from there
    for _ in range(5):
        buy(client, history["people"]["a"], 3)
    assert sign().tree_size == 10
    honest_looking = verify(client_fetch(client))  # on its own, the forked log is self-consistent…
    assert not any(i is not None and i < 5 for i in failed_at(honest_looking))
    with_copy = verify(client_fetch(client), saved_head=saved.head, copy=saved.entries)
    assert (5, "differs from the copy kept last time: the log was rewritten from here") in with_copy.problems
    assert any("a fork" in m for _i, m in with_copy.problems)
    without_copy = verify(client_fetch(client), saved_head=saved.head)
    assert any("a fork" in m for _i, m in without_copy.problems), without_copy.lines()


def test_the_verifier_catches_a_report_that_does_not_add_up(client, history, monkeypatch):
    sign()
    from services.reporting import transparency

    real = transparency.compute

    def inflated():
        report = real()
        report["projects"][0]["sold_g"] += 1
        report["totals"]["sold_g"] += 1
        return report

    monkeypatch.setattr(transparency, "compute", inflated)
    report = verify(client_fetch(client))
    assert any("project SC-01" in m and "sold_g" in m for _i, m in report.problems), report.lines()


def test_backfill_starts_the_log_of_a_pool_that_had_none(client, history):
    with unit_of_work() as session:
        expected = session.scalar(
            select(func.count()).select_from(Certificate).where(Certificate.status == "valid")
        )
    support.raw_sql("DELETE FROM ledger_entries")
    support.raw_sql("UPDATE ledger_state SET size = 0")
    assert "ledger-replay" in {v.rule for v in run_audit()}
    assert recording.backfill() == 2 + expected + 1
    assert list(run_audit()) == []
    with pytest.raises(Exception, match="has entries already"):
        recording.backfill()
    sign()
    assert verify(client_fetch(client)).ok


def test_a_pool_from_before_the_ledger_opens_the_log_at_its_first_change(sqlite_url, client, history):
    """An upgrade: the pool has batches, certificates and a retirement but the log is empty. The new
    release's first change writes the pool as it leaves it; later changes follow as usual."""
    a_code = client.get("/api/v1/me/certificates", headers=history["people"]["a"]).json[0][
        "verification_code"
    ]
    support.forget_log()
    support.restart(sqlite_url)
    buy(client, history["people"]["b"], 30)  # the first change since the upgrade
    opened = bodies(client)
    with unit_of_work() as session:
        valid = session.scalar(
            select(func.count()).select_from(Certificate).where(Certificate.status == "valid")
        )
    assert [b["type"] for b in opened] == [
        "batch_issued",
        "batch_issued",
        *["certificate_issued"] * valid,
        "tonnes_retired",
    ]
    assert opened[-2]["grams"] == 300_000 and all(b["replaces"] is None for b in opened[2:-1])
    assert list(run_audit()) == []
    refund = client.post(
        f"/api/v1/orders/{history['orders']['c']}/refunds", json={}, headers=history["people"]["c"]
    )
    assert refund.status_code == 201, refund.json
    assert [b["type"] for b in bodies(client)][len(opened) :] == ["grams_returned", "certificate_ended"]
    assert list(run_audit()) == []
    sign()
    report = verify(client_fetch(client))
    assert report.ok, report.lines()
    assert client.get(f"/api/v1/certificates/{a_code}").json["ledger"]["log_index"] == 2


def test_ledger_cli_signs_prints_the_key_and_refuses_a_missing_head_file(app, history, tmp_path):
    runner = app.test_cli_runner()
    assert "signed the head of 9 entries" in runner.invoke(args=["ledger", "sign"]).output
    assert "is current" in runner.invoke(args=["ledger", "sign"]).output
    key = runner.invoke(args=["ledger", "public-key"]).output.strip()
    assert base64.b64decode(key) == keys.public_key_bytes()
    missing = runner.invoke(
        args=["ledger", "verify", "--url", "http://127.0.0.1:9", "--head", str(tmp_path / "no.json")]
    )
    assert missing.exit_code != 0 and "no saved head" in missing.output
    (tmp_path / "bad.json").write_text('{"tree_size": 9}')
    bad = runner.invoke(
        args=["ledger", "verify", "--url", "http://127.0.0.1:9", "--head", str(tmp_path / "bad.json")]
    )
    assert bad.exit_code != 0 and "is not a tree head: its timestamp is missing" in bad.output
    unreachable = runner.invoke(args=["ledger", "verify", "--url", "http://127.0.0.1:9"])
    assert unreachable.exit_code == 1 and "cannot read the ledger" in unreachable.output


def test_entries_are_stored_with_their_leaf_hash(client, history):
    session = read_session()
    for entry in session.scalars(select(LedgerEntry).order_by(LedgerEntry.log_index)):
        assert bytes(entry.leaf_hash) == merkle.leaf_hash(entry.entry.encode())
    session.rollback()
