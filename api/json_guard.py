"""Refuse JSON bodies that no parser should be asked to read: nested too deep, or with lone surrogates.

Python's json module recurses once per nesting level, so a body nested 100,000 deep raises
RecursionError (a 500) in whichever parser meets it first; a lone surrogate (`"\\ud800"`) parses
into a string that cannot be encoded again. Both are answered 400 here, before any view runs.
"""

from __future__ import annotations

import json
import re

from flask import Flask, request
from werkzeug.exceptions import BadRequest

MAX_JSON_DEPTH = 64
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in `body` (strings skipped), without parsing it."""
    depth = deepest = 0
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def _has_lone_surrogate(body: bytes) -> bool:
    try:
        json.dumps(json.loads(body), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except ValueError:
        return False  # not JSON at all: the view's parser answers that
    return False


def check_json_body() -> None:
    """before_request: 400 for a JSON body nested deeper than MAX_JSON_DEPTH or holding a lone surrogate."""
    if not request.is_json:
        return
    body = request.get_data(cache=True)
    # Counting brackets runs in C; only a body with many of them is scanned for its real depth.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and json_depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
    if _SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(body):
        raise BadRequest("JSON strings must be valid Unicode (a lone surrogate escape was sent).")


def init_app(app: Flask) -> None:
    app.before_request(check_json_body)
