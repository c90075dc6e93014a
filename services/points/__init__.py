"""Carbon points: the ledger and its hooks, green tiers, rankings and organisations' own points."""
