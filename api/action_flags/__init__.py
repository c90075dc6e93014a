"""Admin review of flagged low-carbon actions."""
