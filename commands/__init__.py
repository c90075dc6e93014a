"""Flask CLI command groups: `flask admin`, `credits`, `demo`, `orders`, `points`, `rewards`, `factors`, `reconcile`, `sandbox`, `ledger`, `rollups`."""

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
    "commands.rewards",
    "commands.sandbox",
    "commands.reconcile",
    "commands.ledger",
    "commands.rollups",
]


def register_commands(app: Flask) -> None:
    for module in COMMAND_MODULES:
        app.cli.add_command(__import__(module, fromlist=["cli"]).cli)
