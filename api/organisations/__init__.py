"""Organisations and their organisers."""
