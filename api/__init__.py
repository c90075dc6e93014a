"""HTTP layer: one package per resource, views that parse, call one service and return."""

from api.app import create_app

__all__ = ["create_app"]
