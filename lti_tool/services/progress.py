"""Use cases for a learner's path: eligibility, enrolment, tier and module state.

`learner_programs` is what the learner home shows: every offered program with its
tiers in one of five states (locked, not eligible with reasons, eligible, in
progress, complete), module progress and the next action. Evaluating it stores
the eligibility decisions it made and auto-enrols where the program says so.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy import orm

from lti_tool.db.models import (
    Attempt,
    EligibilityDecisionRecord,
    Enrolment,
    EvidenceSubmission,
    KpiGroupStat,
    KpiValue,
    ModuleProgress,
    Person,
    ProgramVersion,
    RequirementSignoff,
)
from lti_tool.domain.assessments import LearningGain
from lti_tool.domain.eligibility import (
    EligibilityDecision,
    GroupStats,
    PeerIndex,
    PersonFacts,
    evaluate_tier,
)
from lti_tool.domain.events import (
    EligibilityDecided,
    RequirementSignedOff,
    TierCompleted,
    TierStarted,
)
from lti_tool.domain.programs import LearningModule, Program, Rotation, Tier
from lti_tool.domain.rotations import (
    GradeFacts,
    RotationState,
    SubmissionFacts,
    rotation_state,
)
from lti_tool.services.ports import EventSink
from lti_tool.services.programs import program_of


class TierState(StrEnum):
    """Where a learner stands on a tier."""

    LOCKED = "locked"
    NOT_ELIGIBLE = "not_eligible"
    ELIGIBLE = "eligible"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"


class ModuleStep(StrEnum):
    """The next thing to do in a module."""

    PRE_TEST = "pre_test"
    STUDY = "study"
    POST_TEST = "post_test"
    RETRY = "retry"
    NO_ATTEMPTS_LEFT = "no_attempts_left"
    COMPLETE = "complete"


@dataclass(frozen=True)
class AttemptSummary:
    """A submitted attempt as shown to people."""

    attempt_number: int
    points: float
    max_points: float
    passed: bool
    submitted_at: datetime

    @property
    def fraction(self) -> float:
        return self.points / self.max_points if self.max_points else 0.0


@dataclass(frozen=True)
class ModuleView:
    """One module of an in-progress (or complete) tier."""

    module: LearningModule
    step: ModuleStep
    pre: AttemptSummary | None
    post: AttemptSummary | None
    post_attempts: int
    post_attempts_left: int | None
    studied: bool

    @property
    def gain(self) -> LearningGain | None:
        if self.pre is None or self.post is None:
            return None
        return LearningGain(self.pre.fraction, self.post.fraction)


@dataclass(frozen=True)
class RotationView:
    """One job rotation of an enrolment: its state and latest submission."""

    rotation: Rotation
    state: RotationState
    submissions: tuple[EvidenceSubmission, ...] = ()  # oldest first

    @property
    def latest(self) -> EvidenceSubmission | None:
        return self.submissions[-1] if self.submissions else None


@dataclass(frozen=True)
class TierView:
    """One tier with its state, reasons and modules."""

    tier: Tier
    state: TierState
    decision: EligibilityDecision | None
    enrolment: Enrolment | None
    modules: tuple[ModuleView, ...] = ()
    signed_requirements: frozenset[str] = frozenset()
    missing_prerequisites: tuple[str, ...] = ()
    rotations: tuple[RotationView, ...] = ()

    @property
    def rotations_passed(self) -> int:
        return sum(1 for r in self.rotations if r.state is RotationState.PASSED)

    @property
    def modules_complete(self) -> int:
        return sum(1 for m in self.modules if m.step is ModuleStep.COMPLETE)


@dataclass(frozen=True)
class ProgramView:
    """One program on the learner home."""

    version: ProgramVersion
    program: Program
    tiers: tuple[TierView, ...]

    @property
    def next_action(self) -> tuple[TierView, ModuleView | None] | None:
        for tier in self.tiers:
            if tier.state is TierState.IN_PROGRESS:
                for module in tier.modules:
                    if module.step not in (
                        ModuleStep.COMPLETE,
                        ModuleStep.NO_ATTEMPTS_LEFT,
                    ):
                        return tier, module
                return tier, None
            if tier.state is TierState.ELIGIBLE:
                return tier, None
        return None


# -- facts and peers --------------------------------------------------------------


def facts_for(session: orm.Session, people: Sequence[Person]) -> dict[int, PersonFacts]:
    """Load the HR and KPI facts of some people in two queries."""
    kpis: dict[int, dict[str, dict[str, float]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    ids = [p.id for p in people]
    for chunk_start in range(0, len(ids), 900):
        chunk = ids[chunk_start : chunk_start + 900]
        for person_id, kpi, period, value in session.execute(
            sa.select(
                KpiValue.person_id, KpiValue.kpi, KpiValue.period, KpiValue.value
            ).where(KpiValue.person_id.in_(chunk))
        ):
            kpis[person_id][kpi][period] = value
    return {
        p.id: PersonFacts(
            person_id=p.id,
            hire_date=p.hire_date,
            site=p.site,
            line_of_business=p.line_of_business,
            disciplinary_action=p.disciplinary_action,
            performance_improvement_plan=p.performance_improvement_plan,
            review_score=p.review_score,
            kpis={k: dict(v) for k, v in kpis[p.id].items()},
        )
        for p in people
    }


def _stats_key(stats: GroupStats) -> str:
    return "|".join(f"{k}={v if v is not None else ''}" for k, v in stats.group)


def refresh_peer_stats(session: orm.Session) -> int:
    """Recompute and store every peer group's KPI statistics; return how many."""
    rows = session.execute(
        sa.select(
            Person.id,
            Person.site,
            Person.line_of_business,
            KpiValue.kpi,
            KpiValue.period,
            KpiValue.value,
        ).join(KpiValue, KpiValue.person_id == Person.id)
    )
    by_person: dict[int, PersonFacts] = {}
    kpis: dict[int, dict[str, dict[str, float]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    meta: dict[int, tuple[str | None, str | None]] = {}
    for person_id, site, line, kpi, period, value in rows:
        kpis[person_id][kpi][period] = value
        meta[person_id] = (site, line)
    for person_id, (site, line) in meta.items():
        by_person[person_id] = PersonFacts(
            person_id=person_id,
            hire_date=None,
            site=site,
            line_of_business=line,
            disciplinary_action=False,
            performance_improvement_plan=False,
            review_score=None,
            kpis={k: dict(v) for k, v in kpis[person_id].items()},
        )
    index = PeerIndex.build(by_person.values())
    session.execute(sa.delete(KpiGroupStat))
    stats = index.all_stats()
    if stats:
        session.execute(
            sa.insert(KpiGroupStat),
            [
                {
                    "kpi": s.kpi,
                    "period": s.period,
                    "group_key": _stats_key(s),
                    "stats": {
                        "group": [list(pair) for pair in s.group],
                        "count": s.count,
                        "mean": s.mean,
                        "q1_min": s.q1_min,
                        "q2_min": s.q2_min,
                        "q3_min": s.q3_min,
                    },
                }
                for s in stats
            ],
        )
    return len(stats)


_PEERS: dict[str, tuple[tuple[object, ...], PeerIndex]] = {}
_PEERS_LOCK = threading.Lock()


def load_peers(session: orm.Session) -> PeerIndex:
    """Return the peer index from stored group statistics (cached until they change).

    An import replaces every row (new ids), so (max id, count) identifies the
    generation of statistics; reading it is one cheap query per request.
    """
    generation = tuple(
        session.execute(
            sa.select(sa.func.max(KpiGroupStat.id), sa.func.count(KpiGroupStat.id))
        ).one()
    )
    key = str(session.get_bind().engine.url)
    with _PEERS_LOCK:
        cached = _PEERS.get(key)
    if cached is not None and cached[0] == generation:
        return cached[1]
    index = _read_peers(session)
    with _PEERS_LOCK:
        _PEERS[key] = (generation, index)
    return index


def _read_peers(session: orm.Session) -> PeerIndex:
    stats = []
    for kpi, period, data in session.execute(
        sa.select(KpiGroupStat.kpi, KpiGroupStat.period, KpiGroupStat.stats)
    ):
        stats.append(
            GroupStats(
                kpi=kpi,
                period=period,
                group=tuple((str(k), v) for k, v in data["group"]),
                count=int(data["count"]),
                mean=float(data["mean"]),
                q1_min=float(data["q1_min"]),
                q2_min=float(data["q2_min"]),
                q3_min=float(data["q3_min"]),
            )
        )
    return PeerIndex.from_stats(stats)


# -- decisions and enrolments -------------------------------------------------------


def store_decision(
    session: orm.Session,
    decision: EligibilityDecision,
    version: ProgramVersion,
    now: datetime,
    sink: EventSink,
    *,
    todays: Mapping[str, EligibilityDecisionRecord] | None = None,
) -> EligibilityDecisionRecord:
    """Store a decision (one per person, tier and day; re-deciding updates it).

    `todays` (tier id → today's stored record, loaded by the caller) saves a query
    per tier when the caller decides several tiers of one program.
    """
    if todays is not None:
        record = todays.get(decision.tier_id)
    else:
        record = session.scalar(
            sa.select(EligibilityDecisionRecord).where(
                EligibilityDecisionRecord.person_id == decision.person_id,
                EligibilityDecisionRecord.program_version_id == version.id,
                EligibilityDecisionRecord.tier_id == decision.tier_id,
                EligibilityDecisionRecord.as_of == decision.as_of,
            )
        )
    payload = decision.to_json()
    if record is not None and record.decision == payload:
        return record
    if record is None:
        record = EligibilityDecisionRecord(
            person_id=decision.person_id,
            program_version_id=version.id,
            tier_id=decision.tier_id,
            as_of=decision.as_of,
        )
        session.add(record)
    record.eligible = decision.eligible
    record.rule_version = decision.rule_version
    record.decision = payload
    record.decided_at = now
    session.flush()
    sink.publish(
        EligibilityDecided(
            occurred_at=now,
            person_id=decision.person_id,
            program_id=decision.program_id,
            program_version=decision.program_version,
            tier_id=decision.tier_id,
            eligible=decision.eligible,
            decision_id=record.id,
        )
    )
    return record


def enrol(
    session: orm.Session,
    person: Person,
    version: ProgramVersion,
    tier: Tier,
    now: datetime,
    reason: str,
    sink: EventSink,
) -> Enrolment:
    """Enrol a person in a tier (idempotent) and publish TierStarted."""
    existing = find_enrolment(session, person.id, version.id, tier.id)
    if existing is not None:
        return existing
    enrolment = Enrolment(
        id=str(uuid.uuid4()),
        person_id=person.id,
        program_version_id=version.id,
        tier_id=tier.id,
        state="in_progress",
        started_at=now,
        started_reason=reason,
    )
    winner = insert_enrolment(session, enrolment)
    if winner is not enrolment:
        return winner
    sink.publish(
        TierStarted(
            occurred_at=now,
            enrolment_id=enrolment.id,
            person_id=person.id,
            program_id=version.program_id,
            program_version=version.version,
            tier_id=tier.id,
            reason=reason,
        )
    )
    return enrolment


def find_enrolment(
    session: orm.Session, person_id: int, version_id: int, tier_id: str
) -> Enrolment | None:
    """Return a person's enrolment in one tier of one program version, if any."""
    return session.scalar(
        sa.select(Enrolment).where(
            Enrolment.person_id == person_id,
            Enrolment.program_version_id == version_id,
            Enrolment.tier_id == tier_id,
        )
    )


def insert_enrolment(session: orm.Session, enrolment: Enrolment) -> Enrolment:
    """Insert an enrolment; if a concurrent request inserted it first, return theirs.

    Two tabs opening the home at once both try to auto-enrol: the unique
    constraint lets one win, and the other takes the winner's row.
    """
    try:
        with session.begin_nested():
            session.add(enrolment)
    except sa.exc.IntegrityError:
        winner = find_enrolment(
            session,
            enrolment.person_id,
            enrolment.program_version_id,
            enrolment.tier_id,
        )
        if winner is None:
            raise
        return winner
    return enrolment


# -- tier and module state ------------------------------------------------------------


@dataclass
class _Progress:
    enrolments: dict[str, Enrolment] = field(default_factory=dict)
    attempts: dict[tuple[str, str, str], list[Attempt]] = field(
        default_factory=lambda: defaultdict(list)
    )
    studied: set[tuple[str, str]] = field(default_factory=set)
    signed: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # (enrolment id, rotation id) -> submissions, oldest first
    submissions: dict[tuple[str, str], list[EvidenceSubmission]] = field(
        default_factory=lambda: defaultdict(list)
    )


@dataclass
class _LearnerState:
    """Everything about one person's enrolments, loaded in at most four queries."""

    by_version: dict[int, _Progress] = field(default_factory=dict)
    pinned: dict[str, ProgramVersion] = field(default_factory=dict)


def _load_state(session: orm.Session, person: Person) -> _LearnerState:
    state = _LearnerState()
    version_of: dict[str, int] = {}
    for enrolment, version in session.execute(
        sa.select(Enrolment, ProgramVersion)
        .join(ProgramVersion, ProgramVersion.id == Enrolment.program_version_id)
        .where(Enrolment.person_id == person.id)
        .order_by(Enrolment.started_at)
    ):
        progress = state.by_version.setdefault(version.id, _Progress())
        progress.enrolments[enrolment.tier_id] = enrolment
        version_of[enrolment.id] = version.id
        # An enrolment stays on the version it started: the first one pins it.
        state.pinned.setdefault(version.program_id, version)
    ids = list(version_of)
    if not ids:
        return state
    for attempt in session.scalars(
        sa.select(Attempt)
        .where(Attempt.enrolment_id.in_(ids), Attempt.submitted_at.is_not(None))
        .order_by(Attempt.attempt_number)
    ):
        progress = state.by_version[version_of[attempt.enrolment_id]]
        progress.attempts[
            (attempt.enrolment_id, attempt.module_id, attempt.kind)
        ].append(attempt)
    for enrolment_id, module_id in session.execute(
        sa.select(ModuleProgress.enrolment_id, ModuleProgress.module_id).where(
            ModuleProgress.enrolment_id.in_(ids), ModuleProgress.studied_at.is_not(None)
        )
    ):
        state.by_version[version_of[enrolment_id]].studied.add(
            (enrolment_id, module_id)
        )
    for enrolment_id, requirement_id in session.execute(
        sa.select(
            RequirementSignoff.enrolment_id, RequirementSignoff.requirement_id
        ).where(RequirementSignoff.enrolment_id.in_(ids))
    ):
        state.by_version[version_of[enrolment_id]].signed[enrolment_id].add(
            requirement_id
        )
    for submission in session.scalars(
        sa.select(EvidenceSubmission)
        .where(EvidenceSubmission.enrolment_id.in_(ids))
        .options(
            orm.selectinload(EvidenceSubmission.grades),
            orm.selectinload(EvidenceSubmission.files),
        )
        .order_by(EvidenceSubmission.number)
    ):
        state.by_version[version_of[submission.enrolment_id]].submissions[
            (submission.enrolment_id, submission.rotation_id)
        ].append(submission)
    return state


def _load_progress(
    session: orm.Session, person: Person, version: ProgramVersion
) -> _Progress:
    return _load_state(session, person).by_version.get(version.id) or _Progress()


def _summary(attempt: Attempt | None) -> AttemptSummary | None:
    if attempt is None or attempt.submitted_at is None:
        return None
    return AttemptSummary(
        attempt_number=attempt.attempt_number,
        points=attempt.points or 0.0,
        max_points=attempt.max_points or 0.0,
        passed=bool(attempt.passed),
        submitted_at=attempt.submitted_at,
    )


def module_view(
    module: LearningModule,
    pre_attempts: Sequence[Attempt],
    post_attempts: Sequence[Attempt],
    studied: bool,
) -> ModuleView:
    """Work out a module's next step from its submitted attempts."""
    pre = _summary(pre_attempts[0]) if pre_attempts else None
    passed = next((a for a in post_attempts if a.passed), None)
    post = _summary(passed or (post_attempts[-1] if post_attempts else None))
    limit = module.post_test.max_attempts
    left = None if limit is None else max(0, limit - len(post_attempts))
    if passed is not None:
        step = ModuleStep.COMPLETE
    elif pre is None:
        step = ModuleStep.PRE_TEST
    elif not studied:
        step = ModuleStep.STUDY
    elif not post_attempts:
        step = ModuleStep.POST_TEST
    elif left == 0:
        step = ModuleStep.NO_ATTEMPTS_LEFT
    else:
        step = ModuleStep.RETRY
    return ModuleView(
        module=module,
        step=step,
        pre=pre,
        post=post,
        post_attempts=len(post_attempts),
        post_attempts_left=left,
        studied=studied,
    )


def tier_requirements_met(
    tier: Tier,
    modules: Iterable[ModuleView],
    signed: set[str],
    rotations: Iterable[RotationView] = (),
) -> bool:
    """Tell whether a tier's completion rule is met.

    Every post-test passed at the tier's threshold, every requirement signed
    off, and every rotation's latest evidence graded at its threshold.
    """
    threshold = tier.completion.post_test_threshold
    tests_ok = all(
        m.post is not None and m.post.passed and m.post.fraction + 1e-9 >= threshold
        for m in modules
    )
    requirements_ok = all(r.id in signed for r in tier.requirements)
    passed = {r.rotation.id for r in rotations if r.state is RotationState.PASSED}
    rotations_ok = all(r.id in passed for r in tier.rotations)
    return tests_ok and requirements_ok and rotations_ok


def submission_facts(
    submissions: Sequence[EvidenceSubmission],
) -> list[SubmissionFacts]:
    """The rule facts of submissions (primary grades only)."""
    return [
        SubmissionFacts(
            number=s.number,
            submitted_at=s.submitted_at,
            grades=[
                GradeFacts(g.revision, g.points, g.max_points, g.passed, g.graded_at)
                for g in s.grades
                if g.rater == "primary"
            ],
        )
        for s in submissions
    ]


def rotation_view(
    rotation: Rotation, submissions: Sequence[EvidenceSubmission]
) -> RotationView:
    """A rotation's state from a learner's submissions for it."""
    return RotationView(
        rotation,
        rotation_state(submission_facts(submissions)),
        tuple(sorted(submissions, key=lambda s: s.number)),
    )


def _tier_view(
    tier: Tier,
    decision: EligibilityDecision | None,
    enrolment: Enrolment | None,
    progress: _Progress,
    completed: set[str],
) -> TierView:
    missing = tuple(p for p in tier.prerequisites if p not in completed)
    if enrolment is None:
        if missing:
            state = TierState.LOCKED
        elif decision is not None and decision.eligible:
            state = TierState.ELIGIBLE
        else:
            state = TierState.NOT_ELIGIBLE
        return TierView(tier, state, decision, None, missing_prerequisites=missing)
    modules = tuple(
        module_view(
            module,
            progress.attempts.get((enrolment.id, module.id, "pre"), []),
            progress.attempts.get((enrolment.id, module.id, "post"), []),
            (enrolment.id, module.id) in progress.studied,
        )
        for module in tier.modules
    )
    rotations = tuple(
        rotation_view(
            rotation, progress.submissions.get((enrolment.id, rotation.id), [])
        )
        for rotation in tier.rotations
    )
    state = (
        TierState.COMPLETE if enrolment.state == "completed" else TierState.IN_PROGRESS
    )
    return TierView(
        tier,
        state,
        decision,
        enrolment,
        modules,
        frozenset(progress.signed.get(enrolment.id, set())),
        missing,
        rotations,
    )


def program_view(
    session: orm.Session,
    person: Person,
    facts: PersonFacts | None,
    version: ProgramVersion,
    peers: PeerIndex,
    as_of: date,
    now: datetime,
    sink: EventSink,
) -> ProgramView:
    """Evaluate one program version for a person: decide, auto-enrol, build the view."""
    return learner_programs(
        session, person, facts, [version], peers, as_of, now, sink, pin=False
    )[0]


def learner_programs(
    session: orm.Session,
    person: Person,
    facts: PersonFacts | None,
    offered: Sequence[ProgramVersion],
    peers: PeerIndex,
    as_of: date,
    now: datetime,
    sink: EventSink,
    *,
    pin: bool = True,
) -> list[ProgramView]:
    """Evaluate every offered program for a person with a fixed number of queries.

    With `pin`, a program the person is enrolled in is shown on the version
    their enrolment started on, not the current one.
    """
    state = _load_state(session, person)
    todays_all: dict[tuple[int, str], EligibilityDecisionRecord] = {}
    if facts is not None:
        for record in session.scalars(
            sa.select(EligibilityDecisionRecord).where(
                EligibilityDecisionRecord.person_id == person.id,
                EligibilityDecisionRecord.as_of == as_of,
            )
        ):
            todays_all[(record.program_version_id, record.tier_id)] = record
    views = []
    for current in offered:
        version = state.pinned.get(current.program_id, current) if pin else current
        progress = state.by_version.get(version.id) or _Progress()
        todays = {t: r for (v, t), r in todays_all.items() if v == version.id}
        views.append(
            _program_view(
                session,
                person,
                facts,
                version,
                progress,
                todays,
                peers,
                as_of,
                now,
                sink,
            )
        )
    return views


def _program_view(
    session: orm.Session,
    person: Person,
    facts: PersonFacts | None,
    version: ProgramVersion,
    progress: _Progress,
    todays: Mapping[str, EligibilityDecisionRecord],
    peers: PeerIndex,
    as_of: date,
    now: datetime,
    sink: EventSink,
) -> ProgramView:
    program = program_of(version)
    completed = {t for t, e in progress.enrolments.items() if e.state == "completed"}
    views = []
    for tier in program.tiers:
        decision = None
        if facts is not None and tier.id not in progress.enrolments:
            decision = evaluate_tier(facts, program, tier, peers, as_of)
            store_decision(session, decision, version, now, sink, todays=todays)
        enrolment = progress.enrolments.get(tier.id)
        prerequisites_done = all(p in completed for p in tier.prerequisites)
        if (
            enrolment is None
            and decision is not None
            and decision.eligible
            and prerequisites_done
            and _auto_enrols(program, tier, completed)
        ):
            reason = "auto_progression" if tier.prerequisites else "eligible"
            enrolment = enrol(session, person, version, tier, now, reason, sink)
            progress.enrolments[tier.id] = enrolment
        views.append(_tier_view(tier, decision, enrolment, progress, completed))
    return ProgramView(version, program, tuple(views))


def _auto_enrols(program: Program, tier: Tier, completed: set[str]) -> bool:
    if tier.prerequisites:
        # A later tier starts by itself only with auto-progression (Starwood).
        return program.auto_progress
    return program.auto_enrol


def complete_tier_if_done(
    session: orm.Session,
    person: Person,
    enrolment: Enrolment,
    now: datetime,
    sink: EventSink,
) -> bool:
    """Mark the enrolment complete when the tier's rule is met; publish TierCompleted."""
    if enrolment.state == "completed":
        return False
    version = enrolment.program_version
    program = program_of(version)
    tier = program.tier(enrolment.tier_id)
    progress = _load_progress(session, person, version)
    view = _tier_view(tier, None, enrolment, progress, set())
    if not tier_requirements_met(
        tier, view.modules, set(view.signed_requirements), view.rotations
    ):
        return False
    enrolment.state = "completed"
    enrolment.completed_at = now
    if tier.expiry_months:
        enrolment.expires_at = now + timedelta(days=round(tier.expiry_months * 30.44))
    session.flush()
    sink.publish(
        TierCompleted(
            occurred_at=now,
            enrolment_id=enrolment.id,
            person_id=person.id,
            program_id=version.program_id,
            program_version=version.version,
            tier_id=tier.id,
        )
    )
    return True


def sign_off_requirement(
    session: orm.Session,
    person: Person,
    enrolment: Enrolment,
    requirement_id: str,
    signed_by_user_id: int,
    now: datetime,
    sink: EventSink,
) -> RequirementSignoff:
    """Record an instructor's sign-off (once) and complete the tier if it was the last step.

    The caller has checked the signer may sign (staff of the learner's course,
    not the learner) and that the tier has this requirement.
    """
    existing = session.scalar(
        sa.select(RequirementSignoff).where(
            RequirementSignoff.enrolment_id == enrolment.id,
            RequirementSignoff.requirement_id == requirement_id,
        )
    )
    if existing is not None:
        return existing
    signoff = RequirementSignoff(
        enrolment_id=enrolment.id,
        requirement_id=requirement_id,
        signed_by_user_id=signed_by_user_id,
        signed_at=now,
    )
    session.add(signoff)
    session.flush()
    sink.publish(
        RequirementSignedOff(
            occurred_at=now,
            enrolment_id=enrolment.id,
            person_id=person.id,
            program_id=enrolment.program_version.program_id,
            tier_id=enrolment.tier_id,
            requirement_id=requirement_id,
            signoff_id=signoff.id,
            signed_by_user_id=signed_by_user_id,
        )
    )
    complete_tier_if_done(session, person, enrolment, now, sink)
    return signoff
