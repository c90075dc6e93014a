"""Benchmarks against the real stack: gunicorn + PostgreSQL + Redis."""
