"""The admin audit log."""
