"""Use cases for job rotations: submit evidence, grade it on the rubric, list the queue.

Each function is one unit of work's domain part: it adds rows and publishes
events to the sink (statements, score passback) and flushes; the caller commits.
Files are checked on their content and written to the blob store before any row
is added, so a refusal leaves nothing behind but unreferenced, content-addressed
bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy import exc, orm

from lti_tool.db.models import (
    Enrolment,
    EvidenceFileRecord,
    EvidenceSubmission,
    LmsUser,
    Person,
    RotationGrade,
)
from lti_tool.domain.events import EvidenceGraded, EvidenceReviewed, EvidenceSubmitted
from lti_tool.domain.evidence_files import CheckedFile, EvidenceFileError, check_upload
from lti_tool.domain.programs import EvidenceType, Program, Rotation, Tier
from lti_tool.domain.rotations import RubricError, score_rubric
from lti_tool.services.ports import BlobStore, EventSink
from lti_tool.services.programs import program_of
from lti_tool.services.progress import complete_tier_if_done

MAX_FILES = 5
MAX_NOTE = 10_000
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._#:/-]{0,99}$")
PRIMARY = "primary"
SECOND = "second"


class EvidenceRefused(Exception):
    """What was asked is not allowed; `status` is the HTTP status that says so."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class UploadedFile:
    """A file as the browser sent it: its name and bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class EvidenceInput:
    """What a learner filled in on the evidence form."""

    checklist: Sequence[int] = ()
    note: str = ""
    link: str = ""
    call_id: str = ""
    ticket_id: str = ""
    files: Sequence[UploadedFile] = field(default_factory=tuple)


def rotation_of(
    enrolment: Enrolment, rotation_id: str
) -> tuple[Program, Tier, Rotation]:
    """The enrolment's program, tier and the rotation, or refuse (404)."""
    program = program_of(enrolment.program_version)
    tier = program.tier(enrolment.tier_id)
    for rotation in tier.rotations:
        if rotation.id == rotation_id:
            return program, tier, rotation
    raise EvidenceRefused(
        404, "no_such_rotation", "This rotation is not part of your tier."
    )


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


@dataclass(frozen=True)
class _Checked:
    checklist: list[int]
    note: str | None
    link: str | None
    call_id: str | None
    ticket_id: str | None
    files: list[tuple[CheckedFile, UploadedFile]]


def _check_input(
    rotation: Rotation, given: EvidenceInput, max_file_bytes: int
) -> _Checked:
    allowed = set(rotation.evidence_types)

    def refuse(code: str, message: str) -> EvidenceRefused:
        return EvidenceRefused(400, code, message)

    checklist = sorted(set(given.checklist))
    if any(not 0 <= i < len(rotation.checklist) for i in checklist):
        raise refuse("bad_checklist", "The checklist does not match this rotation.")
    note = _clean(given.note) or None
    link = given.link.strip() or None
    call_id = given.call_id.strip() or None
    ticket_id = given.ticket_id.strip() or None
    offered = {
        EvidenceType.NOTE: note,
        EvidenceType.LINK: link,
        EvidenceType.CALL_ID: call_id,
        EvidenceType.TICKET_ID: ticket_id,
        EvidenceType.FILE: given.files or None,
    }
    for kind, value in offered.items():
        if value and kind not in allowed:
            raise refuse(
                "evidence_type_not_allowed",
                f"{rotation.title} does not take a {kind.value.replace('_', ' ')}"
                " as evidence.",
            )
    if not any(offered.values()):
        raise refuse(
            "no_evidence",
            "Add some evidence: "
            + ", ".join(k.value.replace("_", " ") for k in rotation.evidence_types)
            + ".",
        )
    if note is not None and len(note) > MAX_NOTE:
        raise refuse("note_too_long", f"The note is longer than {MAX_NOTE} characters.")
    if link is not None:
        parts = urlsplit(link)
        if (
            parts.scheme not in ("https", "http")
            or not parts.netloc
            or len(link) > 2000
        ):
            raise refuse(
                "bad_link", "The link must be a web address starting with https://."
            )
    for label, value in (("call id", call_id), ("ticket id", ticket_id)):
        if value is not None and not _REFERENCE.match(value):
            raise refuse(
                "bad_reference",
                f"The {label} may use letters, digits and . _ # : / - (up to 100).",
            )
    if len(given.files) > MAX_FILES:
        raise refuse("too_many_files", f"Attach at most {MAX_FILES} files.")
    checked: list[tuple[CheckedFile, UploadedFile]] = []
    for upload in given.files:
        try:
            checked.append(
                (
                    check_upload(upload.name, upload.data, max_bytes=max_file_bytes),
                    upload,
                )
            )
        except EvidenceFileError as error:
            raise refuse(error.code, error.message) from error
    return _Checked(checklist, note, link, call_id, ticket_id, checked)


