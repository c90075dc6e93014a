"""The Merkle tree of RFC 6962 (§2.1, as restated in RFC 9162 §2.1): hashes, proofs and their checks.

Leaf hash SHA-256(0x00 ‖ entry), node hash SHA-256(0x01 ‖ left ‖ right), and for n leaves the split
at k, the largest power of two smaller than n. Every node of such a tree covers leaves [a, b) with a
a multiple of the smallest power of two ≥ b − a, so its left child is a complete, aligned subtree and
any node's hash is made of the complete aligned subtrees of `perfect_parts` — which a store keeps
(`services.ledger.tree_store`), so proofs need O(log n) hash reads, never the whole log.

Proofs are computed in two steps: `inclusion_ranges` / `consistency_ranges` say which subtrees a
proof lists (from the sizes alone), then a reader gives the hashes of the complete subtrees those
are made of. The checks (`root_from_inclusion`, `verify_consistency`) follow RFC 9162 §2.1.3.2 and
§2.1.4.2 step by step. No project imports: the same rules are restated in `clients/ledger_verifier.py`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

Range = tuple[int, int]  # leaves [start, end)
Node = tuple[int, int]  # (level, index): leaves [index × 2^level, (index + 1) × 2^level)

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2): where RFC 6962 splits n leaves."""
    if n < 2:
        raise ValueError("only a tree of two or more leaves is split")
    return 1 << ((n - 1).bit_length() - 1)


def perfect_parts(start: int, end: int) -> list[Node]:
    """The complete aligned subtrees, left to right, whose hashes make the hash of node [start, end).

    [start, end) must be a node of an RFC 6962 tree (start a multiple of the smallest power of two
    ≥ end − start); it is then its left children down the right edge, then one last subtree.
    """
    if not 0 <= start < end:
        raise ValueError(f"no leaves in [{start}, {end})")
    parts: list[Node] = []
    while True:
        width = end - start
        if width & (width - 1) == 0:
            if start % width:
                raise ValueError(f"[{start}, {end}) is not a node of an RFC 6962 tree")
            parts.append((width.bit_length() - 1, start // width))
            return parts
        k = split(width)
        if start % (k << 1):
            raise ValueError(f"[{start}, {end}) is not a node of an RFC 6962 tree")
        parts.append((k.bit_length() - 1, start // k))
        start += k


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a node from the hashes of its `perfect_parts`: the right edge folded up."""
    acc = hashes[-1]
    for left in reversed(hashes[:-1]):
        acc = node_hash(left, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees an inclusion proof of leaf `index` in a tree of `size` lists, bottom up
    (RFC 6962 §2.1.1 PATH)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    path.reverse()
    return path


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The subtrees a consistency proof from `first` to `second` leaves lists (RFC 6962 §2.1.2
    PROOF / SUBPROOF), in the RFC's order."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from {first} to {second}")
    proof: list[Range] = []
    start, end, m, whole = 0, second, first, True
    while True:
        if m == end - start:
            if not whole:
                proof.append((start, end))
            break
        k = split(end - start)
        if m <= k:
            proof.append((start + k, end))
            end = start + k
        else:
            proof.append((start, start + k))
            start, m, whole = start + k, m - k, False
    proof.reverse()
    return proof


def nodes_for(ranges: Iterable[Range]) -> set[Node]:
    """Every complete subtree whose hash the hashes of `ranges` need."""
    return {node for start, end in ranges for node in perfect_parts(start, end)}


def hashes_of(ranges: Iterable[Range], stored: Mapping[Node, bytes]) -> list[bytes]:
    """The hash of each range, from the hashes of complete subtrees in `stored`."""
    return [fold([stored[node] for node in perfect_parts(start, end)]) for start, end in ranges]


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes, in O(n) time and O(log n) memory."""
    stack: list[tuple[int, bytes]] = []  # (level, hash) of the complete subtrees so far
    for value in leaf_hashes:
        level = 0
        while stack and stack[-1][0] == level:
            value = node_hash(stack.pop()[1], value)
            level += 1
        stack.append((level, value))
    if not stack:
        return EMPTY_ROOT
    return fold([value for _level, value in stack])


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2); ValueError when it cannot be one."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("the proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("the proof is shorter than the tree is high")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> bool:
    try:
        return root_from_inclusion(index, size, leaf, path) == root
    except ValueError:
        return False


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether `proof` shows the tree of `second` leaves extends the one of `first` (RFC 9162 §2.1.4.2)."""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof  # the empty tree is a prefix of every tree
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
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
    return fr == first_root and sr == second_root and sn == 0


def proof_hashes(ranges: Sequence[Range], read: Callable[[set[Node]], Mapping[Node, bytes]]) -> list[bytes]:
    """The hashes of `ranges`, reading the complete subtrees they are made of in one call of `read`."""
    return hashes_of(ranges, read(nodes_for(ranges)))
