"""Check the public carbon ledger of a carbon-inclusion service from the outside.

    python ledger_verifier.py --url https://carbon.example.cn [--head saved.json] [--save-head saved.json]
                              [--public-key BASE64] [--copy log.jsonl]

Needs Python 3.11+ and `cryptography` (for Ed25519), nothing else: copy this file anywhere. It

1. reads the latest signed tree head and checks its Ed25519 signature over the canonical JSON
   {"root_hash","timestamp","tree_size"} (against --public-key, or the saved head's key, if given);
2. downloads every entry, checks they are numbered 0, 1, 2, … and are canonical JSON, recomputes the
   RFC 6962 Merkle root and compares it with the head's; where they differ it finds the entries that
   do not belong to the signed tree, halving the tree with the service's own inclusion proofs;
3. with --head, checks the head is consistent with the saved one: the same first entries, and the
   service's consistency proof verified (RFC 9162 §2.1.4.2); with --copy, compares every entry with
   the copy it kept last time, so a log rebuilt from some entry on is caught at that entry;
4. replays the log and re-checks the carbon rules: no gram of a registry serial held by two live
   certificates, a certificate's slices within its batch, retired ≤ sold per batch and every retired
   tonne wholly held by live certificates, no tonne retired twice;
5. compares the replay of the entries the transparency report reflects (`ledger_size`) with that
   report: issued, sold and retired grams per project and in total.

It prints each problem with the index of the entry where it lies, and exits 1 if there is any. On
success it writes --save-head and --copy for the next run (a monitor runs it every few minutes).
`verify` takes any `fetch(path) -> JSON`, so it can run against something other than HTTP.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import hashlib
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

GRAMS_PER_TONNE = 1_000_000
PAGE = 1000
MAX_LOCATED = 20

Fetch = Callable[[str], Any]


class FetchError(Exception):
    """The service did not answer a request with JSON and 200."""


# -- RFC 6962 / 9162 --


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    stack: list[tuple[int, bytes]] = []
    for value in leaves:
        level = 0
        while stack and stack[-1][0] == level:
            value = node_hash(stack.pop()[1], value)
            level += 1
        stack.append((level, value))
    if not stack:
        return hashlib.sha256(b"").digest()
    acc = stack[-1][1]
    for _level, left in reversed(stack[:-1]):
        acc = node_hash(left, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The subtrees [start, end) an audit path lists, bottom up (RFC 6962 §2.1.1)."""
    path, start, end = [], 0, size
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    return path[::-1]


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_consistency(first: int, second: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> bool:
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and root1 == root2
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, root1)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == root1 and sr == root2 and sn == 0


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


def signed_bytes(head: dict[str, Any]) -> bytes:
    body = {"root_hash": head["root_hash"], "timestamp": head["timestamp"], "tree_size": head["tree_size"]}
    return canonical(body).encode()


def signature_holds(head: dict[str, Any], public_key: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(head["signature"], validate=True), signed_bytes(head))
    except (InvalidSignature, ValueError, TypeError, KeyError):
        return False
    return True


# -- the report --


