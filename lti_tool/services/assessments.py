"""Use cases for pre/post tests: start or resume an attempt, submit it, study a module."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from lti_tool.db.models import Attempt, Enrolment, ModuleProgress, Person, Response
from lti_tool.domain.assessments import (
    AnswerError,
    choose_form,
    presentation,
    score_attempt,
)
from lti_tool.domain.events import AssessmentAttempted, ModuleCompleted
from lti_tool.domain.programs import Assessment, AssessmentKind, LearningModule, Program
from lti_tool.services.ports import EventSink
from lti_tool.services.programs import program_of
from lti_tool.services.progress import complete_tier_if_done


class AttemptRefused(Exception):
    """Raised when the attempt policy does not allow what was asked; says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SubmittedAttempt:
    """A scored attempt, and whether it completed the module and the tier."""

    attempt: Attempt
    module_completed: bool
    tier_completed: bool


def _module(enrolment: Enrolment, module_id: str) -> tuple[Program, LearningModule]:
    program = program_of(enrolment.program_version)
    tier = program.tier(enrolment.tier_id)
    for module in tier.modules:
        if module.id == module_id:
            return program, module
    raise AttemptRefused("no_such_module", "This module is not part of your tier.")


def _assessment(module: LearningModule, kind: AssessmentKind) -> Assessment:
    return module.pre_test if kind is AssessmentKind.PRE else module.post_test


def _submitted(
    session: orm.Session, enrolment: Enrolment, module_id: str, kind: str
) -> list[Attempt]:
    return list(
        session.scalars(
            sa.select(Attempt)
            .where(
                Attempt.enrolment_id == enrolment.id,
                Attempt.module_id == module_id,
                Attempt.kind == kind,
                Attempt.submitted_at.is_not(None),
            )
            .order_by(Attempt.attempt_number)
        )
    )


def _progress(
    session: orm.Session, enrolment: Enrolment, module_id: str
) -> ModuleProgress | None:
    return session.scalar(
        sa.select(ModuleProgress).where(
            ModuleProgress.enrolment_id == enrolment.id,
            ModuleProgress.module_id == module_id,
        )
    )


def check_policy(
    session: orm.Session,
    enrolment: Enrolment,
    module: LearningModule,
    kind: AssessmentKind,
) -> None:
    """Refuse an attempt the policy does not allow (with the reason in plain words)."""
    if enrolment.state != "in_progress":
        raise AttemptRefused("tier_not_in_progress", "This tier is not in progress.")
    assessment = _assessment(module, kind)
    pre = _submitted(session, enrolment, module.id, "pre")
    post = _submitted(session, enrolment, module.id, "post")
    if kind is AssessmentKind.PRE:
        if pre:
            raise AttemptRefused(
                "pre_test_done", "You have already taken this module's pre-test."
            )
        return
    if not pre:
        raise AttemptRefused(
            "pre_test_first", "Take the pre-test first: it unlocks the module."
        )
    progress = _progress(session, enrolment, module.id)
    if progress is None or progress.studied_at is None:
        raise AttemptRefused(
            "study_first",
            "Work through the module first; the post-test comes after it.",
        )
    if any(a.passed for a in post):
        raise AttemptRefused(
            "already_passed", "You have already passed this post-test."
        )
    if assessment.max_attempts is not None and len(post) >= assessment.max_attempts:
        raise AttemptRefused(
            "no_attempts_left",
            f"You have used all {assessment.max_attempts} attempts at this post-test."
            " Ask your instructor about next steps.",
        )


def start_attempt(
    session: orm.Session,
    enrolment: Enrolment,
    person: Person,
    module_id: str,
    kind: AssessmentKind,
    now: datetime,
) -> Attempt:
    """Return the open attempt for this test, or start one (refresh-safe)."""
    program, module = _module(enrolment, module_id)
    check_policy(session, enrolment, module, kind)
    open_attempt = session.scalar(
        sa.select(Attempt).where(
            Attempt.enrolment_id == enrolment.id,
            Attempt.module_id == module_id,
            Attempt.kind == kind.value,
            Attempt.submitted_at.is_(None),
        )
    )
    if open_attempt is not None:
        return open_attempt
    assessment = _assessment(module, kind)
    number = len(_submitted(session, enrolment, module_id, kind.value)) + 1
    # Pre and post rotate through the parallel forms independently; the post-test
    # starts on a different form than the pre-test when there are several.
    offset = 1 if kind is AssessmentKind.POST else 0
    form = choose_form(assessment, f"{person.id}", number + offset)
    attempt = Attempt(
        enrolment_id=enrolment.id,
        person_id=person.id,
        module_id=module_id,
        kind=kind.value,
        attempt_number=number,
        form_id=form.id,
        presented=[],
        started_at=now,
    )
    session.add(attempt)
    session.flush()
    shown = presentation(assessment, form, program.items, f"attempt:{attempt.id}")
    attempt.presented = [
        {"item_id": p.item_id, "choice_ids": list(p.choice_ids)} for p in shown
    ]
    session.flush()
    return attempt


