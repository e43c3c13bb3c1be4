"""Statements are built from plain data with deterministic ids and xAPI-valid shapes."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from xapi.statements import (
    Learner,
    ProgramContext,
    assessment_statement,
    module_completed_statement,
    statement_id,
    tier_completed_statement,
    tier_started_statement,
    to_json,
)
from xapi.vocabulary import PROFILE, Extension, Verb

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
