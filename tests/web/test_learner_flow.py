"""A learner launched from the LMS works through a tier; the instructor sees it."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from lti_tool.db.models import Attempt
from lti_tool.domain.events import (
    AssessmentAttempted,
    EligibilityDecided,
    ModuleCompleted,
    TierCompleted,
    TierStarted,
)
from lti_tool.runtime import runtime
from lti_tool.services.ports import RecordingEventSink
from tests.conftest import FakeClock
from tests.support.learner import (
    add_person,
    answer_test,
    launch,
    launch_id,
    only_enrolment,
)
from tests.support.platform import (
    INSTRUCTOR,
    LEARNER,
    SimulatedPlatform,
)
from tests.support.programs import install_program, small_program


@pytest.fixture
def events() -> RecordingEventSink:
    return RecordingEventSink()


@pytest.fixture
def app(make_app, events: RecordingEventSink) -> Flask:  # type: ignore[no-untyped-def]
    return make_app(EVENT_SINK=events)  # type: ignore[no-any-return]


def test_eligible_learner_is_auto_enrolled_and_completes_a_tier(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
    events: RecordingEventSink,
) -> None:
    install_program(app, tmp_path, small_program())
    add_person(app, months=14, review=2.6, email="ana.morales@example.com")
    home = launch(client, platform, clock, roles=LEARNER)
    assert "Test Career Path" in home
    assert "In progress" in home  # auto-enrolled in Tier One
    assert "take the pre-test" in home
    lid = launch_id(client)
    enrolment = only_enrolment(app)
    base = f"/learner/enrolments/{enrolment.id}/modules/basics"
    # Post-test before pre-test is refused with a reason.
    early = client.get(f"{base}/post?launch={lid}")
    assert early.status_code == 409
    assert "pre-test first" in early.get_data(as_text=True)
    pre = answer_test(client, f"{base}/pre?launch={lid}", right=4)
    assert "4 of 8 points" in pre
    again = client.get(f"{base}/pre?launch={lid}")
    assert again.status_code == 409  # one pre-test attempt
    study_first = client.get(f"{base}/post?launch={lid}")
    assert "module first" in study_first.get_data(as_text=True)
    csrf = re.findall(
        r'name="csrf_token" value="([^"]+)"',
        client.get(f"/learner/?launch={lid}").get_data(as_text=True),
    )[0]
    studied = client.post(f"{base}/studied", data={"csrf_token": csrf, "launch": lid})
    assert studied.status_code == 303
    failed = answer_test(client, f"{base}/post?launch={lid}", right=5)
    assert "Not passed yet" in failed
    passed = answer_test(client, f"{base}/post?launch={lid}", right=8)
    assert "Passed" in passed
    home = client.get(f"/learner/?launch={lid}").get_data(as_text=True)
    # Tier One complete; Tier Two started by auto-progression.
    assert "Complete" in home
    assert "Advanced" in home
    kinds = [type(e) for e in events.events]
    assert EligibilityDecided in kinds
    assert kinds.count(TierStarted) == 2
    assert kinds.count(AssessmentAttempted) == 3
    assert ModuleCompleted in kinds
    assert TierCompleted in kinds
    with runtime(app).session_factory() as session:
        attempts = session.scalars(sa.select(Attempt).order_by(Attempt.id)).all()
        assert [(a.kind, a.points, a.passed) for a in attempts] == [
            ("pre", 4, True),
            ("post", 5, False),
            ("post", 8, True),
        ]


def test_learner_sees_why_not_yet_eligible(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    install_program(app, tmp_path, small_program())
    add_person(app, months=5, review=2.0, email="ana.morales@example.com")
    home = launch(client, platform, clock, roles=LEARNER)
    assert "Not eligible yet" in home
    reasons = [r.strip() for r in re.findall(r"</span>\s*([^<]+?)\s*</li>", home)]
    assert "You have been with the company 5 months; this tier needs 6." in reasons
    assert any("this tier needs more than 2.0" in r for r in reasons), reasons
    assert "Locked" in home  # Tier Two needs Tier One
    assert "Start Tier One" not in home


def test_learner_without_hr_record_is_told_what_is_missing(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    install_program(app, tmp_path, small_program())
    home = launch(client, platform, clock, roles=LEARNER)
    assert "can't find your HR record" in home


def test_double_submit_of_an_attempt_is_scored_once(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    install_program(app, tmp_path, small_program())
    add_person(app, months=14, review=2.6, email="ana.morales@example.com")
    launch(client, platform, clock, roles=LEARNER)
    lid = launch_id(client)
    enrolment = only_enrolment(app)
    page = client.get(
        f"/learner/enrolments/{enrolment.id}/modules/basics/pre?launch={lid}"
    ).get_data(as_text=True)
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    assert action is not None
    fields = dict(re.findall(r'name="(csrf_token|launch)" value="([^"]+)"', page))
    assert client.post(action.group(1), data=fields).status_code == 303
    second = client.post(action.group(1), data=fields)
    assert second.status_code == 409
    assert "already submitted" in second.get_data(as_text=True)


def test_a_learner_cannot_open_another_learners_attempt(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    install_program(app, tmp_path, small_program())
    add_person(app, months=14, review=2.6, email="ana.morales@example.com")
    add_person(app, months=14, review=2.6, email="ben.okafor@example.com")
    launch(client, platform, clock, roles=LEARNER)
    lid = launch_id(client)
    enrolment = only_enrolment(app)
    client.get(f"/learner/enrolments/{enrolment.id}/modules/basics/pre?launch={lid}")
    other = app.test_client()
    other.environ_base.update(client.environ_base)
    launch(
        other,
        platform,
        clock,
        roles=LEARNER,
        sub="user-ben",
        email="ben.okafor@example.com",
        given_name="Ben",
        name="Ben Okafor",
    )
    other_lid = launch_id(other)
    with runtime(app).session_factory() as session:
        attempt_id = session.scalar(sa.select(Attempt.id))
    stolen = other.get(f"/learner/attempts/{attempt_id}?launch={other_lid}")
    assert stolen.status_code == 404
    foreign = other.get(
        f"/learner/enrolments/{enrolment.id}/modules/basics/pre?launch={other_lid}"
    )
    assert foreign.status_code == 404


def test_instructor_sees_cohort_exports_csv_and_signs_off_mentoring(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    install_program(app, tmp_path, small_program())
    add_person(app, months=14, review=2.6, email="ana.morales@example.com")
    add_person(app, months=3, review=2.9, email="ben.okafor@example.com")
    launch(client, platform, clock, roles=LEARNER)
    ben = app.test_client()
    ben.environ_base.update(client.environ_base)
    launch(
        ben,
        platform,
        clock,
        roles=LEARNER,
        sub="user-ben",
        email="ben.okafor@example.com",
        name="Ben Okafor",
    )
    teacher = app.test_client()
    teacher.environ_base.update(client.environ_base)
    page = launch(
        teacher,
        platform,
        clock,
        roles=INSTRUCTOR,
        sub="user-ines",
        email="ines@example.com",
        name="Ines Duarte",
    )
    assert "Ana Morales" in page
    assert "Ben Okafor" in page
    assert "You have been with the company 3 months; this tier needs 6." in page
    tlid = launch_id(teacher)
    exported = teacher.get(f"/instructor/cohort.csv?launch={tlid}")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert {r["learner"] for r in rows} == {"Ana Morales", "Ben Okafor"}
    ana_one = [r for r in rows if r["learner"] == "Ana Morales" and r["tier"] == "one"]
    assert ana_one[0]["tier_state"] == "in_progress"
    ben_one = [r for r in rows if r["learner"] == "Ben Okafor" and r["tier"] == "one"]
    assert ben_one[0]["eligible"] == "no"
    # A learner cannot open the cohort.
    lid = launch_id(client)
    assert client.get(f"/instructor/?launch={lid}").status_code == 403


def test_decisions_are_stored_with_inputs_and_rule_version(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    from lti_tool.db.models import EligibilityDecisionRecord

    install_program(app, tmp_path, small_program())
    add_person(app, months=5, review=2.5, email="ana.morales@example.com")
    launch(client, platform, clock, roles=LEARNER)
    with runtime(app).session_factory() as session:
        record = session.scalar(
            sa.select(EligibilityDecisionRecord).where(
                EligibilityDecisionRecord.tier_id == "one"
            )
        )
        assert record is not None
        assert record.eligible is False
        assert record.as_of == date.fromisoformat(clock().date().isoformat())
        assert record.rule_version
        assert record.decision["reasons"]
