"""Two requests enrolling the same person in the same tier end with one enrolment."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from lti_tool.db.models import Enrolment, Person, ProgramVersion
from lti_tool.runtime import runtime
from lti_tool.services.ports import RecordingEventSink
from lti_tool.services.programs import program_of
from lti_tool.services.progress import enrol, insert_enrolment
from tests.support.programs import install_program, small_program


def test_losing_a_concurrent_enrolment_returns_the_winners_row(
    app: Flask, tmp_path: Path
) -> None:
    install_program(app, tmp_path, small_program())
    rt = runtime(app)
    now = datetime.now(UTC)
    with rt.session_factory() as setup:
        person = Person(employee_id="E1", updated_at=now)
        setup.add(person)
        setup.commit()
    with rt.session_factory() as first, rt.session_factory() as second:
        version = first.scalar(sa.select(ProgramVersion))
        assert version is not None
        tier = program_of(version).tiers[0]
        person_a = first.get(Person, person.id)
        assert person_a is not None
        # The second request already checked "not enrolled" before the first commits.
        person_b = second.get(Person, person.id)
        version_b = second.get(ProgramVersion, version.id)
        assert person_b is not None
        assert version_b is not None
        second.scalar(sa.select(Enrolment))  # opens its transaction
        won = enrol(
            first, person_a, version, tier, now, "eligible", RecordingEventSink()
        )
        first.commit()
        lost = enrol(
            second, person_b, version_b, tier, now, "eligible", RecordingEventSink()
        )
        second.commit()
        assert lost.id == won.id
    with rt.session_factory() as check:
        assert check.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 1


def test_a_duplicate_insert_yields_the_existing_enrolment_and_keeps_the_transaction(
    app: Flask, tmp_path: Path
) -> None:
    install_program(app, tmp_path, small_program())
    rt = runtime(app)
    now = datetime.now(UTC)
    with rt.session_factory() as session:
        person = Person(employee_id="E2", updated_at=now)
        session.add(person)
        session.flush()
        version = session.scalar(sa.select(ProgramVersion))
        assert version is not None

        def row(enrolment_id: str) -> Enrolment:
            return Enrolment(
                id=enrolment_id,
                person_id=person.id,
                program_version_id=version.id,
                tier_id="one",
                state="in_progress",
                started_at=now,
                started_reason="eligible",
            )

        first = insert_enrolment(session, row("first"))
        second = insert_enrolment(session, row("second"))
        assert second.id == "first"
        assert first is second
        session.commit()  # the failed savepoint did not spoil the transaction
    with rt.session_factory() as check:
        assert check.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 1
