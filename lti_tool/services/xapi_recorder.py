"""The statement writer: domain events become xAPI statements in the same transaction.

`StatementRecorder` is an `EventSink` bound to the unit of work's session. Each
event it understands is turned into a statement (built with tincan by
`xapi.statements`), inserted into the local store with one outbox row per
active LRS target, and flushed with the change that caused it: commit keeps
both, rollback loses both. Nothing here talks to the network; the deliverer
drains the outbox after commit, so an LRS outage never touches a learner's
request.

Inserts are `ON CONFLICT DO NOTHING` on the deterministic statement id: the
same fact recorded twice (a retried request, a module passed again) stays one
statement.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects import postgresql, sqlite

from lti_tool.db.base import Model
from lti_tool.db.models import (
    Attempt,
    Enrolment,
    EvidenceSubmission,
    LmsUser,
    LrsTarget,
    OutboxEntry,
    Platform,
    ProgramVersion,
    RotationGrade,
)
from lti_tool.domain.assessments import LearningGain
from lti_tool.domain.events import (
    AssessmentAttempted,
    BadgeIssued,
    EvidenceGraded,
    EvidenceReviewed,
    EvidenceSubmitted,
    ModuleCompleted,
    RequirementSignedOff,
    TierCompleted,
    TierStarted,
)
from lti_tool.domain.programs import Program
from lti_tool.services.ports import DomainEvent
from lti_tool.services.programs import program_for
from xapi import statements as build
from xapi.identity import agent_key

_log = logging.getLogger("lti_tool.xapi")

_WITH_ENROLMENT = (
    AssessmentAttempted,
    BadgeIssued,
    EvidenceGraded,
    EvidenceReviewed,
    EvidenceSubmitted,
    ModuleCompleted,
    RequirementSignedOff,
    TierCompleted,
    TierStarted,
)


class _SharedContexts:
    """Process-wide: an enrolment's program context and learner account.

    An enrolment's person, tier and program version never change and its id is
    a random UUID, so what its statements need is looked up once per process,
    not once per event. The learner account is fixed with it: every statement
    of one registration names the same actor.
    """

    LIMIT = 50_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], tuple[_Context, build.Learner]] = {}

    def get(self, key: tuple[str, str]) -> tuple[_Context, build.Learner] | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple[str, str], value: tuple[_Context, build.Learner]) -> None:
        with self._lock:
            if len(self._items) >= self.LIMIT:
                self._items.clear()
            self._items[key] = value


@dataclass(frozen=True)
class _Enrolled:
    id: str
    person_id: int
    tier_id: str


_STATEMENTS = Model.metadata.tables["xapi_statement"]
_OUTBOX = Model.metadata.tables["xapi_outbox"]
_Context = tuple[_Enrolled, Program, build.ProgramContext]
_ENROLMENTS = _SharedContexts()

# Built once: constructing the statement costs more than running it.
_LATEST_ACCOUNT = (
    sa.select(LmsUser.id)
    .where(LmsUser.person_id == Enrolment.person_id)
    .order_by(LmsUser.last_launch_at.desc().nulls_last(), LmsUser.id.desc())
    .limit(1)
    .correlate(Enrolment)
    .scalar_subquery()
)
_LATEST_PRE_TEST = (
    sa.select(Attempt.id, Attempt.points, Attempt.max_points)
    .where(
        Attempt.enrolment_id == sa.bindparam("enrolment"),
        Attempt.module_id == sa.bindparam("module"),
        Attempt.kind == "pre",
        Attempt.submitted_at.is_not(None),
    )
    .order_by(Attempt.submitted_at.desc(), Attempt.id.desc())
    .limit(1)
)
_ENROLMENT_CONTEXTS = (
    sa.select(
        Enrolment.id,
        Enrolment.person_id,
        Enrolment.tier_id,
        Enrolment.program_version_id,
        ProgramVersion.content_hash,
        Platform.issuer,
        LmsUser.sub,
    )
    .join(ProgramVersion, ProgramVersion.id == Enrolment.program_version_id)
    .outerjoin(LmsUser, LmsUser.id == _LATEST_ACCOUNT)
    .outerjoin(Platform, Platform.id == LmsUser.platform_id)
    .where(Enrolment.id.in_(sa.bindparam("enrolment_ids", expanding=True)))
)


@dataclass(frozen=True)
class NewStatement:
    """A built statement and what the store indexes it by."""

    payload: dict[str, Any]
    source: str
    person_id: int | None


def _insert(session: orm.Session, table: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for the session's dialect."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database dialect {dialect!r}")


def active_target_ids(session: orm.Session) -> list[int]:
    """Ids of the LRS targets new statements are queued for (enabled ones).

    A paused target still gets its outbox rows: they wait for it to resume.
    """
    return list(
        session.scalars(
            sa.select(LrsTarget.id)
            .where(LrsTarget.enabled.is_(True))
            .order_by(LrsTarget.id)
        )
    )


def store_statements(
    session: orm.Session,
    statements: Sequence[NewStatement],
    stored: datetime,
) -> None:
    """Insert statements and their outbox rows (flush only; the caller commits).

    Each statement is queued for every enabled LRS target (a paused target
    still gets its rows: they wait for it). On PostgreSQL that is one statement
    whatever the batch size (`_STORE_POSTGRESQL`: column arrays, so its text
    never changes; a CTE over a VALUES list was measured twice as slow because
    SQLAlchemy compiled it on every call). On SQLite two: the statements (one
    multi-row insert), then one INSERT … SELECT queueing them, both compiled
    once per process.
    """
    if not statements:
        return
    rows = []
    for item in statements:
        payload = item.payload
        obj = payload.get("object") or {}
        context = payload.get("context") or {}
        rows.append(
            {
                "id": payload["id"],
                "source": item.source,
                "person_id": item.person_id,
                "agent": agent_key(payload["actor"]),
                "verb": payload["verb"]["id"],
                "activity": obj.get("id")
                if obj.get("objectType", "Activity") == "Activity"
                else None,
                "registration": context.get("registration"),
                "timestamp": datetime.fromisoformat(payload["timestamp"]),
                "stored": stored,
                "voided": False,
                "payload": payload,
            }
        )
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        _store_postgresql(session, rows, stored)
        return
    store, queue = _NEW_STATEMENTS[dialect]
    session.execute(store, rows)
    session.execute(queue, {"ids": [row["id"] for row in rows], "now": stored})


# PostgreSQL: statements and their outbox rows in one statement (one round
# trip), the rows passed as one array per column so the SQL text is the same
# whatever the batch size: psycopg prepares it once per connection and
# SQLAlchemy compiles nothing. The outbox rows reference statements inserted by
# the CTE (foreign keys are checked at the end of the statement); ids that
# already existed are queued too, as the two-statement form does.
_STORE_POSTGRESQL = """\
WITH new AS (
    INSERT INTO xapi_statement (id, source, person_id, agent, verb, activity,
                                registration, timestamp, stored, voided, payload)
    SELECT v.id, v.source, v.person_id, v.agent, v.verb, v.activity,
           v.registration, v.ts, %(stored)s, false, v.payload::jsonb
    FROM unnest(%(id)b::varchar[], %(source)b::varchar[], %(person_id)b::bigint[],
                %(agent)b::varchar[], %(verb)b::varchar[], %(activity)b::varchar[],
                %(registration)b::varchar[], %(ts)b::timestamptz[],
                %(payload)b::text[])
         AS v(id, source, person_id, agent, verb, activity, registration, ts, payload)
    ON CONFLICT DO NOTHING
)
INSERT INTO xapi_outbox (statement_id, target_id, status, attempts,
                         next_attempt_at, created_at)
