"""Learner pages for job rotations: the checklist, the rubric, evidence and its history.

Also the one place evidence files are served from, to the learner whose
evidence it is and to the staff of the course it was submitted in.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from lti_tool.db.models import (
    Enrolment,
    EvidenceFileRecord,
    EvidenceSubmission,
    LmsUser,
)
from lti_tool.domain.evidence_files import ACCEPT, ALLOWED_DESCRIPTION
from lti_tool.domain.roles import ToolRole
from lti_tool.errors import Refused
from lti_tool.runtime import db, runtime
from lti_tool.services import progress as progress_service
from lti_tool.services import rotations as rotation_service
from lti_tool.services.ports import BlobNotFoundError
from lti_tool.web.auth import current_launch, current_session, requires_role

bp = Blueprint("rotations", __name__, url_prefix="/rotations")
STAFF = (ToolRole.INSTRUCTOR, ToolRole.ADMINISTRATOR)
_INLINE = {"image/png", "image/jpeg", "image/webp", "application/pdf"}


def _user() -> LmsUser:
    user = db().get(LmsUser, current_launch().user_id)
    assert user is not None
    return user


def _own_enrolment(enrolment_id: str) -> Enrolment:
    enrolment = db().get(Enrolment, enrolment_id)
    user = _user()
    if (
        enrolment is None
        or user.person_id is None
        or enrolment.person_id != user.person_id
    ):
        raise Refused(404, "no_such_enrolment", "This tier enrolment is not yours.")
    return enrolment


def _refused(error: rotation_service.EvidenceRefused) -> Refused:
    return Refused(error.status, error.code, error.message)


def _page(
    enrolment: Enrolment, rotation_id: str, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    session = db()
    try:
        program, tier, rotation = rotation_service.rotation_of(enrolment, rotation_id)
    except rotation_service.EvidenceRefused as refused:
        raise _refused(refused) from refused
    submissions = rotation_service.submissions_for(session, enrolment.id, rotation.id)
    view = progress_service.rotation_view(rotation, submissions)
    return render_template(
        "rotations/rotation.html",
        launch=current_launch(),
        csrf_token=current_session().csrf_token,
        enrolment=enrolment,
        program=program,
        tier=tier,
        rotation=rotation,
        view=view,
        error=error,
        form=request.form if error else None,
        accept=ACCEPT,
        allowed=ALLOWED_DESCRIPTION,
        max_mb=runtime().settings.evidence.max_file_mb,
        max_files=rotation_service.MAX_FILES,
        submitted=request.args.get("submitted"),
        latest_grade=rotation_service.latest_grade,
    ), status


@bp.get("/<enrolment_id>/<rotation_id>", endpoint="rotation")
@requires_role(ToolRole.LEARNER)
def rotation_page(enrolment_id: str, rotation_id: str) -> tuple[str, int]:
    """The rotation: tasks, rubric, what to submit, and every submission so far."""
    return _page(_own_enrolment(enrolment_id), rotation_id)


@bp.post("/<enrolment_id>/<rotation_id>")
@requires_role(ToolRole.LEARNER)
def submit(enrolment_id: str, rotation_id: str) -> ResponseReturnValue:
    """Submit (or resubmit) evidence; a refusal shows the form again with the reason."""
    rt = runtime()
    session = db()
    launch = current_launch()
    enrolment = _own_enrolment(enrolment_id)
    uploads = [
        rotation_service.UploadedFile(f.filename or "", f.read())
        for f in request.files.getlist("files")
        if f.filename
    ]
    checklist = []
    for value in request.form.getlist("checklist"):
        if not value.isdigit():
            raise Refused(
                400, "bad_checklist", "The checklist does not match this rotation."
            )
        checklist.append(int(value))
    given = rotation_service.EvidenceInput(
        checklist=checklist,
        note=request.form.get("note", ""),
        link=request.form.get("link", ""),
        call_id=request.form.get("call_id", ""),
        ticket_id=request.form.get("ticket_id", ""),
        files=uploads,
    )
    try:
        submission = rotation_service.submit_evidence(
            session,
            rt.blobs,
            enrolment,
            rotation_id,
            _user(),
            launch.context_id,
            given,
            rt.settings.evidence.max_file_mb * 2**20,
            rt.clock(),
            rt.sink_for(session, launch),
        )
    except rotation_service.EvidenceRefused as refused:
        session.rollback()
        if refused.status in (400, 409):
            return _page(enrolment, rotation_id, refused.message, refused.status)
        raise _refused(refused) from refused
    session.commit()
    return redirect(
        url_for(
            "rotations.rotation",
            enrolment_id=enrolment.id,
            rotation_id=rotation_id,
            launch=launch.id,
            submitted=submission.number,
        ),
        303,
    )


def may_see(submission: EvidenceSubmission) -> bool:
    """The learner whose evidence it is, or staff of the course it was submitted in."""
    launch = current_launch()
    user = _user()
    if user.person_id is not None and user.person_id == submission.person_id:
        return True
    return (
        ToolRole(launch.role) in STAFF
        and launch.context_id is not None
        and launch.context_id == submission.context_id
    )


@bp.get("/files/<int:file_id>", endpoint="file")
def evidence_file(file_id: int) -> Response:
    """Serve an evidence file with headers that keep it from running in our origin."""
    record = db().get(EvidenceFileRecord, file_id)
    if record is None or not may_see(record.submission):
        raise Refused(404, "no_such_file", "There is no such evidence file for you.")
    try:
        with runtime().blobs.open(record.sha256) as stream:
            data = stream.read()
    except BlobNotFoundError:
        raise Refused(
            410,
            "file_missing",
            "This file is no longer in the evidence store.",
            hint="Tell your administrator; the support code helps them find it.",
        ) from None
    response = Response(data, mimetype=record.content_type)
    disposition = (
        "inline"
        if record.content_type in _INLINE and request.args.get("download") != "1"
        else "attachment"
    )
    ascii_name = record.name.encode("ascii", "replace").decode().replace("?", "_")
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(record.name)}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
