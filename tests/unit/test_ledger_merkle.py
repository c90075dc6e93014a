"""The ledger's Merkle tree against the RFC 6962 reference vectors (Certificate Transparency's 8-leaf
test tree, as published with the reference verifiers), in the service and in the stand-alone verifier.

The vectors give the root of every prefix of the tree, inclusion proofs and consistency proofs; a
proof that verifies must stop verifying when any part of it (index, size, a hash, a bit, its length)
is changed.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from clients import ledger_verifier
from services.ledger import merkle

LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657")] + [
    bytes.fromhex("606162636465666768696a6b6c6d6e6f")
]
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
# (leaf index, tree size, audit path)
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
# (first size, second size, proof)
CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip
EMPTY_ROOT = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")

LEAF_HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]


def stored_nodes(leaf_hashes: list[bytes]) -> dict[merkle.Node, bytes]:
    """Every complete aligned subtree's hash, as the ledger's store keeps them."""
    nodes, level, row = {}, 0, list(leaf_hashes)
    while row:
        nodes.update({(level, i): h for i, h in enumerate(row)})
        row = [merkle.node_hash(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
        level += 1
    return nodes


NODES = stored_nodes(LEAF_HASHES)


@pytest.mark.parametrize("size", range(1, 9))
def test_the_root_of_every_prefix_is_the_reference_root(size):
    assert merkle.root_of(LEAF_HASHES[:size]) == ROOTS[size - 1]
    assert ledger_verifier.root_of(LEAF_HASHES[:size]) == ROOTS[size - 1]
    assert merkle.hashes_of([(0, size)], NODES) == [ROOTS[size - 1]]  # from stored subtrees only


def test_the_empty_tree_and_the_hash_prefixes():
    assert merkle.root_of([]) == EMPTY_ROOT == ledger_verifier.root_of([])
    assert merkle.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert merkle.node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_are_the_reference_proofs_and_verify(index, size, path):
    proof = [bytes.fromhex(h) for h in path]
    assert merkle.hashes_of(merkle.inclusion_ranges(index, size), NODES) == proof
    assert ledger_verifier.inclusion_ranges(index, size) == merkle.inclusion_ranges(index, size)
    leaf, root = LEAF_HASHES[index], ROOTS[size - 1]
    assert merkle.verify_inclusion(index, size, leaf, proof, root)
    assert ledger_verifier.root_from_inclusion(index, size, leaf, proof) == root
    for probe_index, probe_size, probe_leaf, probe_proof, probe_root in _corrupt_inclusion(
        index, size, leaf, proof, root
    ):
        assert not merkle.verify_inclusion(probe_index, probe_size, probe_leaf, probe_proof, probe_root)
        assert (
            ledger_verifier.root_from_inclusion(probe_index, probe_size, probe_leaf, probe_proof)
            != probe_root
        )


def _corrupt_inclusion(index, size, leaf, proof, root):
    yield index - 1, size, leaf, proof, root
    yield index + 1, size, leaf, proof, root
    yield index ^ 2, size, leaf, proof, root
    yield index, size * 2, leaf, proof, root
    yield index, size // 2, leaf, proof, root
    yield index, size, b"WrongLeaf", proof, root
    yield index, size, leaf, proof, EMPTY_ROOT
    yield index, size, leaf, proof, SOME_HASH
    yield index, size, leaf, [*proof, b""], root
    yield index, size, leaf, [*proof, root], root
    yield index, size, leaf, [b"", *proof], root
    yield index, size, leaf, [root, *proof], root
    for position in range(len(proof)):
        flipped = list(proof)
        flipped[position] = bytes([flipped[position][0] ^ 8]) + flipped[position][1:]
        yield index, size, leaf, flipped, root
    if proof:
        yield index, size, leaf, proof[:-1], root
    if len(proof) > 1:
        yield index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_proofs_are_the_reference_proofs_and_verify(first, second, path):
    proof = [bytes.fromhex(h) for h in path]
    assert merkle.hashes_of(merkle.consistency_ranges(first, second), NODES) == proof
    root1, root2 = ROOTS[first - 1], ROOTS[second - 1]
    for check in (merkle.verify_consistency, ledger_verifier.verify_consistency):
        assert check(first, second, root1, root2, proof)
        for probe in _corrupt_consistency(first, second, root1, root2, proof):
            assert not check(*probe), probe


def _corrupt_consistency(first, second, root1, root2, proof):
    yield first - 1, second, root1, root2, proof
    yield first + 1, second, root1, root2, proof
    yield first ^ 2, second, root1, root2, proof
    yield first, second * 2, root1, root2, proof
    yield first, second // 2, root1, root2, proof
    yield first, second, b"WrongRoot", root2, proof
    yield first, second, root1, b"WrongRoot", proof
    yield first, second, root2, root1, proof
    yield first, second, root1, root2, []
    yield first, second, root1, root2, [*proof, b""]
    yield first, second, root1, root2, [*proof, root1]
    yield first, second, root1, root2, [*proof, root2]
    yield first, second, root1, root2, [b"", *proof]
    yield first, second, root1, root2, [root1, *proof]
    yield first, second, root1, root2, [root2, *proof]
    yield first, second, root1, root2, [proof[0], *proof]
    yield first, second, root1, root2, proof[:-1]
    for position in range(len(proof)):
        flipped = list(proof)
        flipped[position] = bytes([flipped[position][0] ^ 16]) + flipped[position][1:]
        yield first, second, root1, root2, flipped


def test_consistency_edge_cases_of_the_reference_verifier():
    for check in (merkle.verify_consistency, ledger_verifier.verify_consistency):
        assert check(0, 0, b"r1", b"r1", [])
        assert check(0, 1, b"r1", b"r2", [])
        assert check(1, 1, b"r2", b"r2", [])
        assert not check(1, 1, b"r1", b"r2", [])
        assert not check(1, 0, b"r1", b"r2", [])
        assert not check(2, 1, b"r1", b"r2", [])
        assert not check(1, 2, b"r1", b"r2", [])
        assert not check(1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])


def test_random_trees_prove_every_leaf_and_every_prefix_from_stored_subtrees():
    rng = random.Random(6962)
    for size in (*range(1, 40), 255, 256, 257, 1000):
        leaves = [merkle.leaf_hash(rng.randbytes(rng.randrange(0, 40))) for _ in range(size)]
        nodes = stored_nodes(leaves)
        root = merkle.root_of(leaves)
        assert merkle.hashes_of([(0, size)], nodes) == [root]
        for index in {0, size - 1, rng.randrange(size)}:
            ranges = merkle.inclusion_ranges(index, size)
            assert len(merkle.nodes_for(ranges)) <= 2 * size.bit_length()  # O(log n) reads
            assert merkle.verify_inclusion(index, size, leaves[index], merkle.hashes_of(ranges, nodes), root)
        for first in {1, size, rng.randrange(1, size + 1)}:
            proof = merkle.hashes_of(merkle.consistency_ranges(first, size), nodes) if first < size else []
            assert merkle.verify_consistency(first, size, merkle.root_of(leaves[:first]), root, proof)


def test_a_range_that_is_no_node_of_the_tree_is_refused():
    with pytest.raises(ValueError):
        merkle.perfect_parts(1, 3)
    with pytest.raises(ValueError):
        merkle.perfect_parts(2, 6)
    assert merkle.perfect_parts(4, 7) == [(1, 2), (0, 6)]
    assert merkle.perfect_parts(0, 13) == [(3, 0), (2, 2), (0, 12)]
