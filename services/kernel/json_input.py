"""JSON from outside (a request body, an uploaded file), checked for what no parser should be asked to read.

Python's json module recurses once per nesting level, so a document nested 100,000 deep raises
RecursionError in whichever parser meets it first; a lone surrogate escape (`"\\ud800"`) parses
into a string that no database, Redis or UTF-8 answer can take. `api/json_guard.py` refuses such
request bodies before any view; `loads` refuses them in uploaded files.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_DEPTH = 64
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_NUL_ESCAPE = re.compile(rb"\\u0000")


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


def too_deep(body: bytes) -> bool:
    """Whether `body` nests deeper than MAX_JSON_DEPTH (counting brackets, in C, comes first)."""
    return body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and json_depth(body) > MAX_JSON_DEPTH


def _encodable(data: Any) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def has_lone_surrogate(body: bytes) -> bool:
    """Whether `body` is JSON whose strings hold a lone surrogate escape (False when not JSON)."""
    if not _SURROGATE_ESCAPE.search(body):
        return False
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return False  # not JSON at all (or too deep): the caller's parser answers that
    return not _encodable(data)


def _nul_path(data: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """The path (keys and list indexes) of the first string in `data` holding a NUL, if any."""
    if isinstance(data, str):
        return path if "\x00" in data else None
    if isinstance(data, dict):
        for key, value in data.items():
            if "\x00" in key:
                return (*path, key.replace("\x00", ""))
            found = _nul_path(value, (*path, key))
            if found is not None:
                return found
    if isinstance(data, list):
        for index, item in enumerate(data):
            found = _nul_path(item, (*path, str(index)))
            if found is not None:
                return found
    return None


def nul_field(body: bytes) -> str | None:
    """Where `body`, JSON, holds a NUL (U+0000) in a string, as a dotted path ("" for the body
    itself); None when it holds none (or is not JSON). No database column can hold a NUL, and
    PostgreSQL refuses the whole statement."""
    if not _NUL_ESCAPE.search(body):
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    found = _nul_path(data)
    return None if found is None else ".".join(found)


def loads(text: str) -> Any:
    """`json.loads`, raising `json.JSONDecodeError` for every fault: also too deep a nesting, a lone
    surrogate, or an integer too long to convert."""
    body = text.encode("utf-8", "surrogatepass")
    if too_deep(body):
        raise json.JSONDecodeError(f"nested deeper than {MAX_JSON_DEPTH} levels", text, 0)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # an integer of more digits than Python converts (4,300)
        raise json.JSONDecodeError(str(exc), text, 0) from None
    if _SURROGATE_ESCAPE.search(body) and not _encodable(data):
        raise json.JSONDecodeError("a string holds a lone surrogate escape (not valid Unicode)", text, 0)
    return data
