"""Benchmarks against the real stack; each prints its figures and ends with one JSON line."""
