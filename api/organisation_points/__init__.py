"""Carbon points an organisation's own purchases earned, read-only to its members."""
