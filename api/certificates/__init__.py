"""Certificates: mine (list, PDF) and public verification (JSON and a mobile page)."""
