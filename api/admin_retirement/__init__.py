"""Admin: registry retirement of sold tonnes."""