@dataclass
class Report:
    problems: list[tuple[int | None, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    head: dict[str, Any] | None = None
    entries: list[str] = field(default_factory=list)

    def fail(self, index: int | None, message: str) -> None:
        self.problems.append((index, message))

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [f"FAIL entry {i}: {m}" if i is not None else f"FAIL: {m}" for i, m in self.problems]
        return out + [f"ok: {note}" for note in self.notes]


# -- the carbon rules, replayed --


def _serial_tonne(batch: dict[str, Any], serial: str) -> int | None:
    prefix, digits = batch["serial_prefix"], batch["serial_digits"]
    number = serial[len(prefix) :]
    if not serial.startswith(prefix) or not number.isdigit() or str(int(number)).zfill(digits) != number:
        return None
    tonne = int(number) - batch["serial_start"]
    return tonne if 0 <= tonne < batch["quantity_t"] else None


class Replay:
    """The pool as the log tells it, entry by entry; `fail` gets each broken rule with its index."""

    def __init__(self, fail: Callable[[int, str], None]) -> None:
        self.fail = fail
        self.batches: dict[int, dict[str, Any]] = {}
        self.live: dict[str, list[tuple[int, str, int, int]]] = {}
        self.ended: dict[str, str | None] = {}
        self.held: dict[tuple[int, str], list[tuple[int, int, str]]] = defaultdict(list)
        self.sold: dict[int, int] = defaultdict(int)
        self.retired: dict[int, set[int]] = defaultdict(set)

    def apply(self, index: int, body: dict[str, Any]) -> None:
        handler = {
            "batch_issued": self._batch,
            "certificate_issued": self._issued,
            "grams_returned": self._returned,
            "certificate_ended": self._ended,
            "tonnes_retired": self._retired,
        }.get(body.get("type"))
        if handler is None:
            self.fail(index, f"unknown entry type {body.get('type')!r}")
            return
        try:
            handler(index, body)
        except (KeyError, TypeError, ValueError) as exc:
            self.fail(index, f"{body.get('type')} entry cannot be read: {exc!r}")

    def _batch(self, index: int, b: dict[str, Any]) -> None:
        if b["batch"] in self.batches:
            self.fail(index, f"batch {b['batch']} issued again")
            return
        quantity = b["serial_end"] - b["serial_start"] + 1
        if quantity != b["quantity_t"] or b["issued_g"] != quantity * GRAMS_PER_TONNE or quantity < 1:
            self.fail(index, f"batch {b['batch']}: its serial range, tonnes and grams do not agree")
        for other in self.batches.values():
            if other["serial_prefix"] == b["serial_prefix"] and not (
                b["serial_end"] < other["serial_start"] or other["serial_end"] < b["serial_start"]
            ):
                self.fail(index, f"batch {b['batch']}'s serials overlap batch {other['batch']}'s")
        self.batches[b["batch"]] = b

    def _slices(self, index: int, slices: list[dict[str, Any]], what: str) -> list[tuple[int, str, int, int]]:
        out = []
        for s in slices:
            batch = self.batches.get(s["batch"])
            lo, hi = s["from_g"], s["to_g"]
            if batch is None:
                self.fail(index, f"{what}: batch {s['batch']} was never issued")
            elif _serial_tonne(batch, s["serial"]) is None:
                self.fail(index, f"{what}: serial {s['serial']} is not in batch {s['batch']}")
            elif not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi < GRAMS_PER_TONNE):
                self.fail(index, f"{what}: grams {lo}..{hi} are not grams of one tonne")
            else:
                out.append((s["batch"], s["serial"], lo, hi))
        return out

    def _issued(self, index: int, c: dict[str, Any]) -> None:
        number = c["certificate"]
        if number in self.live or number in self.ended:
            self.fail(index, f"certificate {number} issued again")
            return
        slices = self._slices(index, c["slices"], f"certificate {number}")
        if sum(hi - lo + 1 for _b, _s, lo, hi in slices) != c["grams"]:
            self.fail(index, f"certificate {number} says {c['grams']} g but its slices hold other grams")
        if c.get("replaces") is not None and self.ended.get(c["replaces"]) != number:
            self.fail(index, f"certificate {number} replaces {c['replaces']}, which was not ended for it")
        for batch, serial, lo, hi in slices:
            holders = self.held[(batch, serial)]
            at = bisect.bisect_left(holders, (lo, -1, ""))
            for other_lo, other_hi, other in holders[max(0, at - 1) : at + 1]:
                if other_lo <= hi and lo <= other_hi:
                    self.fail(
                        index,
                        f"certificate {number} holds grams {max(lo, other_lo)}..{min(hi, other_hi)} of serial "
                        f"{serial}, which live certificate {other} holds",
                    )
            bisect.insort(holders, (lo, hi, number))
            self.sold[batch] += hi - lo + 1
        self.live[number] = slices

    def _returned(self, index: int, r: dict[str, Any]) -> None:
        held = self.live.get(r["certificate"])
        if held is None:
            self.fail(index, f"grams returned from {r['certificate']}, which is not a live certificate")
            return
        for batch, serial, lo, hi in self._slices(
            index, r["slices"], f"grams returned from {r['certificate']}"
        ):
            if not any(b == batch and s == serial and a <= lo and hi <= z for b, s, a, z in held):
                self.fail(
                    index, f"grams {lo}..{hi} of {serial} returned but {r['certificate']} did not hold them"
                )

    def _ended(self, index: int, e: dict[str, Any]) -> None:
        number = e["certificate"]
        held = self.live.pop(number, None)
        if held is None:
            self.fail(index, f"certificate {number} ended but is not live")
            return
        if (e["status"] == "superseded") != (e["replaced_by"] is not None) or e["status"] not in (
            "void",
            "superseded",
        ):
            self.fail(
                index, f"certificate {number} ended as {e['status']!r} with replaced_by {e['replaced_by']!r}"
            )
        for batch, serial, lo, hi in held:
            self.held[(batch, serial)].remove((lo, hi, number))
            self.sold[batch] -= hi - lo + 1
        self.ended[number] = e["replaced_by"]

    def _wholly_held(self, batch_id: int, tonne: int) -> bool:
        batch = self.batches[batch_id]
        serial = f"{batch['serial_prefix']}{str(batch['serial_start'] + tonne).zfill(batch['serial_digits'])}"
        return sum(hi - lo + 1 for lo, hi, _n in self.held.get((batch_id, serial), [])) == GRAMS_PER_TONNE

    def _retired(self, index: int, r: dict[str, Any]) -> None:
        count = 0
        for run in r["runs"]:
            batch = self.batches.get(run["batch"])
            first, last = run["first_tonne"], run["last_tonne"]
            if batch is None or not 0 <= first <= last < batch["quantity_t"]:
                self.fail(
                    index,
                    f"retirement {r['retirement']}: tonnes {first}..{last} of batch {run['batch']} do not exist",
                )
                continue
            for tonne in range(first, last + 1):
                if tonne in self.retired[run["batch"]]:
                    self.fail(index, f"tonne {tonne} of batch {run['batch']} retired twice")
                elif not self._wholly_held(run["batch"], tonne):
                    self.fail(index, f"tonne {tonne} of batch {run['batch']} retired but not wholly sold")
                self.retired[run["batch"]].add(tonne)
            count += last - first + 1
            if len(self.retired[run["batch"]]) * GRAMS_PER_TONNE > self.sold[run["batch"]]:
                self.fail(index, f"batch {run['batch']}: more grams retired than sold")
        if count != r["tonnes"]:
            self.fail(index, f"retirement {r['retirement']} says {r['tonnes']} t but its runs hold {count}")

    def finish(self, index: int) -> None:
        for batch_id, tonnes in sorted(self.retired.items()):
            if len(tonnes) * GRAMS_PER_TONNE > self.sold[batch_id]:
                self.fail(
                    index, f"batch {batch_id}: {len(tonnes)} t retired but only {self.sold[batch_id]} g sold"
                )
            for tonne in sorted(t for t in tonnes if not self._wholly_held(batch_id, t))[:MAX_LOCATED]:
                self.fail(index, f"retired tonne {tonne} of batch {batch_id} is no longer wholly held")

    def figures(self) -> dict[str, dict[str, int]]:
        """issued_g, sold_g, retired_g and batches per project code."""
        out: dict[str, dict[str, int]] = defaultdict(
            lambda: {"batches": 0, "issued_g": 0, "sold_g": 0, "retired_g": 0}
        )
        for batch_id, batch in self.batches.items():
            row = out[batch["project"]]
            row["batches"] += 1
            row["issued_g"] += batch["issued_g"]
            row["sold_g"] += self.sold.get(batch_id, 0)
            row["retired_g"] += len(self.retired.get(batch_id, ())) * GRAMS_PER_TONNE
        return dict(out)


# -- talking to the service --


def http_fetch(base_url: str, timeout_s: float = 30) -> Fetch:
    """GET `base_url` + path, as JSON; FetchError unless 200."""
    base = base_url.rstrip("/")

    def fetch(path: str) -> Any:
        request = urllib.request.Request(base + path, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise FetchError(f"GET {path}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise FetchError(f"GET {path}: {exc}") from exc

    return fetch


def _download(fetch: Fetch, report: Report) -> tuple[list[str], list[bytes]]:
    entries: list[str] = []
    leaves: list[bytes] = []
    start = expected = 0
    while True:
        page = fetch(f"/api/v1/ledger/entries?start={start}&end={start + PAGE - 1}")["entries"]
        if not page:
            return entries, leaves
        for item in page:
            index, text = item["index"], item["entry"]
            if not isinstance(index, int) or index < expected:
                report.fail(
                    index, f"entry {index} is given again, or out of order, after entry {expected - 1}"
                )
                continue
            if index > expected:
                missing = (
                    f"entry {expected} is"
                    if index == expected + 1
                    else f"entries {expected}..{index - 1} are"
                )
                report.fail(expected, f"{missing} missing: the log goes on at {index}")
            expected = index + 1
            try:
                body = json.loads(text)
            except ValueError:
                body = None
            if not isinstance(body, dict) or _has_float(body) or canonical(body) != text:
                report.fail(index, "not canonical JSON (sorted keys, no spaces, no floats)")
            entries.append(text)
            leaves.append(leaf_hash(text.encode("utf-8")))
        start = max(start + 1, expected)


def _server_path(fetch: Fetch, index: int, size: int) -> dict[tuple[int, int], bytes] | None:
    try:
        proof = fetch(f"/api/v1/ledger/proof/inclusion?index={index}&tree_size={size}")
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
    except (FetchError, KeyError, ValueError, TypeError):
        return None
    ranges = inclusion_ranges(index, size)
    return dict(zip(ranges, path, strict=True)) if len(path) == len(ranges) else None


def locate(fetch: Fetch, leaves: Sequence[bytes], size: int, root: bytes) -> list[tuple[int, int]] | None:
    """Where the downloaded entries are not those of the signed tree of `size` with `root`, as ranges
    [start, end) of entries, at most MAX_LOCATED; a range of one entry names it exactly.

    Down the tree, the service's inclusion proofs give each node's two children, whose hashes must
    make the node's (known from above); the walk goes on into each child the downloaded entries do
    not hash to. Where the service's own hashes do not add up, the node's whole range is given. None
    when they do not add up at the root itself: the service's stored tree is not that tree either.
    """
    if len(leaves) < size:
        return None
    known, todo, bad = {(0, size): root}, [(0, size)], []
    while todo and len(bad) < MAX_LOCATED:
        a, b = todo.pop()
        if b - a == 1:
            bad.append((a, b))
            continue
        k = split(b - a)
        left, right = (a, a + k), (a + k, b)
        from_left, from_right = _server_path(fetch, a, size), _server_path(fetch, a + k, size)
        if (
            from_left is None
            or from_right is None
            or right not in from_left
            or left not in from_right
            or node_hash(from_right[left], from_left[right]) != known[(a, b)]
        ):
            if (a, b) == (0, size):
                return None
            bad.append((a, b))
            continue
        for child, value in ((right, from_left[right]), (left, from_right[left])):
            if root_of(leaves[child[0] : child[1]]) != value:
                known[child] = value
                todo.append(child)
    return sorted(bad)


def _report_located(report: Report, where: list[tuple[int, int]], size: int) -> None:
    for start, end in where:
        if end - start == 1:
            report.fail(start, f"not the entry the head of {size} entries signed")
        else:
            report.fail(
                start,
                f"entries {start}..{end - 1}: one or more are not those the head of {size} entries signed",
            )


def head_problem(head: Any) -> str | None:
    """What keeps `head` (a saved one) from being a signed tree head of the API's shape, if anything."""
    if not isinstance(head, dict):
        return "it is not a JSON object"
    for name, kind in (("tree_size", int), ("timestamp", int), ("root_hash", str), ("signature", str)):
        if not isinstance(head.get(name), kind) or isinstance(head.get(name), bool):
            return f"its {name} is missing or not a{'n integer' if kind is int else ' string'}"
    if not isinstance(head.get("public_key"), str):
        return "its public_key is missing or not a string"
    if head["tree_size"] < 1 or len(head["root_hash"]) != 64:
        return "its tree_size or root_hash is not one of a signed tree"
    try:
        bytes.fromhex(head["root_hash"])
    except ValueError:
        return "its root_hash is not hex"
    return None


def _read_head(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            head = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ValueError(f"the saved head {path} cannot be read: {exc}") from exc
    problem = head_problem(head)
    if problem:
        raise ValueError(f"the saved head {path} is not a tree head: {problem}")
    return head


def _read_copy(path: str) -> list[str]:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)["entry"] for line in handle if line.strip()]


def _write_atomically(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".ledger-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)


def _check_saved(
    fetch: Fetch,
    report: Report,
    head: dict[str, Any],
    saved: dict[str, Any],
    leaves: list[bytes],
    located: bool,
) -> None:
    """`located`: a difference from the monitor's copy already says where the log was rewritten."""
    m, n = saved["tree_size"], head["tree_size"]
    if not signature_holds(saved, saved["public_key"]):
        report.fail(None, "the saved head's signature does not hold: it is not a head this log signed")
        return
    if m > n:
        report.fail(m - 1, f"the log's head went back from {m} to {n} entries")
        return
    if root_of(leaves[:m]) != bytes.fromhex(saved["root_hash"]):
        where = locate(fetch, leaves, m, bytes.fromhex(saved["root_hash"]))
        if where:
            _report_located(report, where, m)
        elif not located:
            report.fail(
                m - 1,
                f"the first {m} entries are not those the saved head signed: rewritten at or before entry {m - 1}",
            )
    try:
        proof = [
            bytes.fromhex(h) for h in fetch(f"/api/v1/ledger/proof/consistency?first={m}&second={n}")["proof"]
        ]
    except (FetchError, KeyError, ValueError, TypeError) as exc:
        report.fail(None, f"no consistency proof from {m} to {n} entries: {exc}")
        return
    if not verify_consistency(
        m, n, bytes.fromhex(saved["root_hash"]), bytes.fromhex(head["root_hash"]), proof
    ):
        report.fail(
            None, f"the log cannot prove its head of {n} entries extends the saved head of {m}: a fork"
        )
    else:
        report.notes.append(f"consistent with the saved head of {m} entries")


def _check_report(
    report: Report, public: dict[str, Any], snapshot: dict[str, dict[str, int]] | None, size: int
) -> None:
    before = len(report.problems)
    if snapshot is None:
        report.fail(None, f"the transparency report reflects {size} entries but the log has fewer")
        return
    totals = {"batches": 0, "issued_g": 0, "sold_g": 0, "retired_g": 0}
    for project in public["projects"]:
        logged = snapshot.pop(project["code"], {"batches": 0, "issued_g": 0, "sold_g": 0, "retired_g": 0})
        for figure, value in logged.items():
            totals[figure] += value
            if project[figure] != value:
                report.fail(
                    None,
                    f"project {project['code']}: the report says {figure} {project[figure]}, the log {value}",
                )
        if project["available_g"] + project["reserved_g"] != project["issued_g"] - project["sold_g"]:
            report.fail(None, f"project {project['code']}: available + reserved is not issued - sold")
    for code in sorted(snapshot):
        report.fail(None, f"project {code} has batches in the log but is not in the transparency report")
    for figure, value in totals.items():
        if public["totals"][figure] != value:
            report.fail(None, f"totals: the report says {figure} {public['totals'][figure]}, the log {value}")
    if len(report.problems) == before:
        report.notes.append(f"the transparency report adds up to the first {size} entries")


def verify(
    fetch: Fetch,
    saved_head: dict[str, Any] | None = None,
    public_key: str | None = None,
    copy: Sequence[str] | None = None,
) -> Report:
    """Every check above, against the service `fetch` talks to."""
    report = Report()
    try:
        head = fetch("/api/v1/ledger/head")
        size, root = head["tree_size"], bytes.fromhex(head["root_hash"])
        pinned = public_key or (saved_head if isinstance(saved_head, dict) else {}).get("public_key")
        if pinned and head["public_key"] != pinned:
            report.fail(None, "the head is signed with another key than the one pinned")
        if not signature_holds(head, head["public_key"]):
            report.fail(None, "the head's signature does not hold")
        report.head = head
        try:  # before the entries, which then reflect at least what the report does
            transparency: dict[str, Any] | None = fetch("/api/v1/transparency")
        except FetchError as exc:
            report.fail(None, f"cannot read the transparency report: {exc}")
            transparency = None
        entries, leaves = _download(fetch, report)
    except (FetchError, KeyError, TypeError, ValueError) as exc:
        report.fail(None, f"cannot read the ledger: {exc}")
        return report
    report.entries = entries
    if len(leaves) < size:
        report.fail(len(leaves), f"the head signs {size} entries but the log gives only {len(leaves)}")
    elif root_of(leaves[:size]) != root:
        where = locate(fetch, leaves, size, root)
        if where:
            _report_located(report, where, size)
        else:
            report.fail(size - 1, f"the first {size} entries do not hash to the signed root")
    else:
        report.notes.append(f"{size} entries hash to the signed root {head['root_hash']}")
        for index in sorted({0, size // 2, size - 1}):
            path = _server_path(fetch, index, size)
            proof = [path[r] for r in inclusion_ranges(index, size)] if path is not None else None
            if proof is None or root_from_inclusion(index, size, leaves[index], proof) != root:
                report.fail(index, "the service's inclusion proof of this entry does not verify")
    located = False
    if copy is not None:
        for index, (kept, given) in enumerate(zip(copy, entries, strict=False)):
            if kept != given:
                report.fail(index, "differs from the copy kept last time: the log was rewritten from here")
                located = True
                break
        if len(entries) < len(copy):
            report.fail(len(entries), f"the log lost entries: the copy kept last time has {len(copy)}")
            located = True
    if saved_head is not None and head_problem(saved_head):
        report.fail(None, f"the saved head is not a tree head: {head_problem(saved_head)}")
    elif saved_head is not None:
        _check_saved(fetch, report, head, saved_head, leaves, located)
    reflected = (transparency or {}).get("ledger_size", len(entries))
    replay = Replay(report.fail)
    before = len(report.problems)
    snapshot = replay.figures() if reflected == 0 else None
    for index, text in enumerate(entries):
        try:
            body = json.loads(text)
        except ValueError:
            body = None  # reported as not canonical JSON already
        if isinstance(body, dict):
            replay.apply(index, body)
        if index + 1 == reflected:
            snapshot = replay.figures()
    replay.finish(len(entries) - 1)
    if len(report.problems) == before:
        report.notes.append(f"{len(entries)} entries replayed under the carbon rules")
    if transparency is not None:
        _check_report(report, transparency, snapshot, reflected)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="The service's address, e.g. https://carbon.example.cn")
    parser.add_argument(
        "--head", help="A head saved by an earlier run (--save-head): check consistency with it"
    )
    parser.add_argument("--save-head", help="Where to save the head once everything checks")
    parser.add_argument("--public-key", help="The log's public key (base64) to pin")
    parser.add_argument(
        "--copy", help="A local copy of the log (JSON lines): compared, then brought up to date"
    )
    args = parser.parse_args(argv)
    saved = None
    if args.head and os.path.exists(args.head):
        try:
            saved = _read_head(args.head)
        except ValueError as exc:
            print(f"FAIL: {exc}")
            print("ledger verification FAILED: 1 problem(s)", file=sys.stderr)
            return 1
    copy = _read_copy(args.copy) if args.copy else None
    report = verify(http_fetch(args.url), saved, args.public_key, copy)
    for line in report.lines():
        print(line)
    if not report.ok:
        print(f"ledger verification FAILED: {len(report.problems)} problem(s)", file=sys.stderr)
        return 1
    if args.save_head and report.head is not None:
        _write_atomically(args.save_head, json.dumps(report.head, sort_keys=True, indent=2) + "\n")
    if args.copy:
        lines = (
            json.dumps({"index": i, "entry": e}, ensure_ascii=False) for i, e in enumerate(report.entries)
        )
        _write_atomically(args.copy, "".join(line + "\n" for line in lines))
    print("ledger verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