def submit_evidence(
    session: orm.Session,
    store: BlobStore,
    enrolment: Enrolment,
    rotation_id: str,
    submitted_by: LmsUser,
    context_id: int | None,
    given: EvidenceInput,
    max_file_bytes: int,
    now: datetime,
    sink: EventSink,
) -> EvidenceSubmission:
    """Record a (re)submission of evidence; earlier ones stay as history."""
    if submitted_by.person_id != enrolment.person_id:
        raise EvidenceRefused(403, "not_your_enrolment", "This is not your enrolment.")
    if enrolment.state != "in_progress":
        raise EvidenceRefused(
            409, "tier_not_in_progress", "This tier is not in progress any more."
        )
    program, tier, rotation = rotation_of(enrolment, rotation_id)
    checked = _check_input(rotation, given, max_file_bytes)
    latest = session.scalar(
        sa.select(sa.func.max(EvidenceSubmission.number)).where(
            EvidenceSubmission.enrolment_id == enrolment.id,
            EvidenceSubmission.rotation_id == rotation.id,
        )
    )
    stored = [(store.put(upload.data), info) for info, upload in checked.files]
    submission = EvidenceSubmission(
        enrolment_id=enrolment.id,
        person_id=enrolment.person_id,
        rotation_id=rotation.id,
        number=(latest or 0) + 1,
        context_id=context_id,
        submitted_by_user_id=submitted_by.id,
        submitted_at=now,
        checklist=checked.checklist,
        note=checked.note,
        link=checked.link,
        call_id=checked.call_id,
        ticket_id=checked.ticket_id,
        files=[
            EvidenceFileRecord(
                sha256=blob.sha256,
                name=info.name,
                content_type=info.content_type,
                size=blob.size,
            )
            for blob, info in stored
        ],
    )
    session.add(submission)
    try:
        with session.begin_nested():
            session.flush()
    except exc.IntegrityError:
        raise EvidenceRefused(
            409,
            "submitted_twice",
            "This evidence was just submitted from another window.",
        ) from None
    sink.publish(
        EvidenceSubmitted(
            occurred_at=now,
            enrolment_id=enrolment.id,
            person_id=enrolment.person_id,
            program_id=program.id,
            tier_id=tier.id,
            rotation_id=rotation.id,
            submission_id=submission.id,
            number=submission.number,
            submitted_by_user_id=submitted_by.id,
        )
    )
    return submission


def latest_grade(submission: EvidenceSubmission, rater: str) -> RotationGrade | None:
    """The submission's newest grade by `rater`, if any."""
    grades = [g for g in submission.grades if g.rater == rater]
    return max(grades, key=lambda g: g.revision, default=None)


def may_grade(submission: EvidenceSubmission, grader: LmsUser) -> None:
    """Refuse a grader grading their own evidence (by account and by person)."""
    if grader.id == submission.submitted_by_user_id or (
        grader.person_id is not None and grader.person_id == submission.person_id
    ):
        raise EvidenceRefused(
            403, "self_grading", "You cannot grade your own evidence."
        )


def grade_submission(
    session: orm.Session,
    submission: EvidenceSubmission,
    grader: LmsUser,
    rater: str,
    levels: Mapping[str, int],
    comment: str,
    expected_revision: int,
    now: datetime,
    sink: EventSink,
) -> RotationGrade:
    """Grade (or re-grade) a submission on its rubric.

    `expected_revision` is the revision the grader saw (0 = none): if someone
    graded in the meantime the grade is refused (409) rather than overwriting.
    A second rater grades independently of the primary one (calibration).
    """
    may_grade(submission, grader)
    if rater not in (PRIMARY, SECOND):
        raise EvidenceRefused(400, "bad_rater", "Unknown rater.")
    enrolment = submission.enrolment
    program, tier, rotation = rotation_of(enrolment, submission.rotation_id)
    newest = session.scalar(
        sa.select(sa.func.max(EvidenceSubmission.number)).where(
            EvidenceSubmission.enrolment_id == submission.enrolment_id,
            EvidenceSubmission.rotation_id == submission.rotation_id,
        )
    )
    if rater == PRIMARY and newest != submission.number:
        raise EvidenceRefused(
            409,
            "superseded",
            "The learner has submitted newer evidence; grade that one instead.",
        )
    if rater == SECOND:
        primary = latest_grade(submission, PRIMARY)
        if primary is not None and primary.grader_user_id == grader.id:
            raise EvidenceRefused(
                403,
                "same_rater",
                "The second rating must come from someone other than the first grader.",
            )
    current = latest_grade(submission, rater)
    if (current.revision if current else 0) != expected_revision:
        raise EvidenceRefused(
            409,
            "graded_meanwhile",
            "Someone graded this evidence while you were looking at it."
            " Reload to see their grade.",
        )
    try:
        score = score_rubric(rotation, levels)
    except RubricError as error:
        raise EvidenceRefused(400, "bad_rubric", error.message) from error
    comment_text = _clean(comment)
    if len(comment_text) > MAX_NOTE:
        raise EvidenceRefused(
            400,
            "comment_too_long",
            f"The comment is longer than {MAX_NOTE} characters.",
        )
    grade = RotationGrade(
        rater=rater,
        revision=expected_revision + 1,
        grader_user_id=grader.id,
        graded_at=now,
        levels=dict(score.levels),
        points=score.points,
        max_points=score.max_points,
        passed=score.passes(tier.completion.rotation_threshold),
        comment=comment_text or None,
    )
    submission.grades.append(grade)  # keeps the loaded collection current
    try:
        with session.begin_nested():
            session.flush()
    except exc.IntegrityError:
        raise EvidenceRefused(
            409,
            "graded_meanwhile",
            "Someone graded this evidence at the same moment. Reload to see their grade.",
        ) from None
    sink.publish(
        EvidenceGraded(
            occurred_at=now,
            enrolment_id=enrolment.id,
            person_id=enrolment.person_id,
            program_id=program.id,
            tier_id=tier.id,
            rotation_id=rotation.id,
            submission_id=submission.id,
            grade_id=grade.id,
            rater=rater,
            revision=grade.revision,
            points=grade.points,
            max_points=grade.max_points,
            passed=grade.passed,
            grader_user_id=grader.id,
        )
    )
    if rater == PRIMARY and grade.passed:
        person = session.get(Person, enrolment.person_id)
        assert person is not None
        complete_tier_if_done(session, person, enrolment, now, sink)
    return grade


