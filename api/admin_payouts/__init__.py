"""Admin: what each project owner earned in a period."""
