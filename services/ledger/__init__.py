"""The public carbon ledger: every event that changes who holds a gram (a batch issued, a certificate
issued, ended or reissued, grams returned, tonnes retired) appended as canonical JSON to a log that is
an RFC 6962 Merkle tree, with signed tree heads, inclusion and consistency proofs, and the audit check
that the log's replay agrees with the database (see docs/ledger.md).
"""
