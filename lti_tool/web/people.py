"""Admin pages to upload the people/KPI CSV and read its validation report.

`register_people_routes(admin_bp)` adds them to the admin blueprint before the
app registers it. The last import's counts (no personal data) are kept in the
instance folder so every worker shows the same summary.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import FileStorage

from lti_tool.db.models import Person
from lti_tool.domain.roles import ToolRole
from lti_tool.runtime import db, runtime
from lti_tool.services.people_import import ImportReport, import_people_csv
from lti_tool.web.auth import current_launch, current_session, requires_role

UPLOAD_LIMIT = 20 * 1024 * 1024
LAST_REPORT_FILE = "people-last-import.json"
SHOWN_ISSUES = 500

log = logging.getLogger(__name__)

_registered: set[int] = set()


def _last_report_path() -> Path:
    return Path(current_app.instance_path) / LAST_REPORT_FILE


def _load_last_report() -> dict[str, Any] | None:
    try:
        loaded = json.loads(_last_report_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("cannot read %s; ignoring it", _last_report_path())
        return None
    return loaded if isinstance(loaded, dict) else None


def _save_last_report(report: ImportReport, filename: str, at: datetime) -> None:
    summary = {
        "at": at.isoformat(timespec="seconds"),
        "filename": filename,
        "rows": report.rows,
        "people_created": report.people_created,
        "people_updated": report.people_updated,
        "people_unchanged": report.people_unchanged,
        "kpi_values_written": report.kpi_values_written,
        "kpi_values_unchanged": report.kpi_values_unchanged,
        "rejected_rows": report.rejected_row_count,
        "linked_users": report.linked_users,
        "unmatched_total": report.unmatched_total,
    }
    path = _last_report_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary), encoding="utf-8")
    except OSError:
        log.warning("cannot write %s; the summary is not kept", path)


def _page(
    *,
    report: ImportReport | None = None,
    filename: str | None = None,
    error: str | None = None,
) -> str:
    count = db().scalar(sa.select(sa.func.count()).select_from(Person)) or 0
    return render_template(
        "admin/people_import.html",
        launch=current_launch(),
        csrf_token=current_session().csrf_token,
        people_count=count,
        last=_load_last_report(),
        report=report,
        filename=filename,
        shown_issues=SHOWN_ISSUES,
        upload_limit_mb=UPLOAD_LIMIT // (1024 * 1024),
        error=error,
    )


def register_people_routes(bp: Blueprint) -> None:
    """Add GET /admin/people and POST /admin/people/import to the admin blueprint.

    Idempotent per blueprint, so tests and the app may both call it.
    """
    if id(bp) in _registered:
        return
    _registered.add(id(bp))

    @bp.before_request
    def _allow_large_upload() -> None:
        # The app caps bodies at 1 MiB; the CSV upload needs more. This runs
        # before the CSRF check parses the form.
        if request.endpoint == f"{bp.name}.people_import":
            request.max_content_length = UPLOAD_LIMIT

    @bp.get("/people")
    @requires_role(ToolRole.ADMINISTRATOR)
    def people() -> str:
        """Show how many people are known, the last import and the upload form."""
        return _page()

    @bp.post("/people/import")
    @requires_role(ToolRole.ADMINISTRATOR)
    def people_import() -> ResponseReturnValue:
        """Validate and import an uploaded people/KPI CSV, then show the report."""
        upload = request.files.get("file")
        if not isinstance(upload, FileStorage) or not upload.filename:
            return _page(error="Choose a CSV file to upload."), 400
        filename = Path(upload.filename).name
        session = db()
        now = runtime().clock()
        report = import_people_csv(session, upload.stream, now, max_bytes=UPLOAD_LIMIT)
        if report.file_issues:
            session.rollback()
            return _page(report=report, filename=filename), 422
        session.commit()
        _save_last_report(report, filename, now)
        return _page(report=report, filename=filename)
