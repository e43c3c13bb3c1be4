"""Every learning event becomes a statement, written with the change that caused it."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from ralph.models.xapi.base.statements import BaseXapiStatement
from sqlalchemy import orm

from lti_tool.db.models import (
    Attempt,
    Enrolment,
    OutboxEntry,
    Person,
    StoredStatement,
)
from lti_tool.runtime import runtime
from lti_tool.services import xapi_outbox
from lti_tool.services.assessments import AttemptRefused, submit_attempt
from lti_tool.services.xapi_recorder import NewStatement, store_statements
from tests.conftest import FakeClock
from tests.support.learner import (
    add_person,
    launch,
    launch_id,
    only_enrolment,
    work_through_tier_one,
)
from tests.support.platform import LEARNER, SimulatedPlatform
from tests.support.programs import install_program, small_program
from xapi.statements import statement_id
from xapi.vocabulary import Verb


@pytest.fixture
def app(make_app) -> Flask:  # type: ignore[no-untyped-def]
    return make_app(BASE_URL="https://tool.test")  # type: ignore[no-any-return]


def statements(app: Flask) -> list[StoredStatement]:
    with runtime(app).session_factory() as session:
        return list(
            session.scalars(sa.select(StoredStatement).order_by(StoredStatement.seq))
        )


def connect_lrs(app: Flask, name: str = "lrs") -> int:
    rt = runtime(app)
    with rt.session_factory() as session:
        target, _ = xapi_outbox.add_target(
            session,
            xapi_outbox.TargetInput(
                name=name,
                endpoint="https://lrs.example.com/xapi/",
                username="key",
                password="secret",
            ),
            rt.encryptor,
            rt.clock(),
        )
        session.commit()
        return target.id


def test_a_learners_tier_becomes_statements_in_the_order_it_happened(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    enrolment = work_through_tier_one(app, client, platform, clock, tmp_path)
    recorded = statements(app)
    assert [s.verb for s in recorded] == [
        Verb.REGISTERED,  # tier one (auto-enrolled)
        Verb.SCORED,  # pre-test
        Verb.FAILED,  # post-test 5/8
        Verb.PASSED,  # post-test 8/8
        Verb.COMPLETED,  # module
        Verb.SATISFIED,  # tier one
        Verb.EARNED,  # tier one's badge
        Verb.REGISTERED,  # tier two (auto-progression)
    ]
    for stored in recorded:
        BaseXapiStatement(**stored.payload)  # an independent validator accepts it
        assert "version" not in stored.payload
        assert stored.payload["actor"] == {
            "objectType": "Agent",
            "account": {"homePage": platform.issuer, "name": "user-123"},
        }
        assert "mbox" not in str(stored.payload)
        assert stored.payload["id"] == stored.id
    first_tier = [s for s in recorded if s.registration == enrolment.id]
    assert len(first_tier) == 7  # with the badge
    assert recorded[0].activity == "https://tool.test/programs/test-path/tiers/one"


def test_a_post_test_statement_points_at_its_pre_test_and_carries_the_gain(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    work_through_tier_one(app, client, platform, clock, tmp_path)
    with runtime(app).session_factory() as session:
        pre = session.scalar(sa.select(Attempt).where(Attempt.kind == "pre"))
        assert pre is not None
    passed = next(s for s in statements(app) if s.verb == Verb.PASSED)
    context = passed.payload["context"]
    assert context["statement"] == {
        "objectType": "StatementRef",
        "id": statement_id("attempt", str(pre.id)),
    }
    extensions = passed.payload["result"]["extensions"]
    gains = {k.rsplit("/", 1)[1]: v for k, v in extensions.items()}
    assert gains["learning-gain"] == 0.5  # 4/8 → 8/8
    assert gains["normalised-gain"] == 1.0
    assert passed.payload["result"]["score"] == {
        "scaled": 1.0,
        "raw": 8.0,
        "min": 0.0,
        "max": 8.0,
    }


def test_without_an_lrs_statements_are_kept_and_nothing_is_queued(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    work_through_tier_one(app, client, platform, clock, tmp_path)
    with runtime(app).session_factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) == 0
    assert len(statements(app)) == 8


def test_each_connected_lrs_gets_one_outbox_row_per_statement(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    first = connect_lrs(app, "first")
    second = connect_lrs(app, "second")
    work_through_tier_one(app, client, platform, clock, tmp_path)
    with runtime(app).session_factory() as session:
        rows = session.execute(
            sa.select(OutboxEntry.target_id, sa.func.count()).group_by(
                OutboxEntry.target_id
            )
        ).all()
    assert dict(rows) == {first: 8, second: 8}


def test_connecting_an_lrs_later_queues_the_history(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    work_through_tier_one(app, client, platform, clock, tmp_path)
    rt = runtime(app)
    with rt.session_factory() as session:
        target, queued = xapi_outbox.add_target(
            session,
            xapi_outbox.TargetInput("late", "https://lrs.example.com/xapi", "k", "s"),
            rt.encryptor,
            rt.clock(),
        )
        session.commit()
        assert queued == 8
        assert xapi_outbox.queue_history(session, target.id, rt.clock()) == 0


def open_pre_test(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    """A launched, enrolled learner with an open (unsubmitted) pre-test attempt."""
    install_program(app, tmp_path, small_program())
    add_person(app, months=14, review=2.6, email="ana.morales@example.com")
    launch(client, platform, clock, roles=LEARNER)
    enrolment = only_enrolment(app)
    page = client.get(
        f"/learner/enrolments/{enrolment.id}/modules/basics/pre"
        f"?launch={launch_id(client)}"
    )
    assert page.status_code == 200


def submit_in(app: Flask, session: orm.Session, answers: dict[str, list[str]]) -> None:
    """Submit the open attempt through the service, in `session`'s unit of work."""
    attempt = session.scalar(sa.select(Attempt))
    assert attempt is not None
    enrolment = session.get(Enrolment, attempt.enrolment_id)
    assert enrolment is not None
    learner = session.get(Person, enrolment.person_id)
    assert learner is not None
    rt = runtime(app)
    submit_attempt(
        session, attempt, enrolment, learner, answers, rt.clock(), rt.sink_for(session)
    )