SELECT v.id, t.id, 'pending', 0, %(stored)s, %(stored)s
FROM unnest(%(id)b::varchar[]) AS v(id)
JOIN lrs_target AS t ON t.enabled
ON CONFLICT DO NOTHING"""


def _store_postgresql(
    session: orm.Session, rows: list[dict[str, Any]], stored: datetime
) -> None:
    if stored.tzinfo is None:
        raise ValueError("naive datetimes are not stored; pass an aware UTC time")
    session.connection().exec_driver_sql(
        _STORE_POSTGRESQL,
        {
            "stored": stored,
            "id": [r["id"] for r in rows],
            "source": [r["source"] for r in rows],
            "person_id": [r["person_id"] for r in rows],
            "agent": [r["agent"] for r in rows],
            "verb": [r["verb"] for r in rows],
            "activity": [r["activity"] for r in rows],
            "registration": [r["registration"] for r in rows],
            "ts": [r["timestamp"] for r in rows],
            "payload": [json.dumps(r["payload"]) for r in rows],
        },
    )


_OUTBOX_COLUMNS = (
    "statement_id",
    "target_id",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)


def _pairs(statement_ids: Any, now: datetime | Any) -> sa.Select[Any]:
    """(statement, target) outbox rows: each statement id for each matching target.

    `now` is a datetime or a bind parameter of one.
    """
    if isinstance(now, datetime):
        at = sa.literal(now, OutboxEntry.next_attempt_at.type)
        created = sa.literal(now, OutboxEntry.created_at.type)
    else:
        at = created = now
    return sa.select(
        statement_ids,
        LrsTarget.id,
        sa.literal("pending"),
        sa.literal(0),
        at,
        created,
    ).select_from(sa.join(statement_ids.table, LrsTarget, sa.true()))


def _new_statements(dialect: Any) -> tuple[Any, Any]:
    """The two statements that store new statements and queue them (built once:
    constructing them costs more than running them)."""
    store = dialect.insert(_STATEMENTS).on_conflict_do_nothing()
    queue = (
        dialect.insert(_OUTBOX)
        .from_select(
            _OUTBOX_COLUMNS,
            _pairs(
                _STATEMENTS.c.id,
                sa.bindparam("now", type_=OutboxEntry.next_attempt_at.type),
            ).where(
                _STATEMENTS.c.id.in_(sa.bindparam("ids", expanding=True)),
                LrsTarget.enabled.is_(True),
            ),
        )
        .on_conflict_do_nothing()
    )
    return store, queue


_NEW_STATEMENTS = {"sqlite": _new_statements(sqlite)}


def queue_statements(
    session: orm.Session,
    statements: sa.ColumnElement[bool],
    targets: sa.ColumnElement[bool],
    now: datetime,
) -> int:
    """Queue every matching statement for every matching target, in one INSERT … SELECT.

    Pairs already queued (in any state) are left alone. Returns how many
    outbox rows were added.
    """
    pairs = _pairs(_STATEMENTS.c.id, now).where(statements, targets)
    insert = _insert(session, _OUTBOX).from_select(_OUTBOX_COLUMNS, pairs)
    # rowcount of INSERT … SELECT … ON CONFLICT is not reliable across drivers
    # (psycopg reports -1): count the ids it returns.
    return len(session.execute(insert.returning(_OUTBOX.c.id)).all())


class StatementRecorder:
    """EventSink that records the statement of each learning event it receives.

    One instance serves one unit of work (it caches the learners' LMS accounts
    and the enrolments' programs for that transaction).
    `buffered=True` keeps statements until `flush()` so a batch job writes
    them with one multi-row insert; the default writes each at once.
    """

    def __init__(
        self, session: orm.Session, activity_base: str, *, buffered: bool = False
    ) -> None:
        self._session = session
        self._base = activity_base.rstrip("/")
        self._buffered = buffered
        self._pending: list[DomainEvent] = []
        self._learners: dict[int, build.Learner] = {}
        self._signers: dict[int, build.Learner] = {}
        self._contexts: dict[str, tuple[_Enrolled, Program, build.ProgramContext]] = {}

    # -- EventSink ------------------------------------------------------------

    def publish(self, event: DomainEvent) -> None:
        if self._buffered:
            self._pending.append(event)
            return
        statements = self._statements(event)
        if statements:
            store_statements(self._session, statements, event.occurred_at)

    def flush(self) -> int:
        """Build and write the buffered events' statements; return how many.

        The enrolments and LMS accounts they need are fetched with one query
        each, not one per event.
        """
        events, self._pending = self._pending, []
        if not events:
            return 0
        self._prefetch(events)
        statements = [s for event in events for s in self._statements(event)]
        store_statements(self._session, statements, events[-1].occurred_at)
        return len(statements)

    def _prefetch(self, events: Sequence[DomainEvent]) -> None:
        wanted = {e.enrolment_id for e in events if isinstance(e, _WITH_ENROLMENT)}
        for enrolment_id in wanted - set(self._contexts):
            shared = _ENROLMENTS.get((self._base, enrolment_id))
            if shared is not None:
                self._contexts[enrolment_id] = shared[0]
                self._learners.setdefault(shared[0][0].person_id, shared[1])
        missing = sorted(wanted - set(self._contexts))
        for start in range(0, len(missing), 500):
            self._load_contexts(missing[start : start + 500])

    # -- building -------------------------------------------------------------

    def _statements(self, event: DomainEvent) -> list[NewStatement]:
        """The event's statement, after the voiding of what it corrects (a regrade)."""
        statement = self._statement(event)
        if statement is None:
            return []
        if isinstance(event, EvidenceGraded) and event.revision > 1:
            return [*self._void_previous_grade(event), statement]
        return [statement]

    def _void_previous_grade(self, event: EvidenceGraded) -> list[NewStatement]:
        previous = self._session.scalar(
            sa.select(RotationGrade).where(
                RotationGrade.submission_id == event.submission_id,
                RotationGrade.rater == event.rater,
                RotationGrade.revision == event.revision - 1,
            )
        )
        if previous is None:
            return []
        voided = build.statement_id("grade", str(previous.id), previous.revision)
        # The local store answers queries as an LRS would: a voided statement
        # is only returned by voidedStatementId.
        self._session.execute(
            sa.update(_STATEMENTS).where(_STATEMENTS.c.id == voided).values(voided=True)
        )
        statement = build.voiding_statement(
            voided_statement_id=voided,
            actor=self._lms_account(event.grader_user_id),
            timestamp=event.occurred_at,
            reason_source=f"grade:{event.grade_id}:{event.revision}",
        )
        return [self._new(statement, f"void:{voided}", event.person_id)]

    def _statement(self, event: DomainEvent) -> NewStatement | None:
        if isinstance(event, AssessmentAttempted):
            return self._assessment(event)
        if isinstance(event, ModuleCompleted):
            enrolment, program, ctx = self._context(event.enrolment_id)
            _, module = program.module(event.module_id)
            statement = build.module_completed_statement(
                learner=self._learner(event.person_id),
                ctx=ctx,
                module_id=module.id,
                module_title=module.title,
                timestamp=event.occurred_at,
            )
            return self._new(
                statement, f"module:{enrolment.id}:{module.id}", event.person_id
            )
        if isinstance(event, TierStarted):
            enrolment, _, ctx = self._context(event.enrolment_id)
            statement = build.tier_started_statement(
                learner=self._learner(event.person_id),
                ctx=ctx,
                reason=event.reason,
                timestamp=event.occurred_at,
            )
            return self._new(statement, f"enrolment:{enrolment.id}", event.person_id)
        if isinstance(event, TierCompleted):
            enrolment, _, ctx = self._context(event.enrolment_id)
            statement = build.tier_completed_statement(
                learner=self._learner(event.person_id),
                ctx=ctx,
                timestamp=event.occurred_at,
            )
            return self._new(statement, f"tier:{enrolment.id}", event.person_id)
        if isinstance(event, RequirementSignedOff):
            enrolment, program, ctx = self._context(event.enrolment_id)
            requirement = next(
                r
                for r in program.tier(enrolment.tier_id).requirements
                if r.id == event.requirement_id
            )
            statement = build.requirement_completed_statement(
                learner=self._learner(event.person_id),
                ctx=ctx,
                requirement_id=requirement.id,
                requirement_title=requirement.title,
                signoff_id=event.signoff_id,
                signed_by=self._lms_account(event.signed_by_user_id),
                timestamp=event.occurred_at,
            )
            return self._new(statement, f"signoff:{event.signoff_id}", event.person_id)
        if isinstance(event, BadgeIssued):
            enrolment, _, ctx = self._context(event.enrolment_id)
            statement = build.badge_earned_statement(
                learner=self._learner(event.person_id),
                ctx=ctx,
                achievement_id=event.achievement_id,
                achievement_name=event.achievement_name,
                credential_id=event.credential_id,
                timestamp=event.occurred_at,
            )
            return self._new(statement, f"badge:{event.credential_id}", event.person_id)
        if isinstance(event, EvidenceSubmitted | EvidenceGraded | EvidenceReviewed):
            return self._evidence(event)
        return None  # EligibilityDecided and others are not learning events

    def _evidence(
        self, event: EvidenceSubmitted | EvidenceGraded | EvidenceReviewed
    ) -> NewStatement:
        enrolment, program, ctx = self._context(event.enrolment_id)
        rotation = next(
            r
            for r in program.tier(enrolment.tier_id).rotations
            if r.id == event.rotation_id
        )
        submission = self._session.get(EvidenceSubmission, event.submission_id)
        assert submission is not None
        submitted_id = build.statement_id(
            "evidence", str(submission.id), submission.number
        )
        if isinstance(event, EvidenceSubmitted):
            text = "\n".join(
                part
                for part in (
                    submission.note,
                    submission.link,
                    submission.call_id and f"Call {submission.call_id}",
                    submission.ticket_id and f"Ticket {submission.ticket_id}",
                )
                if part
            )
            statement = build.evidence_submitted_statement(
                learner=self._learner(event.person_id),
                ctx=ctx,
                rotation_id=rotation.id,
                rotation_title=rotation.title,
                submission_id=submission.id,
                revision=submission.number,
                evidence=[
                    build.EvidenceFile(
                        filename=f.name,
                        content_type=f.content_type,
                        length=f.size,
                        sha256=f.sha256,
                        display_name=f.name,
                    )
                    for f in submission.files
                ],
                text=text or None,
                timestamp=event.occurred_at,
            )
            return self._new(statement, f"evidence:{submission.id}", event.person_id)
        if isinstance(event, EvidenceReviewed):
            statement = build.evidence_reviewed_statement(
                reviewer=self._lms_account(event.reviewer_user_id),
                ctx=ctx,
                rotation_id=rotation.id,
                rotation_title=rotation.title,
                submission_id=submission.id,
                revision=submission.number,
                submitted_statement_id=submitted_id,
                timestamp=event.occurred_at,
            )
            return self._new(
                statement,
                f"review:{submission.id}:{event.reviewer_user_id}",
                event.person_id,
            )
        grade = self._session.get(RotationGrade, event.grade_id)
        assert grade is not None
        by_id = {c.id: c for c in rotation.rubric}
        statement = build.evidence_graded_statement(
            learner=self._learner(event.person_id),
            ctx=ctx,
            rotation_id=rotation.id,
            rotation_title=rotation.title,
            submission_id=submission.id,
            revision=submission.number,
            grade_id=grade.id,
            grade_revision=grade.revision,
            grader=self._lms_account(event.grader_user_id),
            points=grade.points,
            max_points=grade.max_points,
            # A second rater's grade is calibration: scored, not passed/failed.
            passed=grade.passed if event.rater == "primary" else None,
            criteria={
                cid: by_id[cid].levels[index].points
                for cid, index in grade.levels.items()
            },
            levels={
                cid: by_id[cid].levels[index].label
                for cid, index in grade.levels.items()
            },
            feedback=grade.comment,
            submitted_statement_id=submitted_id,
            timestamp=event.occurred_at,
            rater=event.rater,
        )
        return self._new(statement, f"grade:{grade.id}", event.person_id)

    def _assessment(self, event: AssessmentAttempted) -> NewStatement:
        enrolment, program, ctx = self._context(event.enrolment_id)
        _, module = program.module(event.module_id)
        attempt = self._session.get(Attempt, event.attempt_id)
        assert attempt is not None
        pre_ref: str | None = None
        gain: tuple[float, float | None] | None = None
        if event.kind == "post":
            pre = self._session.execute(
                _LATEST_PRE_TEST, {"enrolment": enrolment.id, "module": module.id}
            ).first()
            if pre is not None:
                pre_ref = build.statement_id("attempt", str(pre.id))
                if pre.max_points and event.max_points:
                    learning = LearningGain(
                        pre.points / pre.max_points, event.points / event.max_points
                    )
                    gain = (learning.raw, learning.normalised)
        # The hot event: assembled as JSON from shared tincan parts (pinned
        # equal to the tincan build by tests/unit/xapi/test_statement_json.py).
        payload = build.assessment_statement_json(
            learner=self._learner(event.person_id),
            ctx=ctx,
            module_id=module.id,
            module_title=module.title,
            phase=event.kind,
            attempt_id=event.attempt_id,
            attempt_number=event.attempt_number,
            form_id=attempt.form_id,
            points=event.points,
            max_points=event.max_points,
            passed=event.passed,
            timestamp=event.occurred_at,
            pre_test_statement=pre_ref,
            gain=gain,
        )
        return NewStatement(payload, f"attempt:{event.attempt_id}", event.person_id)

    def _new(self, statement: Any, source: str, person_id: int) -> NewStatement:
        return NewStatement(build.to_json(statement), source, person_id)

    def _context(
        self, enrolment_id: str
    ) -> tuple[_Enrolled, Program, build.ProgramContext]:
        """The enrolment's program, xAPI context and learner (cached per unit of work)."""
        if enrolment_id not in self._contexts:
            shared = _ENROLMENTS.get((self._base, enrolment_id))
            if shared is not None:
                self._contexts[enrolment_id] = shared[0]
                self._learners.setdefault(shared[0][0].person_id, shared[1])
            else:
                self._load_contexts([enrolment_id])
        try:
            return self._contexts[enrolment_id]
        except KeyError:
            raise LookupError(
                f"enrolment {enrolment_id} is not in this transaction"
            ) from None

    def _load_contexts(self, enrolment_ids: Sequence[str]) -> None:
        """One query for the enrolments, their program versions and learner accounts."""
        rows = self._session.execute(
            _ENROLMENT_CONTEXTS, {"enrolment_ids": list(enrolment_ids)}
        ).all()
        for row in rows:
            if row.person_id not in self._learners:
                self._learners[row.person_id] = (
                    build.Learner(home_page=row.issuer, name=row.sub)
                    if row.sub is not None
                    else self._fallback(row.person_id)
                )
            program = program_for(
                self._session, row.program_version_id, row.content_hash
            )
            tier = program.tier(row.tier_id)
            self._contexts[row.id] = (
                _Enrolled(row.id, row.person_id, row.tier_id),
                program,
                build.ProgramContext(
                    base=self._base,
                    registration=row.id,
                    program_id=program.id,
                    program_title=program.title,
                    program_version=program.version,
                    tier_id=tier.id,
                    tier_title=tier.title,
                ),
            )
            _ENROLMENTS.put(
                (self._base, row.id),
                (self._contexts[row.id], self._learners[row.person_id]),
            )

    def _fallback(self, person_id: int) -> build.Learner:
        """A person who never launched from an LMS: tierpath's own pseudonymous account."""
        return build.Learner(home_page=self._base, name=f"person-{person_id}")

    def _learner(self, person_id: int) -> build.Learner:
        """The person's LMS account (the one they launched from last), pseudonymous."""
        learner = self._learners.get(person_id)
        if learner is None:
            row = self._session.execute(
                sa.select(Platform.issuer, LmsUser.sub)
                .join(Platform, Platform.id == LmsUser.platform_id)
                .where(LmsUser.person_id == person_id)
                .order_by(LmsUser.last_launch_at.desc().nulls_last(), LmsUser.id.desc())
                .limit(1)
            ).first()
            if row is None:
                learner = self._fallback(person_id)
            else:
                learner = build.Learner(home_page=row.issuer, name=row.sub)
            self._learners[person_id] = learner
        return learner

    def _lms_account(self, user_id: int) -> build.Learner:
        signer = self._signers.get(user_id)
        if signer is None:
            row = self._session.execute(
                sa.select(Platform.issuer, LmsUser.sub)
                .join(Platform, Platform.id == LmsUser.platform_id)
                .where(LmsUser.id == user_id)
            ).one()
            signer = build.Learner(home_page=row.issuer, name=row.sub)
            self._signers[user_id] = signer
        return signer
