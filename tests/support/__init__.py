"""Helpers that tests of every resource share."""
