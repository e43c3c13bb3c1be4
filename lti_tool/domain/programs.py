"""Programs as immutable values: tiers, learning modules, assessments, rotations.

A program file (docs/program-format.md) is parsed and validated into these
frozen dataclasses by `lti_tool.programs.loader`; nothing here does I/O. An
enrolment stays on the `ProgramVersion` it started with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class ItemKind(StrEnum):
    """How an assessment item is answered and scored."""

    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    TRUE_FALSE = "true_false"
    NUMERIC = "numeric"


@dataclass(frozen=True)
class Choice:
    """One option of a choice item."""

    id: str
    text: str


@dataclass(frozen=True)
class Item:
    """One question in the program's item bank.

    `correct` holds the ids of the correct choices (single/multiple choice) or
    "true"/"false" (true_false); numeric items use `answer` ± `tolerance`.
    Multiple-choice items score all-or-nothing unless `partial_credit`.
    """

    id: str
    kind: ItemKind
    prompt: str
    choices: tuple[Choice, ...] = ()
    correct: tuple[str, ...] = ()
    answer: float | None = None
    tolerance: float = 0.0
    points: float = 1.0
    partial_credit: bool = False
    explanation: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Form:
    """One form of an assessment: an ordered selection from the item bank."""

    id: str
    item_ids: tuple[str, ...]


class AssessmentKind(StrEnum):
    """Where an assessment sits around a learning module."""

    PRE = "pre"
    POST = "post"


@dataclass(frozen=True)
class Assessment:
    """A pre- or post-test: one or more parallel forms and its attempt policy.

    `pass_threshold` is a fraction of the maximum score (0.8 = 80 %); a pre-test
    has no pass mark that gates anything. `max_attempts` None means unlimited.
    """

    id: str
    kind: AssessmentKind
    forms: tuple[Form, ...]
    pass_threshold: float = 0.0
    max_attempts: int | None = None
    shuffle_items: bool = True
    shuffle_choices: bool = True
    time_limit_minutes: int | None = None


@dataclass(frozen=True)
class LearningModule:
    """A course or knowledge block with its pre-test and post-test."""

    id: str
    title: str
    description: str
    hours: float
    content_url: str | None
    pre_test: Assessment
    post_test: Assessment


class EvidenceType(StrEnum):
    """What a learner may submit as job-rotation evidence."""

    FILE = "file"
    LINK = "link"
    NOTE = "note"
    CALL_ID = "call_id"
    TICKET_ID = "ticket_id"


@dataclass(frozen=True)
class RubricLevel:
    """One performance level of a rubric criterion."""

    label: str
    points: float
    descriptor: str


@dataclass(frozen=True)
class RubricCriterion:
    """One criterion of a rotation rubric with its levels (low to high)."""

    id: str
    title: str
    levels: tuple[RubricLevel, ...]

    @property
    def max_points(self) -> float:
        return max(level.points for level in self.levels)


@dataclass(frozen=True)
class Rotation:
    """A job rotation: tasks shared with the supervisor, graded on a rubric."""

    id: str
    title: str
    description: str
    checklist: tuple[str, ...]
    rubric: tuple[RubricCriterion, ...]
    evidence_types: tuple[EvidenceType, ...]

    @property
    def max_points(self) -> float:
        return sum(criterion.max_points for criterion in self.rubric)


@dataclass(frozen=True)
class Requirement:
    """A completion requirement signed off by an instructor (e.g. mentoring).

    A placeholder until the feature that records it lands (mentoring).
    """

    id: str
    title: str
    description: str
    weeks: int | None = None


@dataclass(frozen=True)
class CompletionRule:
    """When a tier is complete: post-tests and rotations at their thresholds."""

    post_test_threshold: float
    rotation_threshold: float


class RuleKind(StrEnum):
    """Eligibility rule types (see lti_tool.domain.eligibility)."""

    MIN_TENURE_MONTHS = "min_tenure_months"
    HR_GOOD_STANDING = "hr_good_standing"
    MIN_REVIEW_SCORE = "min_review_score"
    KPI_QUARTILE = "kpi_quartile"
    KPI_AT_LEAST_AVERAGE = "kpi_at_least_average"
    KPI_MINIMUM = "kpi_minimum"


@dataclass(frozen=True)
class EligibilityRule:
    """One eligibility rule with its parameters, as written in the program file.

    Parameters by kind:
    - min_tenure_months: `months`
    - hr_good_standing: (none) no disciplinary action, no PIP
    - min_review_score: `above` (strictly greater), `scale` (e.g. 3.0)
    - kpi_quartile: `kpi`, `allowed_quartiles` (1 = top), `group_by`
      (subset of "site", "line_of_business"), period = latest period with data
    - kpi_at_least_average: `kpi`, `group_by` (e.g. ("site",)): the value must be
      at or above the group's mean for the period; `fallback_average` when the
      group is too small (< `min_group_size`)
    - kpi_minimum: `kpi`, `minimum`
    """

    id: str
    kind: RuleKind
    description: str = ""
    months: int | None = None
    above: float | None = None
    scale: float | None = None
    kpi: str | None = None
    allowed_quartiles: tuple[int, ...] = ()
    group_by: tuple[str, ...] = ()
    minimum: float | None = None
    fallback_average: float | None = None
    min_group_size: int = 4


@dataclass(frozen=True)
class Tier:
    """One tier of a program, in order; `prerequisites` are earlier tier ids."""

    id: str
    title: str
    description: str
    order: int
    prerequisites: tuple[str, ...]
    eligibility: tuple[EligibilityRule, ...]
    modules: tuple[LearningModule, ...]
    rotations: tuple[Rotation, ...]
    requirements: tuple[Requirement, ...]
    completion: CompletionRule
    skills: tuple[str, ...] = ()
    expiry_months: int | None = None
    move: str = "upward"  # "upward" or "lateral" (SQM)

    @property
    def hours(self) -> float:
        return sum(module.hours for module in self.modules)


@dataclass(frozen=True)
class Program:
    """A program version: its tiers and item bank.

    `auto_enrol`: a learner is enrolled in a tier as soon as they are eligible.
    `auto_progress`: completing a tier enrols the learner in the next one when
    eligible (Starwood's Auto Progression).
    """

    id: str
    version: str
    title: str
    description: str
    organisation: str
    duration_months: int | None
    tiers: tuple[Tier, ...]
    items: Mapping[str, Item] = field(default_factory=dict)
    auto_enrol: bool = True
    auto_progress: bool = False
    source: str = ""  # where it came from, e.g. the seed article

    def tier(self, tier_id: str) -> Tier:
        for tier in self.tiers:
            if tier.id == tier_id:
                return tier
        raise KeyError(tier_id)

    def module(self, module_id: str) -> tuple[Tier, LearningModule]:
        for tier in self.tiers:
            for module in tier.modules:
                if module.id == module_id:
                    return tier, module
        raise KeyError(module_id)

    @property
    def hours(self) -> float:
        return sum(tier.hours for tier in self.tiers)
