"""Flask CLI command groups (`flask admin ...`, `flask credits ...`, `flask points ...`, `flask demo ...`, `flask factors ...`)."""

from __future__ import annotations

from flask import Flask

COMMAND_MODULES: list[str] = [
    "commands.admin",
    "commands.credits",
    "commands.credits_import",
    "commands.demo",
    "commands.factors",
    "commands.orders",
    "commands.points",
]


def register_commands(app: Flask) -> None:
    for module in COMMAND_MODULES:
        app.cli.add_command(__import__(module, fromlist=["cli"]).cli)
