"""Benchmarks against the real stack (gunicorn + PostgreSQL + Redis); each ends with one JSON line."""
