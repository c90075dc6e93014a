"""The public ledger: the latest signed tree head, entries by index, inclusion and consistency proofs.

No login; nothing in it names a person (holders are pseudonyms). The shapes are fixed so that anyone
can write a verifier (docs/ledger.md; `clients/ledger_verifier.py` is one).
"""

from __future__ import annotations

from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.ledger.schemas import (
    ConsistencyArgsSchema,
    ConsistencyProofSchema,
    EntriesArgsSchema,
    EntriesSchema,
    InclusionArgsSchema,
    InclusionProofSchema,
    LedgerHeadSchema,
)
from services.ledger import public_log

blp = Blueprint(
    "ledger",
    __name__,
    url_prefix="/api/v1/ledger",
    description="The public, tamper-evident carbon ledger (RFC 6962 Merkle tree, Ed25519 signed heads)",
)


@blp.route("/head", methods=["GET"])
@blp.response(200, LedgerHeadSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No head is signed yet")
def head():
    """The latest signed tree head: size, root hash, time, Ed25519 signature and public key."""
    return public_log.latest_head()


@blp.route("/entries", methods=["GET"])
@blp.arguments(EntriesArgsSchema(), location="query")
@blp.response(200, EntriesSchema)
@blp.alt_response(422, schema=ErrorSchema, description="A missing or out-of-range index, or end before start")
def entries(args):
    """Entries start..end (inclusive), at most 1,000 at a time, as canonical JSON text."""
    return public_log.entries(args["start"], args["end"])


@blp.route("/proof/inclusion", methods=["GET"])
@blp.arguments(InclusionArgsSchema(), location="query")
@blp.response(200, InclusionProofSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No head is signed yet")
@blp.alt_response(
    422, schema=ErrorSchema, description="The entry is not in that tree, or the tree is not signed"
)
def inclusion(args):
    """The audit path that proves an entry is in the tree of the first tree_size entries."""
    return public_log.inclusion_proof(args["index"], args["tree_size"])


@blp.route("/proof/consistency", methods=["GET"])
@blp.arguments(ConsistencyArgsSchema(), location="query")
@blp.response(200, ConsistencyProofSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No head is signed yet")
@blp.alt_response(422, schema=ErrorSchema, description="first is larger than second, or second is not signed")
def consistency(args):
    """The proof that the tree of `second` entries extends the tree of `first` entries."""
    return public_log.consistency_proof(args["first"], args["second"])
