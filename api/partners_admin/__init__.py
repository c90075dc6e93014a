"""Admin: bank partners and their signing secrets."""
