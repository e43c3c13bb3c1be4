"""The fast statement builders equal the tincan build, byte for byte (key order included)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xapi.statements import (
    Learner,
    ProgramContext,
    assessment_statement,
    assessment_statement_json,
    statement_id,
    to_json,
)

CTX = ProgramContext(
    base="https://tool.example.com",
    registration="3b241101-e2bb-4255-8caf-4136c566a962",
    program_id="partnerhero-step",
    program_title="STEP",
    program_version="2024.1",
    tier_id="foundation",
    tier_title="Tier 1: Foundation",
)


def _both(**kwargs: Any) -> tuple[str, str]:
    reference = json.dumps(to_json(assessment_statement(**kwargs)))
    fast = json.dumps(assessment_statement_json(**kwargs))
    return reference, fast


@pytest.mark.parametrize("phase", ["pre", "post"])
@pytest.mark.parametrize("passed", [True, False])
@pytest.mark.parametrize(
    "gain", [None, (0.25, 0.5), (-0.123456, None), (0.1, -0.33333)]
)
@pytest.mark.parametrize("pre", [None, statement_id("attempt", "3")])
@pytest.mark.parametrize(
    ("points", "max_points"), [(6, 8), (0, 8), (8, 8), (2.5, 7.0), (0, 0)]
)
def test_assessment_json_equals_the_tincan_statement(
    phase: str,
    passed: bool,
    gain: tuple[float, float | None] | None,
    pre: str | None,
    points: float,
    max_points: float,
) -> None:
    reference, fast = _both(
        learner=Learner("https://lms.example.com", "sub-42"),
        ctx=CTX,
        module_id="business-model",
        module_title="Business Model",
        phase=phase,
        attempt_id=7,
        attempt_number=2,
        form_id="A",
        points=points,
        max_points=max_points,
        passed=passed,
        timestamp=datetime(
            2026, 11, 23, 9, 30, 1, 250, tzinfo=timezone(timedelta(hours=2))
        ),
        pre_test_statement=pre,
        gain=gain,
    )
    assert fast == reference


@settings(max_examples=200, deadline=None)
@given(
    sub=st.text(min_size=1, max_size=20),
    title=st.text(min_size=1, max_size=30),
    form=st.text(max_size=10),
    language=st.sampled_from(["en", "en-US", "de", "es-419"]),
    platform=st.sampled_from(["tierpath", ""]),
    attempt_id=st.integers(min_value=1, max_value=2**62),
    attempt_number=st.integers(min_value=1, max_value=50),
    points=st.integers(min_value=0, max_value=100),
    extra=st.integers(min_value=0, max_value=100),
    passed=st.booleans(),
    phase=st.sampled_from(["pre", "post"]),
    gain=st.none()
    | st.tuples(
        st.floats(-1, 1, allow_nan=False), st.none() | st.floats(-5, 1, allow_nan=False)
    ),
    micros=st.integers(min_value=0, max_value=999_999),
)
def test_assessment_json_equals_the_tincan_statement_for_any_input(
    sub: str,
    title: str,
    form: str,
    language: str,
    platform: str,
    attempt_id: int,
    attempt_number: int,
    points: int,
    extra: int,
    passed: bool,
    phase: str,
    gain: tuple[float, float | None] | None,
    micros: int,
) -> None:
    ctx = ProgramContext(
        base="https://tool.example.com",
        registration="0b9d3c52-7f14-4b8e-a1c5-4a0c2f1e9d10",
        program_id="p",
        program_title=title,
        program_version="v" + form,
        tier_id="t",
        tier_title=title,
        platform=platform,
        language=language,
    )
    reference, fast = _both(
        learner=Learner("https://lms.example.com", sub),
        ctx=ctx,
        module_id="m",
        module_title=title,
        phase=phase,
        attempt_id=attempt_id,
        attempt_number=attempt_number,
        form_id=form,
        points=points,
        max_points=points + extra,
        passed=passed,
        timestamp=datetime(2026, 1, 2, 3, 4, 5, micros, tzinfo=UTC),
        pre_test_statement=statement_id("attempt", str(attempt_id - 1)),
        gain=gain,
    )
    assert fast == reference


def test_assessment_json_refuses_what_the_tincan_build_refuses() -> None:
    common: dict[str, Any] = {
        "learner": Learner("https://lms.example.com", "s"),
        "module_id": "m",
        "module_title": "M",
        "attempt_id": 1,
        "attempt_number": 1,
        "form_id": "A",
        "points": 1,
        "max_points": 2,
        "passed": True,
        "timestamp": datetime(2026, 1, 1, tzinfo=UTC),
    }
    for build in (assessment_statement, assessment_statement_json):
        with pytest.raises(ValueError, match="phase"):
            build(ctx=CTX, phase="mid", **common)
        naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the case under test
        with pytest.raises(ValueError, match="timezone"):
            build(ctx=CTX, phase="pre", **{**common, "timestamp": naive})
        bad = ProgramContext(**{**CTX.__dict__, "registration": "not-a-uuid"})
        with pytest.raises(ValueError, match="UUID"):
            build(ctx=bad, phase="pre", **common)
        with pytest.raises(ValueError, match="regional identifier"):
            build(
                ctx=ProgramContext(**{**CTX.__dict__, "language": "??"}),
                phase="pre",
                **common,
            )
