"""The console's audit log page: every admin write, newest first, with filters."""

from __future__ import annotations

from flask import render_template

from api.console import query
from api.console.blueprint import bp, page_args
from api.console.session_auth import admin_required
from services.kernel import audit


@bp.route("/audit")
@admin_required
def audit_log() -> str:
    """Audit entries by actor, entity, action and time."""
    pages = page_args(50)
    filters = {
        "actor_id": query.number("actor_id"),
        "entity": query.text("entity"),
        "entity_id": query.text("entity_id"),
        "action": query.text("action"),
        "since": query.moment("since"),
        "until": query.moment("until"),
    }
    entries, total = audit.list_entries(**filters, **pages)
    return render_template("console/audit.html", entries=entries, total=total, **pages)
