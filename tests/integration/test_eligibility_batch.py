"""Batch eligibility equals the per-person engine and stores like store_decision."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import orm

from lti_tool.cli_eligibility import register_eligibility_commands
from lti_tool.db.models import EligibilityDecisionRecord, Person, ProgramVersion
from lti_tool.domain.eligibility import evaluate_tier
from lti_tool.domain.events import EligibilityDecided
from lti_tool.services.demo_data import generate_people_csv
from lti_tool.services.eligibility_batch import evaluate_everyone, load_all_facts
from lti_tool.services.people_import import import_people_csv
from lti_tool.services.ports import RecordingEventSink
from lti_tool.services.programs import load_program, program_of
from lti_tool.services.progress import facts_for, load_peers, store_decision

PROGRAMS = Path(__file__).resolve().parents[2] / "config" / "programs"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
AS_OF = NOW.date()


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[orm.Session]:
    with orm.Session(engine) as session:
        yield session


@pytest.fixture
def versions(session: orm.Session) -> list[ProgramVersion]:
    loaded = [
        load_program(session, path, NOW).version
        for path in sorted(PROGRAMS.glob("*.toml"))
    ]
    report = import_people_csv(
        session, generate_people_csv(120, seed=3, today=AS_OF).encode(), NOW
    )
    assert report.ok
    session.commit()
    return loaded


def stored(
    session: orm.Session,
) -> dict[tuple[int, int, str], EligibilityDecisionRecord]:
    return {
        (r.person_id, r.program_version_id, r.tier_id): r
        for r in session.scalars(sa.select(EligibilityDecisionRecord))
    }


def test_batch_decisions_equal_evaluate_tier_for_everyone(
    session: orm.Session, versions: list[ProgramVersion]
) -> None:
    sink = RecordingEventSink()
    report = evaluate_everyone(session, versions, AS_OF, NOW, sink)
    session.commit()
    people = list(session.scalars(sa.select(Person)))
    facts = facts_for(session, people)
    peers = load_peers(session)
    records = stored(session)
    tiers = sum(len(program_of(v).tiers) for v in versions)
    assert report.people == len(people) == 124
    assert report.decisions == report.inserted == len(records) == len(people) * tiers
    assert (report.updated, report.unchanged) == (0, 0)
    eligible: dict[tuple[str, str], int] = {}
    for version in versions:
        program = program_of(version)
        for tier in program.tiers:
            for person in people:
                expected = evaluate_tier(facts[person.id], program, tier, peers, AS_OF)
                record = records[(person.id, version.id, tier.id)]
                assert record.decision == expected.to_json()
                assert record.eligible == expected.eligible
                assert record.rule_version == expected.rule_version
                assert record.as_of == AS_OF
                key = (program.id, tier.id)
                eligible[key] = eligible.get(key, 0) + expected.eligible
    assert report.eligible == eligible
    assert 0 < sum(eligible.values()) < report.decisions
    events = [e for e in sink.events if isinstance(e, EligibilityDecided)]
    assert len(events) == len(records)
    assert {e.decision_id for e in events} == {r.id for r in records.values()}
    one = (people[0].id, versions[0].id, program_of(versions[0]).tiers[0].id)
    first = next(e for e in events if e.decision_id == records[one].id)
    assert first.person_id == people[0].id
    assert first.tier_id == one[2]
    assert first.program_id == versions[0].program_id


def test_batch_facts_decide_like_the_full_history(
    session: orm.Session, versions: list[ProgramVersion]
) -> None:
    people = list(session.scalars(sa.select(Person)))
    full = facts_for(session, people)
    peers = load_peers(session)
    batch = load_all_facts(session)
    assert [f.person_id for f in batch] == sorted(full)
    for facts in batch:
        for version in versions:
            program = program_of(version)
            for tier in program.tiers:
                assert evaluate_tier(
                    facts, program, tier, peers, AS_OF
                ) == evaluate_tier(full[facts.person_id], program, tier, peers, AS_OF)


def test_running_again_writes_nothing_and_agrees_with_store_decision(
    session: orm.Session, versions: list[ProgramVersion]
) -> None:
    evaluate_everyone(session, versions, AS_OF, NOW, RecordingEventSink())
    session.commit()
    before = {k: (r.id, r.decided_at) for k, r in stored(session).items()}
    sink = RecordingEventSink()
    later = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    again = evaluate_everyone(session, versions, AS_OF, later, sink)
    session.commit()
    assert (again.inserted, again.updated) == (0, 0)
    assert again.unchanged == again.decisions == len(before)
    assert sink.events == []
    session.expire_all()
    assert {k: (r.id, r.decided_at) for k, r in stored(session).items()} == before
    # The per-person path sees the batch's rows as its own: nothing to rewrite.
    person = session.scalars(sa.select(Person)).first()
    assert person is not None
    facts = facts_for(session, [person])[person.id]
    peers = load_peers(session)
    one = RecordingEventSink()
    for version in versions:
        program = program_of(version)
        for tier in program.tiers:
            decision = evaluate_tier(facts, program, tier, peers, AS_OF)
            store_decision(session, decision, version, later, one)
    assert one.events == []


def test_changed_facts_rewrite_only_those_rows(
    session: orm.Session, versions: list[ProgramVersion]
) -> None:
    evaluate_everyone(session, versions, AS_OF, NOW, RecordingEventSink())
    session.commit()
    before = {k: (r.id, r.decision) for k, r in stored(session).items()}
    person = session.scalars(
        sa.select(Person).where(Person.employee_id == "E000007")
    ).one()
    person.disciplinary_action = not person.disciplinary_action
    session.commit()
    sink = RecordingEventSink()
    later = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    report = evaluate_everyone(session, versions, AS_OF, later, sink)
    session.commit()
    after = {k: (r.id, r.decision, r.decided_at) for k, r in stored(session).items()}
    changed = {k for k in before if before[k][1] != after[k][1]}
    # HR standing is a rule of STEP's three tiers and Alorica's one tier.
    assert len(changed) == report.updated == 4
    assert {k[0] for k in changed} == {person.id}
    assert report.inserted == 0
    assert report.unchanged == report.decisions - 4
    assert {k: v[0] for k, v in before.items()} == {k: v[0] for k, v in after.items()}
    for key, (_, _, decided_at) in after.items():
        assert (decided_at == later) == (key in changed)
    assert sorted(
        (e.person_id, e.tier_id)
        for e in sink.events
        if isinstance(e, EligibilityDecided)
    ) == sorted((k[0], k[2]) for k in changed)


def test_another_day_adds_rows_and_no_store_writes_nothing(
    session: orm.Session, versions: list[ProgramVersion]
) -> None:
    evaluate_everyone(session, versions, AS_OF, NOW, RecordingEventSink())
    session.commit()
    count = len(stored(session))
    dry = evaluate_everyone(
        session, versions, date(2026, 11, 24), NOW, RecordingEventSink(), store=False
    )
    assert (dry.stored, dry.inserted, dry.updated, dry.unchanged) == (False, 0, 0, 0)
    assert len(stored(session)) == count
    report = evaluate_everyone(
        session, versions, date(2026, 11, 24), NOW, RecordingEventSink()
    )
    session.commit()
    assert report.inserted == count
    total = session.scalar(sa.select(sa.func.count(EligibilityDecisionRecord.id)))
    assert total == 2 * count


def test_cli_evaluates_and_prints_the_report(
    app: Flask, versions: list[ProgramVersion], session: orm.Session
) -> None:
    register_eligibility_commands(app)
    runner = app.test_cli_runner()
    dry = runner.invoke(
        args=["eligibility", "evaluate", "--as-of", "2026-11-23", "--no-store"]
    )
    assert dry.exit_code == 0, dry.output
    assert "as of 2026-11-23: 124 people, 868 decisions" in dry.output
    assert "not stored" in dry.output
    assert stored(session) == {}
    done = runner.invoke(args=["eligibility", "evaluate", "--as-of", "2026-11-23"])
    assert done.exit_code == 0, done.output
    assert "stored: 868 new, 0 changed, 0 unchanged" in done.output
    assert "partnerhero-step" in done.output
    assert "load_facts" in done.output
    again = runner.invoke(args=["eligibility", "evaluate", "--as-of", "2026-11-23"])
    assert "stored: 0 new, 0 changed, 868 unchanged" in again.output