def submit_attempt(
    session: orm.Session,
    attempt: Attempt,
    enrolment: Enrolment,
    person: Person,
    answers: Mapping[str, Sequence[str]],
    now: datetime,
    sink: EventSink,
) -> SubmittedAttempt:
    """Score an open attempt on the server and record it, once.

    A second submit of the same attempt (double click, two tabs) is refused by an
    atomic UPDATE … WHERE submitted_at IS NULL, so nothing is scored twice.
    """
    program, module = _module(enrolment, attempt.module_id)
    kind = AssessmentKind(attempt.kind)
    assessment = _assessment(module, kind)
    form = next((f for f in assessment.forms if f.id == attempt.form_id), None)
    if form is None:
        raise AttemptRefused("form_gone", "This test changed; start it again.")
    unknown = set(answers) - set(form.item_ids)
    if unknown:
        raise AttemptRefused("unknown_items", "The answers do not match this test.")
    try:
        score = score_attempt(form, program.items, answers)
    except AnswerError as exc:
        raise AttemptRefused(
            "bad_answer", f"One answer could not be read ({exc})."
        ) from exc
    threshold = assessment.pass_threshold if kind is AssessmentKind.POST else 0.0
    passed = score.passed(threshold) if kind is AssessmentKind.POST else True
    claimed = session.execute(
        sa.update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.submitted_at.is_(None))
        .values(
            submitted_at=now,
            points=score.points,
            max_points=score.max_points,
            passed=passed,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise AttemptRefused("already_submitted", "This attempt was already submitted.")
    session.refresh(attempt)
    for result in score.items:
        session.add(
            Response(
                attempt_id=attempt.id,
                item_id=result.item_id,
                answer=list(result.answer),
                points=result.points,
                max_points=result.max_points,
            )
        )
    session.flush()
    sink.publish(
        AssessmentAttempted(
            occurred_at=now,
            enrolment_id=enrolment.id,
            person_id=person.id,
            program_id=program.id,
            tier_id=enrolment.tier_id,
            module_id=module.id,
            kind=kind.value,
            attempt_id=attempt.id,
            attempt_number=attempt.attempt_number,
            points=score.points,
            max_points=score.max_points,
            passed=passed,
        )
    )
    module_completed = tier_completed = False
    if kind is AssessmentKind.POST and passed:
        progress = _progress(session, enrolment, module.id)
        if progress is None:
            progress = ModuleProgress(enrolment_id=enrolment.id, module_id=module.id)
            session.add(progress)
        progress.completed_at = now
        session.flush()
        module_completed = True
        sink.publish(
            ModuleCompleted(
                occurred_at=now,
                enrolment_id=enrolment.id,
                person_id=person.id,
                program_id=program.id,
                tier_id=enrolment.tier_id,
                module_id=module.id,
            )
        )
        tier_completed = complete_tier_if_done(session, person, enrolment, now, sink)
    return SubmittedAttempt(attempt, module_completed, tier_completed)


def mark_studied(
    session: orm.Session, enrolment: Enrolment, module_id: str, now: datetime
) -> None:
    """Record that the learner worked through the module (unlocks the post-test)."""
    _, module = _module(enrolment, module_id)
    if not _submitted(session, enrolment, module.id, "pre"):
        raise AttemptRefused(
            "pre_test_first", "Take the pre-test first: it unlocks the module."
        )
    progress = _progress(session, enrolment, module.id)
    if progress is None:
        progress = ModuleProgress(enrolment_id=enrolment.id, module_id=module.id)
        session.add(progress)
    if progress.studied_at is None:
        progress.studied_at = now
    session.flush()
