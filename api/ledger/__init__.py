"""The public carbon ledger: its signed tree head, entries and Merkle proofs, without login."""
