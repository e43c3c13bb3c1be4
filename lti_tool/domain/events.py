"""Domain events, published inside the unit of work that caused them.

The xAPI statement writer and the badge issuer (later issues) subscribe through
the `EventSink` port (lti_tool/services/ports.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TierStarted:
    """A learner was enrolled in a tier (by hand, auto-enrolment or auto-progression)."""

    occurred_at: datetime
    enrolment_id: str
    person_id: int
    program_id: str
    program_version: str
    tier_id: str
    reason: str  # "eligible", "auto_progression"


@dataclass(frozen=True)
class AssessmentAttempted:
    """A pre- or post-test attempt was submitted and scored."""

    occurred_at: datetime
    enrolment_id: str
    person_id: int
    program_id: str
    tier_id: str
    module_id: str
    kind: str  # "pre" | "post"
    attempt_id: int
    attempt_number: int
    points: float
    max_points: float
    passed: bool


@dataclass(frozen=True)
class ModuleCompleted:
    """A learner passed a module's post-test."""

    occurred_at: datetime
    enrolment_id: str
    person_id: int
    program_id: str
    tier_id: str
    module_id: str


@dataclass(frozen=True)
class TierCompleted:
    """A learner met a tier's completion rule."""

    occurred_at: datetime
    enrolment_id: str
    person_id: int
    program_id: str
    program_version: str
    tier_id: str


@dataclass(frozen=True)
class EligibilityDecided:
    """An eligibility decision was made (and stored) for a person and tier."""

    occurred_at: datetime
    person_id: int
    program_id: str
    program_version: str
    tier_id: str
    eligible: bool
    decision_id: int


@dataclass(frozen=True)
class RequirementSignedOff:
    """An instructor signed off a tier requirement (e.g. 12 weeks of mentoring)."""

    occurred_at: datetime
    enrolment_id: str
    person_id: int
    program_id: str
    tier_id: str
    requirement_id: str
    signoff_id: int
    signed_by_user_id: int


@dataclass(frozen=True)
class EvidenceSubmitted:
    """A learner submitted (a new version of) job-rotation evidence."""

    occurred_at: datetime
    enrolment_id: str
    person_id: int
    program_id: str
    tier_id: str
    rotation_id: str
    submission_id: int
    number: int
    submitted_by_user_id: int


@dataclass(frozen=True)
class EvidenceGraded:
    """A rater graded a submission on the rotation's rubric (a revision each time)."""

    occurred_at: datetime
    enrolment_id: str
    person_id: int
    program_id: str
    tier_id: str
    rotation_id: str
    submission_id: int
    grade_id: int
    rater: str  # "primary" | "second"
    revision: int
    points: float
    max_points: float
    passed: bool
    grader_user_id: int


@dataclass(frozen=True)
class EvidenceReviewed:
    """A grader opened a submission (its statement id is per grader and submission)."""

    occurred_at: datetime
    enrolment_id: str
    person_id: int
    program_id: str
    tier_id: str
    rotation_id: str
    submission_id: int
    reviewer_user_id: int


@dataclass(frozen=True)
class BadgeIssued:
    """A signed Open Badges credential was issued for a completed tier."""

    occurred_at: datetime
    enrolment_id: str
    person_id: int
    program_id: str
    tier_id: str
    credential_id: str  # the credential's URL (its id)
    achievement_id: str
    achievement_name: str
