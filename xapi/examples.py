"""The example statements of docs/xapi-profile.md, built by the real builders.

One example per event, from fixed inputs, so the profile's examples are what
tierpath sends. `tests/unit/xapi/test_profile_examples.py` checks the document
against `examples()`; after a deliberate change to a builder, regenerate the
blocks with `python -m xapi.examples` and paste them into the document.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Final

from xapi.statements import (
    EvidenceFile,
    Learner,
    ProgramContext,
    assessment_statement,
    badge_earned_statement,
    evidence_graded_statement,
    evidence_reviewed_statement,
    evidence_submitted_statement,
    module_completed_statement,
    requirement_completed_statement,
    statement_id,
    tier_completed_statement,
    tier_started_statement,
    to_json,
    voiding_statement,
)

# Every event the profile defines, in the document's order.
EVENTS: Final = (
    "tier-started",
    "pre-test-scored",
    "post-test-passed",
    "post-test-failed",
    "module-completed",
    "requirement-signed-off",
    "tier-completed",
    "evidence-submitted",
    "evidence-graded",
    "evidence-reviewed",
    "badge-earned",
    "voided",
)

BASE: Final = "https://tierpath.example.com"
ISSUER: Final = "https://lms.example.edu"
LEARNER: Final = Learner(ISSUER, "a6d5c443-1f51-4783-ba1a-7686ffe3b54a")
INSTRUCTOR: Final = Learner(ISSUER, "0f9e27c1-83b4-4d6a-9b55-2e7c1d40a8f3")

# Alorica's Leadership Intern Program: modules and a signed-off requirement.
LIP: Final = ProgramContext(
    base=BASE,
    registration="3b241101-e2bb-4255-8caf-4136c566a962",
    program_id="alorica-lip",
    program_title="Leadership Intern Program",
    program_version="2011.1",
    tier_id="leadership-intern",
    tier_title="Leadership Intern",
)
# PartnerHero STEP, tier 1: job rotations graded on a rubric.
STEP: Final = ProgramContext(
    base=BASE,
    registration="9a2f6c1e-4b7d-4e0a-8f31-5c6d7e8f9a0b",
    program_id="partnerhero-step",
    program_title="STEP: Succeed, Transform, Elevate, Prepare",
    program_version="2024.1",
    tier_id="foundation",
    tier_title="Tier 1: Foundation",
)

MODULE: Final = ("manager-roles", "A Team Manager's Roles and Responsibilities")
ROTATION: Final = ("reporting", "Reporting")
REPORT: Final = EvidenceFile(
    filename="daily-ops-report-2026-03-02.xlsx",
    content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    length=48213,
    sha256="5d41f1c7c8a3b6e0f2d49a7e1b3c5d7f9a1b2c3d4e5f60718293a4b5c6d7e8f9",
    display_name="Daily operations report, 2 March",
)
CHECKLIST: Final = EvidenceFile(
    filename="reporting-checklist.pdf",
    content_type="application/pdf",
    length=91544,
    sha256="e3b98a4c1f2d5e6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c",
    display_name="Reporting checklist, signed",
)


def _at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def examples() -> dict[str, dict[str, Any]]:
    """Return {event name: statement JSON} for every event in `EVENTS`."""
    module_id, module_title = MODULE
    rotation_id, rotation_title = ROTATION
    pre_test = statement_id("attempt", "101")

    def attempt(
        phase: str, attempt_id: int, number: int, points: float, passed: bool, **kw: Any
    ) -> dict[str, Any]:
        return to_json(
            assessment_statement(
                learner=LEARNER,
                ctx=LIP,
                module_id=module_id,
                module_title=module_title,
                phase=phase,
                attempt_id=attempt_id,
                attempt_number=number,
                form_id="A" if phase == "pre" else "B",
                points=points,
                max_points=8,
                passed=passed,
                **kw,
            )
        )

    submitted = evidence_submitted_statement(
        learner=LEARNER,
        ctx=STEP,
        rotation_id=rotation_id,
        rotation_title=rotation_title,
        submission_id=31,
        revision=1,
        evidence=(REPORT, CHECKLIST),
        text="Built the 2 March daily report from the WFM export; checked the "
        "handled-call totals against the ACD summary before sending it.",
        timestamp=_at(3, 3, 16, 20),
    )
    graded = evidence_graded_statement(
        learner=LEARNER,
        ctx=STEP,
        rotation_id=rotation_id,
        rotation_title=rotation_title,
        submission_id=31,
        revision=1,
        grade_id=12,
        grade_revision=1,
        grader=INSTRUCTOR,
        points=7,
        max_points=9,
        passed=True,
        criteria={"accuracy": 3, "completeness": 2, "summary": 2},
        levels={"accuracy": "Exceeds", "completeness": "Meets", "summary": "Meets"},
        feedback="Figures reconcile; send the summary before the 10:00 huddle.",
        submitted_statement_id=str(submitted.id),
        timestamp=_at(3, 5, 10, 45),
    )
    reviewed = evidence_reviewed_statement(
        reviewer=INSTRUCTOR,
        ctx=STEP,
        rotation_id=rotation_id,
        rotation_title=rotation_title,
        submission_id=31,
        revision=1,
        submitted_statement_id=str(submitted.id),
        timestamp=_at(3, 5, 10, 30),
    )
    built = {
        "tier-started": to_json(
            tier_started_statement(
                learner=LEARNER, ctx=LIP, reason="eligible", timestamp=_at(1, 12, 14)
            )
        ),
        "pre-test-scored": attempt(
            "pre", 101, 1, 3, False, timestamp=_at(1, 19, 15, 5)
        ),
        "post-test-failed": attempt(
            "post",
            102,
            1,
            4,
            False,
            timestamp=_at(1, 26, 15, 40),
            pre_test_statement=pre_test,
            gain=(0.125, 0.2),
        ),
        "post-test-passed": attempt(
            "post",
            103,
            2,
            7,
            True,
            timestamp=_at(2, 2, 15, 30),
            pre_test_statement=pre_test,
            gain=(0.5, 0.8),
        ),
        "module-completed": to_json(
            module_completed_statement(
                learner=LEARNER,
                ctx=LIP,
                module_id=module_id,
                module_title=module_title,
                timestamp=_at(2, 2, 15, 30),
            )
        ),
        "requirement-signed-off": to_json(
            requirement_completed_statement(
                learner=LEARNER,
                ctx=LIP,
                requirement_id="mentoring",
                requirement_title="12-week mentoring",
                signoff_id=5,
                signed_by=INSTRUCTOR,
                timestamp=_at(4, 13, 9),
            )
        ),
        "tier-completed": to_json(
            tier_completed_statement(learner=LEARNER, ctx=LIP, timestamp=_at(4, 13, 9))
        ),
        "evidence-submitted": to_json(submitted),
        "evidence-graded": to_json(graded),
        "evidence-reviewed": to_json(reviewed),
        "badge-earned": to_json(
            badge_earned_statement(
                learner=LEARNER,
                ctx=LIP,
                achievement_id=f"{BASE}/achievements/alorica-lip/leadership-intern",
                achievement_name="Alorica Leadership Intern Program: Leadership Intern",
                credential_id=f"{BASE}/credentials/6e1c9a44-0b2f-4d8e-a7c3-51f0d2b9e8a6",
                timestamp=_at(4, 13, 9, 1),
            )
        ),
        "voided": to_json(
            voiding_statement(
                voided_statement_id=str(graded.id),
                actor=INSTRUCTOR,
                timestamp=_at(3, 6, 8, 15),
                reason_source="grade:12:2",
            )
        ),
    }
    return {name: built[name] for name in EVENTS}


_ORDER: Final = (
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "attachments",
)


def markdown(name: str, statement: dict[str, Any]) -> str:
    """The document's block for one example: a marker line and a json fence."""
    ordered: dict[str, Any] = {k: statement[k] for k in _ORDER if k in statement}
    ordered.update(statement)  # anything else keeps its place after these
    body = json.dumps(ordered, indent=2, ensure_ascii=False)
    return f"<!-- example: {name} -->\n```json\n{body}\n```"


def main() -> None:
    for name, statement in examples().items():
        print(markdown(name, statement))
        print()


if __name__ == "__main__":
    main()
