"""Users' consents to bank partners and the log of partners' reads."""
