"""Schemas of the public ledger: the shapes independent verifiers are written against (docs/ledger.md)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.fields import INT64_MAX, Integer

INDEX = validate.Range(min=0, max=INT64_MAX)
SIZE = validate.Range(min=1, max=INT64_MAX)


class LedgerHeadSchema(ma.Schema):
    tree_size = Integer(metadata={"description": "How many entries the signed tree holds"})
    root_hash = ma.fields.String(metadata={"description": "Merkle tree root (RFC 6962), hex"})
    timestamp = Integer(metadata={"description": "When it was signed, Unix seconds"})
    signature = ma.fields.String(
        metadata={
            "description": 'Ed25519 signature (base64) of the canonical JSON {"root_hash","timestamp","tree_size"}'
        }
    )
    public_key = ma.fields.String(metadata={"description": "Ed25519 public key, base64 of its raw 32 bytes"})


class EntriesArgsSchema(ma.Schema):
    start = Integer(required=True, validate=INDEX, metadata={"description": "Index of the first entry"})
    end = Integer(
        required=True,
        validate=INDEX,
        metadata={
            "description": "Index of the last entry (inclusive); at most 1,000 entries are given at a time"
        },
    )


class EntrySchema(ma.Schema):
    index = Integer()
    entry = ma.fields.String(
        metadata={"description": "The entry: canonical JSON text (its UTF-8 bytes are the leaf)"}
    )


class EntriesSchema(ma.Schema):
    entries = ma.fields.List(
        ma.fields.Nested(EntrySchema),
        metadata={"description": "In index order; fewer than asked at the log's end, none past it"},
    )


class InclusionArgsSchema(ma.Schema):
    index = Integer(required=True, validate=INDEX, metadata={"description": "Index of the entry"})
    tree_size = Integer(
        required=True, validate=SIZE, metadata={"description": "Size of the tree, at most the latest head's"}
    )


class InclusionProofSchema(ma.Schema):
    leaf_index = Integer()
    tree_size = Integer()
    audit_path = ma.fields.List(
        ma.fields.String(), metadata={"description": "Hex hashes, bottom up (RFC 6962 PATH)"}
    )


class ConsistencyArgsSchema(ma.Schema):
    first = Integer(required=True, validate=SIZE, metadata={"description": "Size of the older tree"})
    second = Integer(
        required=True,
        validate=SIZE,
        metadata={"description": "Size of the newer tree, at most the latest head's"},
    )


class ConsistencyProofSchema(ma.Schema):
    first = Integer()
    second = Integer()
    proof = ma.fields.List(ma.fields.String(), metadata={"description": "Hex hashes (RFC 6962 PROOF)"})
