"""Refuse JSON bodies that no parser should be asked to read: nested too deep, or with lone surrogates.

Python's json module recurses once per nesting level, so a body nested 100,000 deep raises
RecursionError (a 500) in whichever parser meets it first; a lone surrogate (`"\\ud800"`) parses
into a string that cannot be encoded again. Both are answered 400 here, before any view runs.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest

from services.kernel.json_input import MAX_JSON_DEPTH, has_lone_surrogate, json_depth, too_deep

__all__ = ["MAX_JSON_DEPTH", "check_json_body", "init_app", "json_depth"]


def check_json_body() -> None:
    """before_request: 400 for a JSON body nested deeper than MAX_JSON_DEPTH or holding a lone surrogate."""
    if not request.is_json:
        return
    body = request.get_data(cache=True)
    if too_deep(body):
        raise BadRequest(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
    if has_lone_surrogate(body):
        raise BadRequest("JSON strings must be valid Unicode (a lone surrogate escape was sent).")


def init_app(app: Flask) -> None:
    app.before_request(check_json_body)