def count(session: orm.Session, model: type[object]) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_a_rolled_back_submission_leaves_no_statement(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    connect_lrs(app)
    open_pre_test(app, client, platform, clock, tmp_path)
    before = len(statements(app))
    with runtime(app).session_factory() as session:
        submit_in(app, session, {})
        session.flush()
        assert count(session, StoredStatement) == before + 1
        assert count(session, OutboxEntry) == before + 1
        session.rollback()  # e.g. the request failed after scoring
    assert len(statements(app)) == before
    with runtime(app).session_factory() as session:
        assert count(session, OutboxEntry) == before


def test_a_refused_submission_records_nothing(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    open_pre_test(app, client, platform, clock, tmp_path)
    before = len(statements(app))
    with runtime(app).session_factory() as session:
        with pytest.raises(AttemptRefused):
            submit_in(app, session, {"no-such-item": ["a"]})
        session.rollback()
    assert len(statements(app)) == before


def test_recording_the_same_fact_twice_keeps_one_statement(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    connect_lrs(app)
    work_through_tier_one(app, client, platform, clock, tmp_path)
    rt = runtime(app)
    with rt.session_factory() as session:
        completed = session.scalar(
            sa.select(StoredStatement).where(StoredStatement.verb == Verb.COMPLETED)
        )
        assert completed is not None
        store_statements(
            session,
            [NewStatement(completed.payload, completed.source, completed.person_id)],
            rt.clock(),
        )
        session.commit()
    assert len(statements(app)) == 8
    with rt.session_factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) == 8
