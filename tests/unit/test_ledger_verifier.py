"""The stand-alone ledger verifier: it needs nothing of the service, and it re-checks the carbon rules
from the log alone, naming the entry where each is broken (run against a log served from memory)."""

from __future__ import annotations

import ast
import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from clients import ledger_verifier
from clients.ledger_verifier import FetchError, verify
from services.ledger import canonical, merkle

SCRIPT = Path(ledger_verifier.__file__)
TONNE = 1_000_000


def test_it_imports_only_the_standard_library_and_cryptography():
    found = set()
    for node in ast.walk(ast.parse(SCRIPT.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    assert found - set(sys.stdlib_module_names) == {"cryptography"}, found


def test_it_runs_as_a_lone_file_copied_anywhere(tmp_path):
    lone = tmp_path / "verify.py"
    shutil.copy(SCRIPT, lone)
    done = subprocess.run(
        [sys.executable, "-I", str(lone), "--url", "http://127.0.0.1:9"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "cannot read the ledger" in done.stdout, (done.stdout, done.stderr)


class MemoryLog:
    """The four public routes and the transparency report over a list of entries, signed in memory."""

    def __init__(self, bodies: list[dict], report: dict | None = None) -> None:
        self.texts = [canonical.encode(body) for body in bodies]
        self.key = Ed25519PrivateKey.generate()
        self.report = report
        leaves = [merkle.leaf_hash(t.encode()) for t in self.texts]
        self.nodes = {}
        level, row = 0, leaves
        while row:
            self.nodes.update({(level, i): h for i, h in enumerate(row)})
            row = [merkle.node_hash(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
            level += 1
        self.size = len(leaves)
        root = merkle.root_of(leaves)
        message = canonical.encode(
            {"root_hash": root.hex(), "timestamp": 1_800_000_000, "tree_size": self.size}
        )
        self.head = {
            "tree_size": self.size,
            "root_hash": root.hex(),
            "timestamp": 1_800_000_000,
            "signature": base64.b64encode(self.key.sign(message.encode())).decode(),
            "public_key": base64.b64encode(
                self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            ).decode(),
        }

    def __call__(self, path: str):
        parts = urlsplit(path)
        query = {k: int(v[0]) for k, v in parse_qs(parts.query).items()}
        if parts.path == "/api/v1/ledger/head":
            return self.head
        if parts.path == "/api/v1/ledger/entries":
            chosen = range(query["start"], min(query["end"] + 1, self.size))
            return {"entries": [{"index": i, "entry": self.texts[i]} for i in chosen]}
        if parts.path == "/api/v1/ledger/proof/inclusion":
            ranges = merkle.inclusion_ranges(query["index"], query["tree_size"])
            return {"audit_path": [h.hex() for h in merkle.hashes_of(ranges, self.nodes)]}
        if parts.path == "/api/v1/transparency":
            if self.report is None:
                raise FetchError("no report here")
            return self.report
        raise FetchError(f"GET {path}: HTTP 404")


def batch(batch_id=1, start=1, tonnes=2, project="SC-01"):
    return {
        "type": "batch_issued", "time": 0, "batch": batch_id, "kind": "FFCER", "project": project,
        "vintage": 2021, "serial_prefix": "FF-", "serial_start": start, "serial_end": start + tonnes - 1,
        "serial_digits": 7, "first_serial": f"FF-{start:07d}", "last_serial": f"FF-{start + tonnes - 1:07d}",
        "quantity_t": tonnes, "issued_g": tonnes * TONNE, "issued_on": "2022-01-01", "registry_ref": "R",
        "registry_url": "",
    }  # fmt: skip


def certificate(number, *slices, replaces=None):
    views = [
        {"batch": b, "serial": f"FF-{serial:07d}", "from_g": lo, "to_g": hi} for b, serial, lo, hi in slices
    ]
    grams = sum(hi - lo + 1 for _b, _s, lo, hi in slices)
    return {"type": "certificate_issued", "time": 0, "certificate": number, "holder": "h", "grams": grams,
            "slices": views, "replaces": replaces}  # fmt: skip


def ended(number, status="void", replaced_by=None):
    return {
        "type": "certificate_ended",
        "time": 0,
        "certificate": number,
        "status": status,
        "replaced_by": replaced_by,
    }


def retired(batch_id, first, last, retirement=1):
    run = {"batch": batch_id, "first_tonne": first, "last_tonne": last, "first_serial": "", "last_serial": ""}
    return {"type": "tonnes_retired", "time": 0, "retirement": retirement, "kind": "FFCER",
            "registry_ref": "X", "registry_url": "", "retired_on": "2026-01-01", "tonnes": last - first + 1,
            "runs": [run]}  # fmt: skip


def report_for(issued, sold, retired_g, size, batches=1):
    figures = {"batches": batches, "issued_g": issued, "sold_g": sold, "retired_g": retired_g}
    project = {"code": "SC-01", **figures, "available_g": issued - sold, "reserved_g": 0}
    return {"projects": [project], "totals": figures, "ledger_size": size}


def problems(bodies) -> list[tuple[int | None, str]]:
    """What the verifier finds in the log of `bodies`, leaving out the comparison with a report."""
    empty = {"projects": [], "totals": dict.fromkeys(("batches", "issued_g", "sold_g", "retired_g"), 0)}
    outcome = verify(MemoryLog(bodies, {**empty, "ledger_size": len(bodies)}))
    return [(i, m) for i, m in outcome.problems if "report" not in m]


def test_a_log_that_keeps_the_rules_passes_and_matches_its_report():
    bodies = [
        batch(),
        certificate("A", (1, 1, 0, TONNE - 1), (1, 2, 0, 499_999)),
        certificate("B", (1, 2, 500_000, TONNE - 1)),
        ended("B", "superseded", "C"),
        certificate("C", (1, 2, 500_000, 799_999), replaces="B"),
        retired(1, 0, 0),
    ]
    log = MemoryLog(bodies, report_for(2 * TONNE, 1_800_000, TONNE, 6))
    outcome = verify(log)
    assert outcome.ok, outcome.lines()
    wrong = MemoryLog(bodies, report_for(2 * TONNE, 1_800_001, TONNE, 6))
    assert any("sold_g" in m for _i, m in verify(wrong).problems)


def test_a_gram_held_by_two_live_certificates_is_named_at_the_second():
    found = problems([batch(), certificate("A", (1, 1, 0, 9_999)), certificate("B", (1, 1, 9_000, 19_999))])
    assert (
        2,
        "certificate B holds grams 9000..9999 of serial FF-0000001, which live certificate A holds",
    ) in found


def test_a_gram_may_be_held_again_once_its_certificate_ended():
    assert (
        problems(
            [batch(), certificate("A", (1, 1, 0, 9_999)), ended("A"), certificate("B", (1, 1, 0, 9_999))]
        )
        == []
    )


@pytest.mark.parametrize(
    ("bodies", "index", "words"),
    [
        ([batch(), certificate("A", (1, 3, 0, 9))], 1, "serial FF-0000003 is not in batch 1"),
        ([batch(), certificate("A", (2, 1, 0, 9))], 1, "batch 2 was never issued"),
        ([batch(), certificate("A", (1, 1, 0, TONNE))], 1, "are not grams of one tonne"),
        ([batch(), ended("A")], 1, "ended but is not live"),
        (
            [batch(), certificate("A", (1, 1, 0, 9)), ended("A"), certificate("A", (1, 2, 0, 9))],
            3,
            "issued again",
        ),
        ([batch(), certificate("A", (1, 1, 0, 9), replaces="Z")], 1, "which was not ended for it"),
        ([batch(), batch()], 1, "issued again"),
        ([batch(), batch(2, start=2)], 1, "overlap"),
        ([batch(), certificate("A", (1, 1, 0, 499_999)), retired(1, 0, 0)], 2, "not wholly sold"),
        (
            [batch(), certificate("A", (1, 1, 0, TONNE - 1)), retired(1, 0, 0), retired(1, 0, 0, 2)],
            3,
            "retired twice",
        ),
        (
            [batch(), certificate("A", (1, 1, 0, TONNE - 1)), retired(1, 0, 0), ended("A")],
            3,
            "no longer wholly held",
        ),
        ([batch(), retired(1, 0, 2)], 1, "do not exist"),
        ([batch(), {"type": "gift"}], 1, "unknown entry type"),
    ],
)
def test_each_broken_rule_is_named_at_its_entry(bodies, index, words):
    found = problems(bodies)
    assert any(i == index and words in m for i, m in found), found


def test_retired_beyond_sold_is_caught_at_the_end_of_the_log():
    bodies = [batch(), certificate("A", (1, 1, 0, TONNE - 1)), retired(1, 0, 0), ended("A")]
    assert any(i == 3 and "1 t retired but only 0 g sold" in m for i, m in problems(bodies))


def test_an_entry_that_is_not_canonical_json_is_named():
    log = MemoryLog([batch(), batch(2, start=10)])
    log.texts[1] = json.dumps(json.loads(log.texts[1]), indent=1)
    assert any(i == 1 and "not canonical" in m for i, m in verify(log).problems)
    floats = MemoryLog([batch()])
    floats.texts[0] = floats.texts[0].replace('"vintage":2021', '"vintage":2021.0')
    assert any(i == 0 and "not canonical" in m for i, m in verify(floats).problems)


def test_a_head_with_a_bad_signature_or_an_unknown_key_fails():
    log = MemoryLog([batch()])
    log.head = {**log.head, "timestamp": log.head["timestamp"] + 1}
    assert "the head's signature does not hold" in [m for _i, m in verify(log).problems]


@pytest.mark.parametrize(
    ("saved", "words"),
    [
        ([1, 2], "not a JSON object"),
        ({"tree_size": 1}, "its timestamp is missing"),
        (
            {"tree_size": True, "timestamp": 0, "root_hash": "00" * 32, "signature": "", "public_key": ""},
            "tree_size",
        ),
        (
            {"tree_size": 1, "timestamp": 0, "root_hash": "zz" * 32, "signature": "", "public_key": ""},
            "not hex",
        ),
    ],
)
def test_a_saved_head_that_is_not_a_head_is_named_not_a_crash(saved, words, tmp_path):
    outcome = verify(MemoryLog([batch()]), saved_head=saved)
    assert any(
        i is None and "the saved head is not a tree head" in m and words in m for i, m in outcome.problems
    )
    path = tmp_path / "head.json"
    path.write_text(json.dumps(saved))
    assert ledger_verifier.main(["--url", "http://127.0.0.1:9", "--head", str(path)]) == 1
    path.write_text("{not json")
    assert ledger_verifier.main(["--url", "http://127.0.0.1:9", "--head", str(path)]) == 1
