"""The shipped programs run for the demo users, launched from the development LMS."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lti_tool.runtime import runtime
from lti_tool.services.demo_data import write_demo_people
from lti_tool.services.programs import load_program
from tests.support.browser import Browser
from tests.support.live import LiveStack

pytestmark = pytest.mark.e2e
PROGRAMS = sorted((Path(__file__).parents[2] / "config" / "programs").glob("*.toml"))


@pytest.fixture
def seeded(stack: LiveStack) -> LiveStack:
    rt = runtime(stack.tool)
    now = datetime.now(UTC)
    with rt.session_factory() as session:
        for path in PROGRAMS:
            load_program(session, path, now)
        write_demo_people(session, 400, now)
        session.commit()
    return stack


def test_demo_learners_see_their_programs_and_why(seeded: LiveStack) -> None:
    ana = Browser().open(f"{seeded.lms_url}/launch/rl-career-path?user=learner1")
    assert urlsplit(ana.url).path == "/learner/"
    for title in (
        "STEP: Succeed, Transform, Elevate, Prepare",
        "Leadership Intern Program",
        "CSR Career Path: Call-Type Knowledge Blocks",
    ):
        assert title in ana.text
    assert "In progress" in ana.text  # auto-enrolled in STEP Tier 1
    assert "Take the pre-test" in ana.text
    ben = Browser().open(f"{seeded.lms_url}/launch/rl-career-path?user=learner2")
    assert "Not eligible yet" in ben.text
    assert "third quartile" in ben.text  # SQM: call resolution quartile, in plain words
    assert "this tier needs 6" in ben.text  # STEP: tenure


def test_instructor_sees_the_cohort_of_launched_learners(seeded: LiveStack) -> None:
    for user in ("learner1", "learner2"):
        Browser().open(f"{seeded.lms_url}/launch/rl-career-path?user={user}")
    page = Browser().open(f"{seeded.lms_url}/launch/rl-career-path?user=instructor")
    assert urlsplit(page.url).path == "/instructor/"
    assert "Ana Morales" in page.text
    assert "Ben Okafor" in page.text
