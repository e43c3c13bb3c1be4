"""What an instructor can place in a course by Deep Linking, and where each lands.

A placement is one of: the career path (the learner's home), a tier, a module
(graded on its post-test) or a job rotation (graded on its rubric). Graded
placements carry the line item the gradebook poster later finds by the same
resourceId and tag, so a placed column and the scores meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from lti_tool.db.models import ProgramVersion
from lti_tool.domain.programs import Assessment, Program
from lti_tool.services.programs import program_of


@dataclass(frozen=True)
class GradeColumn:
    """The LMS gradebook column a placement creates (AGS line item)."""

    resource_id: str
    tag: str
    label: str
    score_maximum: float


@dataclass(frozen=True)
class Placement:
    """One placeable item: its key, what the picker shows, where it lands."""

    key: str
    kind: str  # career-path | badges | tier | module | rotation
    title: str
    text: str
    path: str
    program_id: str | None = None
    column: GradeColumn | None = None
    group: str = ""


def _max_points(assessment: Assessment, program: Program) -> float:
    form = assessment.forms[0]
    return float(sum(program.items[item_id].points for item_id in form.item_ids))


def _segment(value: str) -> str:
    return quote(value, safe="")


def placements(versions: list[ProgramVersion]) -> list[Placement]:
    """Every placement for the programs a course offers, in program order."""
    found = [
        Placement(
            "career-path",
            "career-path",
            "My career path",
            "Each learner's programs, eligibility and next step.",
            "/home",
        ),
        Placement(
            "badges",
            "badges",
            "My badges",
            "Each learner's earned badges: downloads, LinkedIn, a page to share.",
            "/place/badges",
        ),
    ]
    for version in versions:
        program = program_of(version)
        group = program.title
        for tier in program.tiers:
            base = f"{_segment(program.id)}/{_segment(tier.id)}"
            found.append(
                Placement(
                    f"tier:{program.id}:{tier.id}",
                    "tier",
                    f"{tier.title}",
                    f"The tier's modules, rotations and progress ({program.title}).",
                    f"/place/tier/{base}",
                    program.id,
                    group=group,
                )
            )
            for module in tier.modules:
                found.append(
                    Placement(
                        f"module:{program.id}:{tier.id}:{module.id}",
                        "module",
                        f"{module.title}",
                        f"Module of {tier.title}: pre-test, content, post-test"
                        " (graded on the post-test).",
                        f"/place/module/{base}/{_segment(module.id)}",
                        program.id,
                        GradeColumn(
                            f"{program.id}/{tier.id}/{module.id}/post",
                            "post-test",
                            f"{module.title}: post-test",
                            _max_points(module.post_test, program),
                        ),
                        group,
                    )
                )
            for rotation in tier.rotations:
                found.append(
                    Placement(
                        f"rotation:{program.id}:{tier.id}:{rotation.id}",
                        "rotation",
                        f"Job rotation: {rotation.title}",
                        f"Evidence for {tier.title}, graded on the rotation's rubric.",
                        f"/place/rotation/{base}/{_segment(rotation.id)}",
                        program.id,
                        GradeColumn(
                            f"{program.id}/{tier.id}/rotation/{rotation.id}",
                            "rotation",
                            f"Job rotation: {rotation.title}",
                            rotation.max_points,
                        ),
                        group,
                    )
                )
    return found
