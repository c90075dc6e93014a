"""Rate limits (Flask-Limiter), stored in Redis when there is one, else in process memory."""

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def per_caller() -> str:
    """Per token (users share addresses behind carrier NAT), else per address."""
    return request.headers.get("Authorization") or request.remote_addr or "unknown"
