"""Supervisor pages: the grading queue, a submission with its rubric, calibration.

Every route needs an instructor (or administrator) launch in a course, and
only sees evidence submitted in that course. Nobody grades their own evidence.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from lti_tool.db.models import (
    EvidenceSubmission,
    LineItemLink,
    LmsUser,
    RotationGrade,
)
from lti_tool.domain.agreement import agreement
from lti_tool.domain.roles import ToolRole
from lti_tool.errors import Refused
from lti_tool.lti.launch import SUBMISSION_REVIEW
from lti_tool.runtime import db, runtime
from lti_tool.services import rotations as rotation_service
from lti_tool.web.auth import current_launch, current_session, requires_role

bp = Blueprint("grading", __name__, url_prefix="/grading")
STAFF = (ToolRole.INSTRUCTOR, ToolRole.ADMINISTRATOR)
CLAIM_FOR_USER = "https://purl.imsglobal.org/spec/lti/claim/for_user"
CLAIM_AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SAMPLE_PERCENT = 20  # share of graded submissions asked for a second rating


def in_sample(submission_id: int) -> bool:
    """Deterministic calibration sample: about SAMPLE_PERCENT % of submissions."""
    digest = hashlib.sha256(f"calibration:{submission_id}".encode()).digest()
    return digest[0] * 100 < SAMPLE_PERCENT * 256


def _context_id() -> int:
    context_id = current_launch().context_id
    if context_id is None:
        raise Refused(
            400,
            "no_course",
            "Grading happens inside a course. Open tierpath from the course in your LMS.",
        )
    return context_id


def _grader() -> LmsUser:
    user = db().get(LmsUser, current_launch().user_id)
    assert user is not None
    return user


def _submission(submission_id: int) -> EvidenceSubmission:
    submission = db().get(EvidenceSubmission, submission_id)
    if submission is None or submission.context_id != _context_id():
        raise Refused(
            404,
            "no_such_submission",
            "There is no such submission in this course.",
            hint="Evidence is graded in the course the learner submitted it in.",
        )
    return submission


@bp.get("/", endpoint="queue")
@requires_role(*STAFF)
def queue() -> str:
    """Evidence waiting for a grade, oldest first, and what was graded recently."""
    session = db()
    entries = rotation_service.grading_queue(
        session, _context_id(), include_graded=True
    )
    grader = _grader()
    waiting = [e for e in entries if e.primary is None]
    graded = [e for e in entries if e.primary is not None]
    second_wanted = [
        e
        for e in graded
        if in_sample(e.submission.id)
        and e.second is None
        and e.primary is not None
        and e.primary.grader_user_id != grader.id
        and e.submission.submitted_by_user_id != grader.id
    ]
    return render_template(
        "grading/queue.html",
        launch=current_launch(),
        waiting=waiting,
        graded=graded[-50:][::-1],
        second_wanted=second_wanted,
        me=grader,
    )


def _render_submission(
    submission: EvidenceSubmission,
    error: str | None = None,
    status: int = 200,
    rater: str | None = None,
) -> tuple[str, int]:
    session = db()
    program, tier, rotation = rotation_service.rotation_of(
        submission.enrolment, submission.rotation_id
    )
    history = rotation_service.submissions_for(
        session, submission.enrolment_id, submission.rotation_id
    )
    grader = _grader()
    learner = session.get(LmsUser, submission.submitted_by_user_id)
    primary = rotation_service.latest_grade(submission, rotation_service.PRIMARY)
    second = rotation_service.latest_grade(submission, rotation_service.SECOND)
    own = grader.id == submission.submitted_by_user_id or (
        grader.person_id is not None and grader.person_id == submission.person_id
    )
    if rater is None:
        rater = (
            rotation_service.SECOND
            if primary is not None
            and primary.grader_user_id != grader.id
            and request.args.get("rater") == rotation_service.SECOND
            else rotation_service.PRIMARY
        )
    current = second if rater == rotation_service.SECOND else primary
    graders = {
        u.id: u
        for u in session.scalars(
            sa.select(LmsUser).where(
                LmsUser.id.in_({g.grader_user_id for g in submission.grades})
            )
        )
    }
    return render_template(
        "grading/submission.html",
        launch=current_launch(),
        csrf_token=current_session().csrf_token,
        submission=submission,
        history=history,
        learner=learner,
        program=program,
        tier=tier,
        rotation=rotation,
        primary=primary,
        second=second,
        current=current,
        rater=rater,
        graders=graders,
        own=own,
        error=error,
        form=request.form if error else None,
        newest=history[-1].id == submission.id if history else True,
        threshold=tier.completion.rotation_threshold,
        graded=request.args.get("graded"),
    ), status


@bp.get("/submissions/<int:submission_id>", endpoint="submission")
@requires_role(*STAFF)
def submission_page(submission_id: int) -> tuple[str, int]:
    """The evidence, the rubric to grade it with, and every grade revision."""
    rt = runtime()
    session = db()
    submission = _submission(submission_id)
    grader = _grader()
    if grader.id != submission.submitted_by_user_id:
        rotation_service.record_review(
            submission, grader, rt.clock(), rt.sink_for(session)
        )
        session.commit()
    return _render_submission(submission)


def _levels(form: Mapping[str, str], criteria: list[str]) -> dict[str, int]:
    levels = {}
    for criterion in criteria:
        value = form.get(f"level_{criterion}", "")
        if value.isdigit():
            levels[criterion] = int(value)
    return levels


@bp.post("/submissions/<int:submission_id>")
@requires_role(*STAFF)
def grade(submission_id: int) -> ResponseReturnValue:
    """Grade or re-grade on the rubric; a race or a bad form says why and keeps the input."""
    rt = runtime()
    session = db()
    launch = current_launch()
    submission = _submission(submission_id)
    _, _, rotation = rotation_service.rotation_of(
        submission.enrolment, submission.rotation_id
    )
    rater = request.form.get("rater", rotation_service.PRIMARY)
    expected = request.form.get("expected_revision", "")
    if not expected.isdigit():
        raise Refused(400, "bad_form", "The grading form is incomplete. Reload it.")
    try:
        rotation_service.grade_submission(
            session,
            submission,
            _grader(),
            rater,
            _levels(request.form, [c.id for c in rotation.rubric]),
            request.form.get("comment", ""),
            int(expected),
            rt.clock(),
            rt.sink_for(session, launch),
        )
    except rotation_service.EvidenceRefused as refused:
        session.rollback()
        if refused.status in (400, 409):
            fresh = _submission(submission_id)
            session.refresh(fresh, ["grades"])
            return _render_submission(fresh, refused.message, refused.status, rater)
        raise Refused(refused.status, refused.code, refused.message) from refused
    session.commit()
    return redirect(
        url_for(
            "grading.submission",
            submission_id=submission.id,
            launch=launch.id,
            graded=rater,
        ),
        303,
    )


@bp.get("/calibration", endpoint="calibration")
@requires_role(*STAFF)
def calibration() -> str:
    """Inter-rater agreement per supervisor on double-graded submissions in this course.

    Pairs are (primary level, second level) per rubric criterion of the latest
    grades; agreement is exact level agreement and Cohen's kappa.
    """
    session = db()
    context_id = _context_id()
    submissions = list(
        session.scalars(
            sa.select(EvidenceSubmission)
            .where(
                EvidenceSubmission.context_id == context_id,
                EvidenceSubmission.id.in_(
                    sa.select(RotationGrade.submission_id).where(
                        RotationGrade.rater == rotation_service.SECOND
                    )
                ),
            )
            .options(sa.orm.selectinload(EvidenceSubmission.grades))
        )
    )
    pairs: dict[int, list[tuple[str, str]]] = defaultdict(list)
    counted: dict[int, int] = defaultdict(int)
    for submission in submissions:
        primary = rotation_service.latest_grade(submission, rotation_service.PRIMARY)
        second = rotation_service.latest_grade(submission, rotation_service.SECOND)
        if primary is None or second is None:
            continue
        counted[primary.grader_user_id] += 1
        for criterion, level in primary.levels.items():
            if criterion in second.levels:
                pairs[primary.grader_user_id].append(
                    (str(level), str(second.levels[criterion]))
                )
    users = {
        u.id: u
        for u in session.scalars(sa.select(LmsUser).where(LmsUser.id.in_(list(pairs))))
    }
    rows = [
        (users[user_id], counted[user_id], agreement(values))
        for user_id, values in sorted(
            pairs.items(), key=lambda item: users[item[0]].name or ""
        )
    ]
    return render_template(
        "grading/calibration.html",
        launch=current_launch(),
        rows=rows,
        sample_percent=SAMPLE_PERCENT,
    )


@bp.get("/review", endpoint="review")
@requires_role(*STAFF)
def review() -> ResponseReturnValue:
    """Submission Review launch from the LMS gradebook: open that learner's evidence."""
    launch = current_launch()
    session = db()
    if launch.message_type != SUBMISSION_REVIEW:
        return redirect(url_for("grading.queue", launch=launch.id), 303)
    for_user = launch.claims.get(CLAIM_FOR_USER)
    ags = launch.claims.get(CLAIM_AGS)
    user_id = for_user.get("user_id") if isinstance(for_user, dict) else None
    lineitem = ags.get("lineitem") if isinstance(ags, dict) else None
    if not isinstance(user_id, str) or not isinstance(lineitem, str):
        raise Refused(
            400,
            "incomplete_review_launch",
            "The LMS did not say whose submission to open.",
        )
    learner = session.scalar(
        sa.select(LmsUser).where(
            LmsUser.platform_id == launch.platform_id, LmsUser.sub == user_id
        )
    )
    link = session.scalar(
        sa.select(LineItemLink).where(
            LineItemLink.platform_id == launch.platform_id, LineItemLink.url == lineitem
        )
    )
    if (
        learner is None
        or learner.person_id is None
        or link is None
        or link.tag != "rotation"
    ):
        raise Refused(
            404,
            "nothing_to_review",
            "tierpath has no evidence for this learner and gradebook column.",
        )
    rotation_id = link.resource_id.rsplit("/", 1)[-1]
    submission = session.scalar(
        sa.select(EvidenceSubmission)
        .where(
            EvidenceSubmission.person_id == learner.person_id,
            EvidenceSubmission.rotation_id == rotation_id,
            EvidenceSubmission.context_id == _context_id(),
        )
        .order_by(EvidenceSubmission.number.desc())
        .limit(1)
    )
    if submission is None:
        raise Refused(
            404,
            "nothing_to_review",
            "This learner has not submitted evidence for this rotation in this course.",
        )
    return redirect(
        url_for("grading.submission", submission_id=submission.id, launch=launch.id),
        303,
    )
