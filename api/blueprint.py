"""The resource Blueprint: flask-smorest's, with pagination arguments that are strict and bounded.

flask-smorest's own `page` has no upper bound and is read leniently; a page of 2**63 - 1 makes an
offset that no database or Redis command takes. Every paginated view reads `page` and `page_size`
through `PaginationArgsSchema` first, and the OpenAPI description states its bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import request
from marshmallow import validate
from webargs.flaskparser import FlaskParser

from api.fields import Integer, arguments_location

# 100 items a page at most, so the deepest page starts at item 10,000,000.
MAX_PAGE = 100_000


def pagination_args_schema(default_page: int, default_size: int, max_page_size: int) -> type[ma.Schema]:
    """The query arguments of a paginated list, with these defaults and bounds."""

    class PaginationArgsSchema(ma.Schema):
        class Meta:
            unknown = ma.EXCLUDE

        page = Integer(load_default=default_page, validate=validate.Range(min=1, max=MAX_PAGE))
        page_size = Integer(load_default=default_size, validate=validate.Range(min=1, max=max_page_size))

    return PaginationArgsSchema


class ArgumentsParser(FlaskParser):
    """webargs' Flask parser, telling the fields which location they read (see `api.fields.Integer`)."""

    def parse(self, argmap: Any, req: Any = None, *, location: str | None = None, **kwargs: Any) -> Any:
        token = arguments_location.set(location or self.location)
        try:
            return super().parse(argmap, req, location=location, **kwargs)
        finally:
            arguments_location.reset(token)


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest Blueprint whose arguments parser tells fields their location, and whose
    `paginate` refuses (422) a page or page size out of bounds."""

    ARGUMENTS_PARSER = ArgumentsParser()

    def paginate(
        self,
        pager: Any = None,
        *,
        page: int | None = None,
        page_size: int | None = None,
        max_page_size: int | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        defaults = self.DEFAULT_PAGINATION_PARAMETERS
        page = page or defaults["page"]
        page_size = page_size or defaults["page_size"]
        max_page_size = max_page_size or defaults["max_page_size"]
        paginate = super().paginate(pager, page=page, page_size=page_size, max_page_size=max_page_size)
        schema = pagination_args_schema(page, page_size, max_page_size)

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            paginated = paginate(func)

            @wraps(paginated)
            def bounded(*args: Any, **kwargs: Any) -> Any:
                self.PAGINATION_ARGUMENTS_PARSER.parse(schema, request, location="query")
                return paginated(*args, **kwargs)

            apidoc = deepcopy(paginated._apidoc)  # type: ignore[attr-defined]
            apidoc["pagination"]["parameters"]["schema"] = schema
            bounded._apidoc = apidoc  # type: ignore[attr-defined]
            return bounded

        return decorator
