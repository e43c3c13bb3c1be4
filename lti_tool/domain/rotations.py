"""Job rotations: rubric scoring, a rotation's state, and what counts toward completion.

Pure rules: a grade is a chosen level per rubric criterion; the rotation counts
toward the tier when the latest submission's latest primary grade reaches the
tier's rotation threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from lti_tool.domain.programs import Rotation


class RubricError(ValueError):
    """A grade does not fit the rotation's rubric; `message` says how."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RubricScore:
    """A rubric applied: points per criterion and in total."""

    levels: Mapping[str, int]  # criterion id -> chosen level index
    by_criterion: Mapping[str, float]
    points: float
    max_points: float

    @property
    def fraction(self) -> float:
        return self.points / self.max_points if self.max_points else 0.0

    def passes(self, threshold: float) -> bool:
        return self.fraction + 1e-9 >= threshold


def score_rubric(rotation: Rotation, levels: Mapping[str, int]) -> RubricScore:
    """Score a grade: every criterion needs exactly one of its levels."""
    known = {criterion.id for criterion in rotation.rubric}
    unknown = sorted(set(levels) - known)
    if unknown:
        raise RubricError(
            f"{rotation.title} has no criterion {', '.join(map(repr, unknown))}."
        )
    by_criterion: dict[str, float] = {}
    for criterion in rotation.rubric:
        if criterion.id not in levels:
            raise RubricError(f"Choose a level for “{criterion.title}”.")
        index = levels[criterion.id]
        if not 0 <= index < len(criterion.levels):
            raise RubricError(f"“{criterion.title}” has no level number {index + 1}.")
        by_criterion[criterion.id] = criterion.levels[index].points
    return RubricScore(
        levels=dict(levels),
        by_criterion=by_criterion,
        points=sum(by_criterion.values()),
        max_points=rotation.max_points,
    )


class RotationState(StrEnum):
    """Where a learner stands on one rotation."""

    NOT_STARTED = "not_started"
    AWAITING_GRADE = "awaiting_grade"
    PASSED = "passed"
    NOT_YET_PASSED = "not_yet_passed"  # graded below the threshold: resubmit


@dataclass(frozen=True)
class GradeFacts:
    """The facts of one grade the rules need."""

    revision: int
    points: float
    max_points: float
    passed: bool
    graded_at: datetime


@dataclass(frozen=True)
class SubmissionFacts:
    """The facts of one submission: its number and its primary grades."""

    number: int
    submitted_at: datetime
    grades: Sequence[GradeFacts]  # primary rater, any order

    @property
    def latest_grade(self) -> GradeFacts | None:
        return max(self.grades, key=lambda g: g.revision, default=None)


def rotation_state(submissions: Sequence[SubmissionFacts]) -> RotationState:
    """The state from a learner's submissions for one rotation (any order).

    The latest submission decides: a resubmission after a pass waits for its
    own grade (the learner chose to be graded again).
    """
    if not submissions:
        return RotationState.NOT_STARTED
    latest = max(submissions, key=lambda s: s.number).latest_grade
    if latest is None:
        return RotationState.AWAITING_GRADE
    return RotationState.PASSED if latest.passed else RotationState.NOT_YET_PASSED
