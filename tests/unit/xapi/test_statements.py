"""Statements are built from plain data with deterministic ids and xAPI-valid shapes."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from ralph.models.xapi.base.statements import (  # type: ignore[import-untyped, unused-ignore]
    BaseXapiStatement,
)

from xapi.statements import (
    RESPONSE_LIMIT,
    EvidenceFile,
    Learner,
    ProgramContext,
    assessment_statement,
    badge_earned_statement,
    evidence_graded_statement,
    evidence_submitted_statement,
    module_completed_statement,
    requirement_completed_statement,
    statement_id,
    tier_completed_statement,
    tier_started_statement,
    to_json,
    voiding_statement,
)
from xapi.vocabulary import PROFILE, ActivityType, AttachmentUsage, Extension, Verb

LEARNER = Learner("https://lms.example.com", "sub-42")
CTX = ProgramContext(
    base="https://tool.example.com",
    registration="3b241101-e2bb-4255-8caf-4136c566a962",
    program_id="partnerhero-step",
    program_title="STEP",
    program_version="2024.1",
    tier_id="foundation",
    tier_title="Tier 1: Foundation",
)
WHEN = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$")


def attempt(phase: str, *, passed: bool = True, **extra: Any) -> dict[str, Any]:
    return to_json(
        assessment_statement(
            learner=LEARNER,
            ctx=CTX,
            module_id="business-model",
            module_title="Business Model",
            phase=phase,
            attempt_id=7,
            attempt_number=1,
            form_id="A",
            points=6,
            max_points=8,
            passed=passed,
            timestamp=WHEN,
            **extra,
        )
    )


def assert_valid_core(data: dict[str, Any]) -> None:
    """Check the xAPI 1.0.3 rules a provider controls (Data 2.4)."""
    uuid.UUID(data["id"])
    assert "version" not in data  # set by the LRS, not by us
    assert data["actor"] == {
        "objectType": "Agent",
        "account": {"homePage": LEARNER.home_page, "name": LEARNER.name},
    }  # pseudonymous: no name, no mbox
    assert data["verb"]["id"].startswith(("http://", "https://"))
    assert ISO.match(data["timestamp"])
    context = data["context"]
    uuid.UUID(context["registration"])
    activities = context["contextActivities"]
    for key in activities:
        assert key in ("parent", "grouping", "category", "other")
        assert isinstance(activities[key], list)  # arrays, as 2.0 consumers expect
    assert {"id": PROFILE, "objectType": "Activity"} in activities["category"]
    score = data.get("result", {}).get("score")
    if score:
        assert score["min"] < score["max"]
        assert score["min"] <= score["raw"] <= score["max"]
        assert -1 <= score["scaled"] <= 1


def test_pre_test_is_scored_with_a_score_and_no_success() -> None:
    data = attempt("pre")
    assert_valid_core(data)
    assert data["verb"]["id"] == Verb.SCORED
    assert data["result"]["score"] == {
        "scaled": 0.75,
        "raw": 6.0,
        "min": 0.0,
        "max": 8.0,
    }
    assert "success" not in data["result"]
    assert data["object"]["id"].endswith("/modules/business-model/pre-test")
    assert data["context"]["extensions"][Extension.ASSESSMENT_PHASE] == "pre"


@pytest.mark.parametrize(
    ("passed", "verb"), [(True, Verb.PASSED), (False, Verb.FAILED)]
)
def test_post_test_passes_or_fails_and_points_at_its_pre_test(
    passed: bool, verb: str
) -> None:
    pre_id = statement_id("attempt", "6")
    data = attempt("post", passed=passed, pre_test_statement=pre_id, gain=(0.25, 0.5))
    assert_valid_core(data)
    assert data["verb"]["id"] == verb
    assert data["result"]["success"] is passed
    assert data["context"]["statement"] == {"objectType": "StatementRef", "id": pre_id}
    assert data["result"]["extensions"][Extension.NORMALISED_GAIN] == 0.5


def test_ids_are_deterministic_per_source_record_and_revision() -> None:
    assert attempt("pre")["id"] == attempt("pre")["id"]
    assert statement_id("attempt", "7") != statement_id("attempt", "8")
    assert statement_id("attempt", "7", 1) != statement_id("attempt", "7", 2)


def test_timestamps_are_utc_and_naive_times_are_refused() -> None:
    local = WHEN.astimezone(timezone(timedelta(hours=-6)))
    data = to_json(tier_completed_statement(learner=LEARNER, ctx=CTX, timestamp=local))
    assert data["timestamp"].startswith("2026-11-23T09:30:00")
    with pytest.raises(ValueError, match="timezone-aware"):
        tier_completed_statement(
            learner=LEARNER, ctx=CTX, timestamp=WHEN.replace(tzinfo=None)
        )


def test_module_tier_and_enrolment_statements() -> None:
    module = to_json(
        module_completed_statement(
            learner=LEARNER,
            ctx=CTX,
            module_id="business-model",
            module_title="Business Model",
            timestamp=WHEN,
        )
    )
    tier = to_json(tier_completed_statement(learner=LEARNER, ctx=CTX, timestamp=WHEN))
    started = to_json(
        tier_started_statement(
            learner=LEARNER, ctx=CTX, reason="eligible", timestamp=WHEN
        )
    )
    for data in (module, tier, started):
        assert_valid_core(data)
    assert module["verb"]["id"] == Verb.COMPLETED
    assert module["context"]["contextActivities"]["parent"][0]["id"].endswith(
        "/tiers/foundation"
    )
    assert tier["verb"]["id"] == Verb.SATISFIED
    assert tier["result"] == {"success": True, "completion": True}
    assert started["verb"]["id"] == Verb.REGISTERED
    assert len({module["id"], tier["id"], started["id"]}) == 3


def test_unknown_phase_is_refused() -> None:
    with pytest.raises(ValueError, match="pre or post"):
        attempt("mid")


# -- requirements, rotation evidence, badges, voiding ---------------------------

INSTRUCTOR = Learner("https://lms.example.com", "sub-7")
REPORT = EvidenceFile(
    filename="report.xlsx",
    content_type="application/vnd.ms-excel",
    length=1234,
    sha256=hashlib.sha256(b"report").hexdigest(),
    display_name="Daily report",
)
NOTES = EvidenceFile(
    filename="notes.pdf",
    content_type="application/pdf",
    length=99,
    sha256=hashlib.sha256(b"notes").hexdigest(),
    display_name="",
)


def instructor_json(who: Learner) -> dict[str, Any]:
    return {
        "objectType": "Agent",
        "account": {"homePage": who.home_page, "name": who.name},
    }


def submitted(
    revision: int = 1,
    *,
    evidence: Sequence[EvidenceFile] = (REPORT, NOTES),
    text: str | None = "Built the daily report.",
) -> dict[str, Any]:
    return to_json(
        evidence_submitted_statement(
            learner=LEARNER,
            ctx=CTX,
            rotation_id="reporting",
            rotation_title="Reporting",
            submission_id=31,
            revision=revision,
            evidence=evidence,
            text=text,
            timestamp=WHEN,
        )
    )


def graded(
    grade_revision: int = 1,
    *,
    passed: bool | None = True,
    criteria: Mapping[str, float] | None = None,
    feedback: str | None = "Figures reconcile.",
    points: float = 7,
) -> dict[str, Any]:
    return to_json(
        evidence_graded_statement(
            learner=LEARNER,
            ctx=CTX,
            rotation_id="reporting",
            rotation_title="Reporting",
            submission_id=31,
            revision=2,
            grade_id=12,
            grade_revision=grade_revision,
            grader=INSTRUCTOR,
            points=points,
            max_points=9,
            passed=passed,
            criteria=criteria,
            feedback=feedback,
            submitted_statement_id=statement_id("evidence", "31", 2),
            timestamp=WHEN,
        )
    )


def badge() -> dict[str, Any]:
    return to_json(
        badge_earned_statement(
            learner=LEARNER,
            ctx=CTX,
            achievement_id="https://tool.example.com/badges/step/foundation",
            achievement_name="STEP Foundation",
            credential_id="urn:uuid:6e1c9a44-0b2f-4d8e-a7c3-51f0d2b9e8a6",
            timestamp=WHEN,
        )
    )


def signoff(signoff_id: int = 5) -> dict[str, Any]:
    return to_json(
        requirement_completed_statement(
            learner=LEARNER,
            ctx=CTX,
            requirement_id="mentoring",
            requirement_title="12-week mentoring",
            signoff_id=signoff_id,
            signed_by=INSTRUCTOR,
            timestamp=WHEN,
        )
    )


def voided(target: str) -> dict[str, Any]:
    return to_json(
        voiding_statement(
            voided_statement_id=target,
            actor=INSTRUCTOR,
            timestamp=WHEN,
            reason_source="grade:12:2",
        )
    )


def test_requirement_sign_off_is_completed_with_the_signer_as_instructor() -> None:
    data = signoff()
    assert_valid_core(data)
    assert data["id"] == statement_id("signoff", "5")
    assert data["id"] != signoff(6)["id"]
    assert data["verb"]["id"] == Verb.COMPLETED
    assert data["object"]["id"] == (
        "https://tool.example.com/programs/partnerhero-step/tiers/foundation"
        "/requirements/mentoring"
    )
    assert data["object"]["definition"]["type"] == ActivityType.REQUIREMENT
    activities = data["context"]["contextActivities"]
    assert [a["id"] for a in activities["parent"]] == [CTX.tier_iri()]
    assert [a["id"] for a in activities["grouping"]] == [CTX.program_iri()]
    assert data["context"]["instructor"] == instructor_json(INSTRUCTOR)
    assert data["result"] == {"completion": True}


def test_evidence_submission_describes_each_file_as_an_attachment() -> None:
    data = submitted()
    assert_valid_core(data)
    assert data["verb"] == {
        "id": Verb.SUBMITTED,
        "display": {"en-US": "submitted"},
    }
    assert data["object"]["id"] == (
        "https://tool.example.com/programs/partnerhero-step/rotations/reporting"
        "/evidence/31"
    )
    assert data["object"]["definition"]["type"] == ActivityType.DOCUMENT
    activities = data["context"]["contextActivities"]
    assert activities["parent"][0]["id"] == CTX.rotation_iri("reporting")
    assert activities["parent"][0]["definition"]["type"] == ActivityType.JOB_ROTATION
    assert [a["id"] for a in activities["grouping"]] == [
        CTX.program_iri(),
        CTX.tier_iri(),
    ]
    assert data["context"]["extensions"][Extension.REVISION] == 1
    assert data["attachments"] == [
        {
            "usageType": AttachmentUsage.SUPPORTING_MEDIA,
            "display": {"en": "Daily report"},
            "contentType": "application/vnd.ms-excel",
            "length": 1234,
            "sha2": hashlib.sha256(b"report").hexdigest(),
        },
        {
            "usageType": AttachmentUsage.SUPPORTING_MEDIA,
            "display": {"en": "notes.pdf"},  # no display name: the file name
            "contentType": "application/pdf",
            "length": 99,
            "sha2": hashlib.sha256(b"notes").hexdigest(),
        },
    ]  # no fileUrl: the bytes travel as multipart parts
    assert data["result"] == {"response": "Built the daily report."}


def test_evidence_ids_are_deterministic_and_distinct_per_revision() -> None:
    assert submitted(1)["id"] == statement_id("evidence", "31", 1)
    assert submitted(1)["id"] == submitted(1)["id"]
    assert submitted(1)["id"] != submitted(2)["id"]
    # attachments are not part of a statement's identity
    assert submitted(1, evidence=())["id"] == submitted(1)["id"]


def test_evidence_without_files_or_text_has_no_attachments_or_result() -> None:
    data = submitted(evidence=(), text="   ")
    assert_valid_core(data)
    assert "attachments" not in data
    assert "result" not in data
    BaseXapiStatement(**data)


def test_long_evidence_text_is_cut_to_the_response_limit() -> None:
    response = submitted(text="x" * (RESPONSE_LIMIT + 50))["result"]["response"]
    assert len(response) == RESPONSE_LIMIT
    assert response.endswith("…")
    assert submitted(text=" short ")["result"]["response"] == "short"


@pytest.mark.parametrize(
    ("sha256", "length", "content_type", "problem"),
    [
        ("ABC", 1, "text/plain", "sha256"),
        (hashlib.sha256(b"x").hexdigest().upper(), 1, "text/plain", "sha256"),
        (hashlib.sha256(b"x").hexdigest(), -1, "text/plain", "length"),
        (hashlib.sha256(b"x").hexdigest(), 1, "", "content_type"),
    ],
)
def test_evidence_file_descriptions_are_checked(
    sha256: str, length: int, content_type: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        EvidenceFile("f", content_type, length, sha256, "f")


@pytest.mark.parametrize(
    ("passed", "verb"),
    [(None, Verb.SCORED), (True, Verb.PASSED), (False, Verb.FAILED)],
)
def test_grade_verb_follows_the_pass_mark(passed: bool | None, verb: str) -> None:
    data = graded(passed=passed)
    assert_valid_core(data)
    assert data["verb"]["id"] == verb
    assert data["result"].get("success") is passed
    BaseXapiStatement(**data)


def test_grade_points_at_the_submission_and_names_the_grader() -> None:
    data = graded(criteria={"accuracy": 3, "completeness": 2, "summary": 2})
    assert data["id"] == statement_id("grade", "12", 1)
    assert data["object"]["id"] == submitted()["object"]["id"]
    assert data["context"]["instructor"] == instructor_json(INSTRUCTOR)
    assert data["context"]["statement"] == {
        "objectType": "StatementRef",
        "id": statement_id("evidence", "31", 2),
    }
    assert data["context"]["extensions"][Extension.REVISION] == 2
    assert data["result"]["score"] == {
        "scaled": 0.7778,
        "raw": 7.0,
        "min": 0.0,
        "max": 9.0,
    }
    assert data["result"]["response"] == "Figures reconcile."
    assert data["result"]["extensions"] == {
        Extension.RUBRIC_SCORES: {"accuracy": 3.0, "completeness": 2.0, "summary": 2.0}
    }
    assert "extensions" not in graded()["result"]
    assert "response" not in graded(feedback="")["result"]


def test_grade_ids_are_distinct_per_grade_revision() -> None:
    assert graded(1)["id"] == graded(1)["id"]
    assert graded(1)["id"] != graded(2)["id"]
    assert graded(2)["id"] == statement_id("grade", "12", 2)


@pytest.mark.parametrize("points", [-1, 10])
def test_grade_points_must_lie_within_the_maximum(points: float) -> None:
    with pytest.raises(ValueError, match="points"):
        graded(points=points)


def test_badge_is_earned_under_the_tier_with_its_credential_id() -> None:
    data = badge()
    assert_valid_core(data)
    credential = "urn:uuid:6e1c9a44-0b2f-4d8e-a7c3-51f0d2b9e8a6"
    assert data["id"] == statement_id("badge", credential)
    assert data["verb"]["id"] == Verb.EARNED
    assert data["object"]["id"] == "https://tool.example.com/badges/step/foundation"
    assert data["object"]["definition"]["type"] == ActivityType.BADGE
    parent = data["context"]["contextActivities"]["parent"]
    assert [a["id"] for a in parent] == [CTX.tier_iri()]
    assert data["result"]["extensions"] == {Extension.CREDENTIAL_ID: credential}


def test_voiding_statement_refers_to_the_voided_statement() -> None:
    target = graded(1)["id"]
    data = voided(target)
    assert data["id"] == statement_id("void", target)
    assert data["id"] == voided(target)["id"]
    assert data["id"] != voided(graded(2)["id"])["id"]
    assert "version" not in data
    assert ISO.match(data["timestamp"])
    assert data["actor"] == instructor_json(INSTRUCTOR)
    assert data["verb"]["id"] == Verb.VOIDED
    assert data["object"] == {"objectType": "StatementRef", "id": target}
    context = data["context"]
    # the object is not an activity: no registration, platform or revision
    assert not {"registration", "platform", "revision"} & context.keys()
    assert context["extensions"] == {Extension.REASON_SOURCE: "grade:12:2"}
    BaseXapiStatement(**data)


def test_new_statements_have_no_version_and_utc_timestamps() -> None:
    local = WHEN.astimezone(timezone(timedelta(hours=8)))
    for data in (signoff(), submitted(), graded(), badge(), voided(graded()["id"])):
        assert "version" not in data
        assert ISO.match(data["timestamp"])
        assert datetime.fromisoformat(data["timestamp"]) == WHEN
    data = to_json(
        voiding_statement(
            voided_statement_id=graded()["id"],
            actor=INSTRUCTOR,
            timestamp=local,
            reason_source="grade:12:2",
        )
    )
    assert data["timestamp"].startswith("2026-11-23T09:30:00")
    ids = {
        d["id"]
        for d in (signoff(), submitted(), graded(), badge(), voided(graded()["id"]))
    }
    assert len(ids) == 5