def record_review(
    submission: EvidenceSubmission, reviewer: LmsUser, now: datetime, sink: EventSink
) -> None:
    """A grader opened the submission (the statement is one per grader and submission)."""
    enrolment = submission.enrolment
    program = program_of(enrolment.program_version)
    sink.publish(
        EvidenceReviewed(
            occurred_at=now,
            enrolment_id=enrolment.id,
            person_id=enrolment.person_id,
            program_id=program.id,
            tier_id=enrolment.tier_id,
            rotation_id=submission.rotation_id,
            submission_id=submission.id,
            reviewer_user_id=reviewer.id,
        )
    )


def submissions_for(
    session: orm.Session, enrolment_id: str, rotation_id: str
) -> list[EvidenceSubmission]:
    """A learner's submissions for one rotation, oldest first, with files and grades."""
    return list(
        session.scalars(
            sa.select(EvidenceSubmission)
            .where(
                EvidenceSubmission.enrolment_id == enrolment_id,
                EvidenceSubmission.rotation_id == rotation_id,
            )
            .options(
                orm.selectinload(EvidenceSubmission.files),
                orm.selectinload(EvidenceSubmission.grades),
            )
            .order_by(EvidenceSubmission.number)
        )
    )


@dataclass(frozen=True)
class QueueEntry:
    """A submission in a grader's queue: the newest of its learner and rotation."""

    submission: EvidenceSubmission
    learner: LmsUser
    rotation: Rotation
    tier: Tier
    program: Program
    primary: RotationGrade | None
    second: RotationGrade | None


def grading_queue(
    session: orm.Session, context_id: int, *, include_graded: bool = False
) -> list[QueueEntry]:
    """The newest submission per learner and rotation in a course, oldest first.

    Without `include_graded` only those waiting for a primary grade.
    """
    newest = (
        sa.select(
            EvidenceSubmission.enrolment_id,
            EvidenceSubmission.rotation_id,
            sa.func.max(EvidenceSubmission.number).label("number"),
        )
        .where(EvidenceSubmission.context_id == context_id)
        .group_by(EvidenceSubmission.enrolment_id, EvidenceSubmission.rotation_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(EvidenceSubmission, LmsUser)
        .join(
            newest,
            sa.and_(
                newest.c.enrolment_id == EvidenceSubmission.enrolment_id,
                newest.c.rotation_id == EvidenceSubmission.rotation_id,
                newest.c.number == EvidenceSubmission.number,
            ),
        )
        .join(LmsUser, LmsUser.id == EvidenceSubmission.submitted_by_user_id)
        .options(
            orm.selectinload(EvidenceSubmission.grades),
            orm.selectinload(EvidenceSubmission.files),
        )
        .order_by(EvidenceSubmission.submitted_at, EvidenceSubmission.id)
    ).all()
    entries = []
    for submission, learner in rows:
        primary = latest_grade(submission, PRIMARY)
        if primary is not None and not include_graded:
            continue
        program, tier, rotation = rotation_of(
            submission.enrolment, submission.rotation_id
        )
        entries.append(
            QueueEntry(
                submission,
                learner,
                rotation,
                tier,
                program,
                primary,
                latest_grade(submission, SECOND),
            )
        )
    return entries
