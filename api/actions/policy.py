"""The action policy of the app, built once from the settings when a blueprint that needs it registers."""

from __future__ import annotations

from flask import current_app
from flask.blueprints import BlueprintSetupState

from config import ConfigurationError
from services.actions.action_policy import ActionPolicy

EXTENSION = "carbon.action_policy"


def init_policy(state: BlueprintSetupState) -> None:
    """Read the action settings at start-up, so that a wrong value stops the service at once."""
    if EXTENSION in state.app.extensions:
        return
    try:
        state.app.extensions[EXTENSION] = ActionPolicy.from_settings(state.app.config)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc


def action_policy() -> ActionPolicy:
    return current_app.extensions[EXTENSION]
