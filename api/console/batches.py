"""Console pages of the pool's batches: the list, and the import of a CSV or JSON file with a dry run.

The dry run is the import itself (`services.pool.batch_import.check_import`) in a transaction
that is always rolled back: every check the import makes (project codes, serial overlaps within the
file and with the pool) is made, and nothing is written, not even the audit entry. The preview page
carries the file, base64-encoded, to the form that imports it, so the admin does not choose it again.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api.console import query
from api.console.blueprint import bp, page_args
from api.console.session_auth import admin_required, principal
from services.kernel.errors import DomainError, ValidationFailed
from services.pool import batch_import, batches

MODES = ("preview", "import")


@dataclass
class Upload:
    """The file of an import form: its bytes, its name and the format it is read as."""

    content: bytes
    source: str
    fmt: str


@dataclass
class Outcome:
    """What a dry run or an import found: the rows as read, each row's faults, the file's faults."""

    upload: Upload
    rows: list[batch_import.RawRow] = field(default_factory=list)
    row_errors: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    file_errors: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    summary: batch_import.ImportSummary | None = None

    @property
    def ok(self) -> bool:
        return self.summary is not None and not self.message


@bp.route("/batches")
@admin_required
def batch_list() -> str:
    """The pool's batches with their grams, and the import form."""
    pages = page_args()
    project_id = query.number("project_id")
    if project_id is not None and not 1 <= project_id <= 2**31 - 1:
        raise ValidationFailed("project_id: no such project.", errors={"project_id": ["out of range"]})
    rows, total = batches.list_batches(project_id=project_id, **pages)
    return render_template(
        "console/batches.html", batches=rows, total=total, formats=batch_import.FORMATS, **pages
    )


def _upload() -> Upload:
    """The file posted: an upload, or the base64 copy a preview page carries."""
    form = request.form
    fmt_given = form.get("format", "").strip()
    if fmt_given and fmt_given not in batch_import.FORMATS:
        raise ValidationFailed("Choose csv or json.", errors={"format": ["csv or json"]})
    carried = form.get("content", "")
    if carried:
        try:
            content = base64.b64decode(carried, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed(
                "The file carried by the preview is damaged; upload it again.", errors={"file": ["damaged"]}
            ) from None
        source = form.get("source", "")[:255]
        fmt = fmt_given or batch_import.detect_format(source) or ""
        return Upload(content, source, fmt)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed("Choose a CSV or JSON file to import.", errors={"file": ["required"]})
    fmt = fmt_given or batch_import.detect_format(upload.filename, upload.mimetype) or ""
    return Upload(upload.read(), upload.filename, fmt)


def _outcome(
    upload: Upload, error: DomainError | None, summary: batch_import.ImportSummary | None
) -> Outcome:
    rows, _structure = batch_import.read_rows(upload.content, upload.fmt)
    outcome = Outcome(upload, rows=rows, summary=summary)
    if error is None:
        return outcome
    outcome.message = error.message
    shown = {raw.row for raw in rows}
    by_row: dict[int, list[dict[str, Any]]] = defaultdict(list)
    # The import reports its faults as a list of {row, line, field, message}.
    for item in error.errors if isinstance(error.errors, list) else []:
        if isinstance(item, dict) and item.get("row") in shown:
            by_row[item["row"]].append(item)
        elif isinstance(item, dict):
            outcome.file_errors.append(item)
    outcome.row_errors = dict(by_row)
    return outcome


def _dry_run(upload: Upload) -> Outcome:
    try:
        summary = batch_import.check_import(
            upload.content, upload.fmt, actor_id=principal().user_id, source=upload.source
        )
    except DomainError as error:
        return _outcome(upload, error, None)
    return _outcome(upload, None, summary)


def _render(outcome: Outcome, mode: str, status: int) -> tuple[str, int]:
    carried = base64.b64encode(outcome.upload.content).decode("ascii")
    limit = request.max_form_memory_size
    return render_template(
        "console/batch_import.html",
        outcome=outcome,
        mode=mode,
        fields=batch_import.FIELDS,
        formats=batch_import.FORMATS,
        # Larger than a form field may be: the admin uploads the file again to import it.
        carried=carried if limit is None or len(carried) < limit - 4096 else None,
    ), status


@bp.route("/batches/import", methods=["POST"])
@admin_required
def batch_import_post() -> Response | tuple[str, int]:
    """Preview (dry run) or import a file of batches; faults are shown by row, nothing half-done."""
    mode = request.form.get("mode", "preview")
    if mode not in MODES:
        mode = "preview"
    try:
        upload = _upload()
    except DomainError as error:
        flash(f"Nothing imported: {error.message}", "error")
        return redirect(url_for("console.batch_list"))
    if mode == "preview":
        return _render(_dry_run(upload), mode, 200)
    try:
        summary = batch_import.import_batches(
            upload.content, upload.fmt, actor_id=principal().user_id, source=upload.source
        )
    except DomainError as error:
        return _render(_outcome(upload, error, None), mode, 422)
    ids = ", ".join(str(batch_id) for batch_id in summary.batch_ids)
    count = summary.batches_created
    flash(f"Imported {count} batch{'' if count == 1 else 'es'}, {summary.tonnes:,} t (batch ids {ids}).")
    return redirect(url_for("console.batch_list"))
