"""Refuse input that no parser or column should be asked to take: JSON nested too deep, lone
surrogates, and NUL characters anywhere.

Python's json module recurses once per nesting level, so a body nested 100,000 deep raises
RecursionError (a 500) in whichever parser meets it first; a lone surrogate (`"\\ud800"`) parses
into a string that cannot be encoded again; a NUL (U+0000) in a JSON string, a query parameter or a
form field cannot be stored in any PostgreSQL text column. All are answered here, before any view
runs, whichever endpoint they are sent to: 400 for what cannot be parsed, 422 naming the field for
a NUL.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest, UnprocessableEntity

from services.kernel.json_input import MAX_JSON_DEPTH, has_lone_surrogate, json_depth, nul_field, too_deep

__all__ = ["MAX_JSON_DEPTH", "check_json_body", "init_app", "json_depth"]


NUL_MESSAGE = "Text cannot contain the NUL character (U+0000)."
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _nul_in_fields() -> tuple[str, str] | None:
    """(location, name) of the first query parameter or form field holding a NUL, if any."""
    sources = {"query": request.args}
    if request.mimetype in _FORM_TYPES:
        sources["form"] = request.form
    for location, fields in sources.items():
        for name, value in fields.items(multi=True):
            if "\x00" in name or "\x00" in value:
                return location, name.replace("\x00", "")[:64]
    return None


def _refuse_nul(location: str, name: str) -> UnprocessableEntity:
    """A 422 naming the field, shaped like the schemas' own (errors by location, then field)."""
    refused = UnprocessableEntity(NUL_MESSAGE)
    refused.data = {"messages": {location: {name or "_body": [NUL_MESSAGE]}}}
    return refused


def check_json_body() -> None:
    """before_request: 400 for a JSON body nested deeper than MAX_JSON_DEPTH or holding a lone
    surrogate; 422 naming the field for a NUL in any JSON string, query parameter or form field."""
    field = _nul_in_fields()
    if field is not None:
        raise _refuse_nul(*field)
    if not request.is_json:
        return
    body = request.get_data(cache=True)
    if too_deep(body):
        raise BadRequest(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
    if has_lone_surrogate(body):
        raise BadRequest("JSON strings must be valid Unicode (a lone surrogate escape was sent).")
    path = nul_field(body)
    if path is not None:
        raise _refuse_nul("json", path[:200])


def init_app(app: Flask) -> None:
    app.before_request(check_json_body)
