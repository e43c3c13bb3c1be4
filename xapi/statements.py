"""Build xAPI 1.0.3 statements (also valid for 2.0 consumers) with tincan's data model.

Plain data in, tincan `Statement` out: the caller (tierpath's statement writer)
supplies who, what and the program context; nothing here touches a database,
Flask or the network. Statement ids are deterministic (uuid5 of the source
record and its revision) so a re-send is recognised by any LRS as the same
statement (xAPI Data 2.4.1, Communication 2.1.2).
"""

from __future__ import annotations

import functools
import re
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from tincan import (
    Activity,
    ActivityDefinition,
    Agent,
    AgentAccount,
    Attachment,
    Context,
    ContextActivities,
    Extensions,
    LanguageMap,
    Result,
    Score,
    Statement,
    StatementRef,
    Verb,
)
from tincan.version import Version

from xapi.vocabulary import PROFILE, ActivityType, AttachmentUsage, Extension
from xapi.vocabulary import Verb as V

# uuid5 namespace for statement ids: uuid5(NAMESPACE_URL, "https://w3id.org/tierpath/xapi").
STATEMENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://w3id.org/tierpath/xapi")

# `result.response` carries free text (evidence notes, grader feedback) cut to
# this many characters: enough to read in an LRS viewer, small enough to keep
# statements light. The full text stays in tierpath.
RESPONSE_LIMIT: Final = 2000

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def statement_id(kind: str, source: str, revision: int | str = 0) -> str:
    """Return the deterministic id of the statement for one source record revision."""
    return str(uuid.uuid5(STATEMENT_NAMESPACE, f"{kind}:{source}:{revision}"))


@dataclass(frozen=True)
class Learner:
    """The actor: the LMS account (platform issuer + LTI subject), no name or email."""

    home_page: str
    name: str

    def agent(self) -> Agent:
        return _agent(self.home_page, self.name)


class _Serialised:
    """Mixin for tincan objects shared by many statements: serialised once.

    tincan's `as_version` walks every object of a statement through checked
    setters each time; for the learner, verb, program, tier and module, which
    recur in every statement, that was half the cost of building one. The
    dict returned is shared: nothing downstream mutates statement JSON.
    """

    def as_version(self, version: str = Version.latest) -> Any:
        memo = self.__dict__.get("_serialised")
        if memo is None or memo[0] != version:
            memo = (version, super().as_version(version))  # type: ignore[misc]
            object.__setattr__(self, "_serialised", memo)
        return memo[1]


class _SharedAgent(_Serialised, Agent):  # type: ignore[misc]
    pass


class _SharedActivity(_Serialised, Activity):  # type: ignore[misc]
    pass


class _SharedVerb(_Serialised, Verb):  # type: ignore[misc]
    pass


@functools.lru_cache(maxsize=8192)
def _agent(home_page: str, name: str) -> Agent:
    """Agents recur (a learner's statements); built once, never mutated."""
    return _SharedAgent(account=AgentAccount(home_page=home_page, name=name))


@dataclass(frozen=True)
class ProgramContext:
    """Where an event sits: activity ids are IRIs under the deployment's base."""

    base: str  # e.g. https://tierpath.example.com
    registration: str  # the enrolment UUID
    program_id: str
    program_title: str
    program_version: str
    tier_id: str
    tier_title: str
    platform: str = "tierpath"
    language: str = "en"

    def program_iri(self) -> str:
        return f"{self.base}/programs/{self.program_id}"

    def tier_iri(self) -> str:
        return f"{self.program_iri()}/tiers/{self.tier_id}"

    def module_iri(self, module_id: str) -> str:
        return f"{self.program_iri()}/modules/{module_id}"

    def requirement_iri(self, requirement_id: str) -> str:
        return f"{self.tier_iri()}/requirements/{requirement_id}"

    def rotation_iri(self, rotation_id: str) -> str:
        return f"{self.program_iri()}/rotations/{rotation_id}"

    def evidence_iri(self, rotation_id: str, submission_id: int) -> str:
        return f"{self.rotation_iri(rotation_id)}/evidence/{submission_id}"


@dataclass(frozen=True)
class EvidenceFile:
    """One file of a rotation evidence submission, described (not carried).

    The statement lists it in `attachments` by hash; the bytes travel as a
    multipart part when the statement is delivered (Communication 1.5.2).
    """

    filename: str
    content_type: str
    length: int  # octets
    sha256: str  # lowercase hex SHA-256 of the bytes (the attachment's sha2)
    display_name: str  # shown to people: attachments[].display

    def __post_init__(self) -> None:
        if not _SHA256.match(self.sha256):
            raise ValueError("sha256 must be 64 lowercase hex digits")
        if self.length < 0:
            raise ValueError("length must not be negative")
        if not self.content_type:
            raise ValueError("content_type must not be empty")

    def attachment(self, language: str) -> Attachment:
        return Attachment(
            usage_type=AttachmentUsage.SUPPORTING_MEDIA,
            display=LanguageMap({language: self.display_name or self.filename}),
            content_type=self.content_type,
            length=self.length,
            sha2=self.sha256,
        )


def _new_activity(iri: str, kind: str, name: str, language: str) -> Activity:
    return Activity(
        id=iri,
        definition=ActivityDefinition(type=kind, name=LanguageMap({language: name})),
    )


@functools.lru_cache(maxsize=4096)
def _activity(iri: str, kind: str, name: str, language: str) -> Activity:
    """One tincan Activity per (id, type, name): shared, never mutated.

    Building tincan objects is most of a statement's cost (≈ 60 µs per activity
    through tincan's checked setters); programs, tiers and modules recur in
    every statement, so they are built once. One-off activities (an evidence
    submission) use `_new_activity` and stay out of the cache.
    """
    return _SharedActivity(
        id=iri,
        definition=ActivityDefinition(type=kind, name=LanguageMap({language: name})),
    )


@functools.lru_cache(maxsize=1)
def _profile() -> Activity:
    return _SharedActivity(id=PROFILE)


@functools.lru_cache(maxsize=64)
def _verb(iri: str) -> Verb:
    return _SharedVerb(id=iri, display=LanguageMap({"en-US": V.DISPLAY[iri]}))


class _SharedContextActivities(_Serialised, ContextActivities):  # type: ignore[misc]
    pass


_CONTEXT_ACTIVITIES: dict[tuple[Any, ...], tuple[Activity, ContextActivities]] = {}
_CONTEXT_ACTIVITIES_LOCK = threading.Lock()


def _context_activities(ctx: ProgramContext, parent: Activity) -> ContextActivities:
    """parent / grouping (program, tier) / category (profile), shared per place.

    Every pre-test of one module sits in the same place, whoever takes it, so
    the tincan object is built and serialised once. Keyed by the parent
    object's identity (the value keeps it alive); one-off parents just miss.
    """
    key = (
        ctx.program_iri(),
        ctx.program_title,
        ctx.tier_iri(),
        ctx.tier_title,
        ctx.language,
        id(parent),
    )
    with _CONTEXT_ACTIVITIES_LOCK:
        cached = _CONTEXT_ACTIVITIES.get(key)
    if cached is not None and cached[0] is parent:
        return cached[1]
    grouping = [
        _activity(
            ctx.program_iri(), ActivityType.PROGRAM, ctx.program_title, ctx.language
        )
    ]
    if parent.id != ctx.tier_iri():
        grouping.append(
            _activity(ctx.tier_iri(), ActivityType.TIER, ctx.tier_title, ctx.language)
        )
    activities = _SharedContextActivities(
        parent=[parent], grouping=grouping, category=[_profile()]
    )
    with _CONTEXT_ACTIVITIES_LOCK:
        if len(_CONTEXT_ACTIVITIES) >= 4096:
            _CONTEXT_ACTIVITIES.clear()
        _CONTEXT_ACTIVITIES[key] = (parent, activities)
    return activities


class _SharedExtensions(_Serialised, Extensions):  # type: ignore[misc]
    pass


@functools.lru_cache(maxsize=4096)
def _shared_extensions(items: tuple[tuple[str, Any], ...]) -> Extensions:
    return _SharedExtensions(dict(items))


def _context_extensions(values: dict[str, Any]) -> Extensions:
    """Context extensions recur (program version, test phase and form): shared when plain."""
    if all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in values.values()
    ):
        return _shared_extensions(tuple(sorted(values.items())))
    return Extensions(values)


def _context(
    ctx: ProgramContext,
    parent: Activity,
    *,
    extensions: dict[str, Any] | None = None,
    statement_ref: str | None = None,
    instructor: Learner | None = None,
) -> Context:
    context = Context(
        registration=uuid.UUID(ctx.registration),
        platform=ctx.platform,
        language=ctx.language,
        context_activities=_context_activities(ctx, parent),
        extensions=_context_extensions(
            {Extension.PROGRAM_VERSION: ctx.program_version, **(extensions or {})}
        ),
    )
    if statement_ref:
        context.statement = StatementRef(id=uuid.UUID(statement_ref))
    if instructor is not None:
        context.instructor = instructor.agent()
    return context


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC)


def _response(text: str | None) -> str | None:
    """Free text for `result.response`: stripped, cut to RESPONSE_LIMIT, None if empty."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) > RESPONSE_LIMIT:
        text = text[: RESPONSE_LIMIT - 1].rstrip() + "…"
    return text


def assessment_statement(
    *,
    learner: Learner,
    ctx: ProgramContext,
    module_id: str,
    module_title: str,
    phase: str,
    attempt_id: int,
    attempt_number: int,
    form_id: str,
    points: float,
    max_points: float,
    passed: bool,
    timestamp: datetime,
    pre_test_statement: str | None = None,
    gain: tuple[float, float | None] | None = None,
) -> Statement:
    """A scored pre-test (verb scored) or a post-test (verb passed or failed)."""
    if phase not in ("pre", "post"):
        raise ValueError(f"phase must be pre or post, not {phase!r}")
    verb = V.SCORED if phase == "pre" else (V.PASSED if passed else V.FAILED)
    module = _activity(
        ctx.module_iri(module_id), ActivityType.MODULE, module_title, ctx.language
    )
    label = "pre-test" if phase == "pre" else "post-test"
    test = _activity(
        f"{ctx.module_iri(module_id)}/{label}",
        ActivityType.ASSESSMENT,
        f"{module_title}: {label}",
        ctx.language,
    )
    result_extensions: dict[str, Any] = {Extension.ATTEMPT_NUMBER: attempt_number}
    if gain is not None:
        result_extensions[Extension.LEARNING_GAIN] = round(gain[0], 4)
        if gain[1] is not None:
            result_extensions[Extension.NORMALISED_GAIN] = round(gain[1], 4)
    result = Result(
        score=Score(
            raw=points,
            min=0.0,
            max=max_points,
            scaled=round(points / max_points, 4) if max_points else 0.0,
        ),
        completion=True,
        extensions=Extensions(result_extensions),
    )
    if phase == "post":
        result.success = passed
    return Statement(
        id=uuid.UUID(statement_id("attempt", str(attempt_id))),
        actor=learner.agent(),
        verb=_verb(verb),
        object=test,
        result=result,
        context=_context(
            ctx,
            module,
            extensions={Extension.ASSESSMENT_PHASE: phase, Extension.FORM: form_id},
            statement_ref=pre_test_statement,
        ),
        timestamp=_utc(timestamp),
    )


def assessment_statement_json(
    *,
    learner: Learner,
    ctx: ProgramContext,
    module_id: str,
    module_title: str,
    phase: str,
    attempt_id: int,
    attempt_number: int,
    form_id: str,
    points: float,
    max_points: float,
    passed: bool,
    timestamp: datetime,
    pre_test_statement: str | None = None,
    gain: tuple[float, float | None] | None = None,
) -> dict[str, Any]:
    """`to_json(assessment_statement(...))`, without a tincan `Statement` per call.

    Assessment attempts are the high-volume event (a bulk import records
    thousands a second), and tincan's checked setters were a third of the cost
    of recording one. The recurring parts (actor, verb, activities, context
    activities, context extensions) are still tincan objects, serialised once;
    only the per-attempt envelope (id, score, timestamp) is assembled here, in
    tincan's key order. tests/unit/xapi/test_statement_json.py pins it equal,
    key order included, to the tincan build for every shape.
    """
    if phase not in ("pre", "post"):
        raise ValueError(f"phase must be pre or post, not {phase!r}")
    verb = V.SCORED if phase == "pre" else (V.PASSED if passed else V.FAILED)
    module_iri = ctx.module_iri(module_id)
    module = _activity(module_iri, ActivityType.MODULE, module_title, ctx.language)
    label = "pre-test" if phase == "pre" else "post-test"
    test = _activity(
        f"{module_iri}/{label}",
        ActivityType.ASSESSMENT,
        f"{module_title}: {label}",
        ctx.language,
    )
    result_extensions: dict[str, Any] = {Extension.ATTEMPT_NUMBER: attempt_number}
    if gain is not None:
        result_extensions[Extension.LEARNING_GAIN] = round(gain[0], 4)
        if gain[1] is not None:
            result_extensions[Extension.NORMALISED_GAIN] = round(gain[1], 4)
    result: dict[str, Any] = {
        "score": {
            "scaled": float(round(points / max_points, 4)) if max_points else 0.0,
            "raw": float(points),
            "min": 0.0,
            "max": float(max_points),
        }
    }
    if phase == "post":
        result["success"] = bool(passed)
    result["completion"] = True
    result["extensions"] = result_extensions
    context = _context_json(
        ctx,
        module,
        extensions={Extension.ASSESSMENT_PHASE: phase, Extension.FORM: form_id},
        statement_ref=pre_test_statement,
    )
    return {
        "id": statement_id("attempt", str(attempt_id)),
        "result": result,
        "actor": learner.agent().as_version(),
        "verb": _verb(verb).as_version(),
        "object": test.as_version(),
        "timestamp": _utc(timestamp).isoformat(),
        "context": context,
    }


@functools.lru_cache(maxsize=8192)
def _context_head(
    registration: str, platform: str, language: str
) -> tuple[tuple[str, Any], ...]:
    """registration, platform and language as tincan serialises (and checks) them."""
    data = Context(
        registration=registration, platform=platform, language=language
    ).as_version()
    return tuple(data.items())


def _context_json(
    ctx: ProgramContext,
    parent: Activity,
    *,
    extensions: dict[str, Any] | None = None,
    statement_ref: str | None = None,
) -> dict[str, Any]:
    """`_context(...).as_version()` from shared, once-serialised parts."""
    head = dict(_context_head(ctx.registration, ctx.platform, ctx.language))
    data: dict[str, Any] = {}
    if "registration" in head:
        data["registration"] = head["registration"]
    data["contextActivities"] = _context_activities(ctx, parent).as_version()
    for key in ("platform", "language"):
        if key in head:
            data[key] = head[key]
    if statement_ref:
        data["statement"] = {
            "objectType": "StatementRef",
            "id": str(uuid.UUID(statement_ref)),
        }
    data["extensions"] = _context_extensions(
        {Extension.PROGRAM_VERSION: ctx.program_version, **(extensions or {})}
    ).as_version()
    return data


def module_completed_statement(
    *,
    learner: Learner,
    ctx: ProgramContext,
    module_id: str,
    module_title: str,
    timestamp: datetime,
) -> Statement:
    """A module's post-test was passed: the module is completed."""
    tier = _activity(ctx.tier_iri(), ActivityType.TIER, ctx.tier_title, ctx.language)
    return Statement(
        id=uuid.UUID(statement_id("module", f"{ctx.registration}:{module_id}")),
        actor=learner.agent(),
        verb=_verb(V.COMPLETED),
        object=_activity(
            ctx.module_iri(module_id), ActivityType.MODULE, module_title, ctx.language
        ),
        result=Result(completion=True, success=True),
        context=_context(ctx, tier),
        timestamp=_utc(timestamp),
    )


def tier_completed_statement(
    *, learner: Learner, ctx: ProgramContext, timestamp: datetime
) -> Statement:
    """The tier's completion rule is met (cmi5's `satisfied`: the system judged it)."""
    program = _activity(
        ctx.program_iri(), ActivityType.PROGRAM, ctx.program_title, ctx.language
    )
    return Statement(
        id=uuid.UUID(statement_id("tier", ctx.registration)),
        actor=learner.agent(),
        verb=_verb(V.SATISFIED),
        object=_activity(
            ctx.tier_iri(), ActivityType.TIER, ctx.tier_title, ctx.language
        ),
        result=Result(completion=True, success=True),
        context=_context(ctx, program),
        timestamp=_utc(timestamp),
    )


def tier_started_statement(
    *, learner: Learner, ctx: ProgramContext, reason: str, timestamp: datetime
) -> Statement:
    """The learner was enrolled in a tier (eligible, or auto-progression)."""
    program = _activity(
        ctx.program_iri(), ActivityType.PROGRAM, ctx.program_title, ctx.language
    )
    return Statement(
        id=uuid.UUID(statement_id("enrolment", ctx.registration)),
        actor=learner.agent(),
        verb=_verb(V.REGISTERED),
        object=_activity(
            ctx.tier_iri(), ActivityType.TIER, ctx.tier_title, ctx.language
        ),
        context=_context(ctx, program, extensions={Extension.ENROLMENT_REASON: reason}),
        timestamp=_utc(timestamp),
    )


def requirement_completed_statement(
    *,
    learner: Learner,
    ctx: ProgramContext,
    requirement_id: str,
    requirement_title: str,
    signoff_id: int,
    signed_by: Learner,
    timestamp: datetime,
) -> Statement:
    """An instructor signed off a tier requirement (e.g. 12 weeks of mentoring)."""
    tier = _activity(ctx.tier_iri(), ActivityType.TIER, ctx.tier_title, ctx.language)
    return Statement(
        id=uuid.UUID(statement_id("signoff", str(signoff_id))),
        actor=learner.agent(),
        verb=_verb(V.COMPLETED),
        object=_activity(
            ctx.requirement_iri(requirement_id),
            ActivityType.REQUIREMENT,
            requirement_title,
            ctx.language,
        ),
        result=Result(completion=True),
        context=_context(ctx, tier, instructor=signed_by),
        timestamp=_utc(timestamp),
    )


def _rotation(ctx: ProgramContext, rotation_id: str, rotation_title: str) -> Activity:
    return _activity(
        ctx.rotation_iri(rotation_id),
        ActivityType.JOB_ROTATION,
        rotation_title,
        ctx.language,
    )


def _evidence(
    ctx: ProgramContext, rotation_id: str, rotation_title: str, submission_id: int
) -> Activity:
    return _new_activity(
        ctx.evidence_iri(rotation_id, submission_id),
        ActivityType.DOCUMENT,
        f"{rotation_title}: evidence",
        ctx.language,
    )


def evidence_submitted_statement(
    *,
    learner: Learner,
    ctx: ProgramContext,
    rotation_id: str,
    rotation_title: str,
    submission_id: int,
    revision: int,
    evidence: Sequence[EvidenceFile],
    text: str | None,
    timestamp: datetime,
) -> Statement:
    """A learner submitted (a revision of) job-rotation evidence.

    Files are described in `attachments` (sha2, length, contentType) without a
    `fileUrl`: the deliverer sends their bytes as multipart parts. A new
    revision is a new statement; the previous one is voided.
    """
    response = _response(text)
    statement = Statement(
        id=uuid.UUID(statement_id("evidence", str(submission_id), revision)),
        actor=learner.agent(),
        verb=_verb(V.SUBMITTED),
        object=_evidence(ctx, rotation_id, rotation_title, submission_id),
        context=_context(
            ctx,
            _rotation(ctx, rotation_id, rotation_title),
            extensions={Extension.REVISION: revision},
        ),
        timestamp=_utc(timestamp),
    )
    if response is not None:
        statement.result = Result(response=response)
    if evidence:
        statement.attachments = [item.attachment(ctx.language) for item in evidence]
    return statement


def evidence_graded_statement(
    *,
    learner: Learner,
    ctx: ProgramContext,
    rotation_id: str,
    rotation_title: str,
    submission_id: int,
    revision: int,
    grade_id: int,
    grade_revision: int,
    grader: Learner,
    points: float,
    max_points: float,
    passed: bool | None,
    criteria: Mapping[str, float] | None,
    feedback: str | None,
    submitted_statement_id: str,
    timestamp: datetime,
    levels: Mapping[str, str] | None = None,
    rater: str = "primary",
) -> Statement:
    """A grader scored a learner's rotation evidence (passed/failed on a threshold).

    The actor is the learner (whose result it is); the grader is
    `context.instructor`, and `context.statement` points at the submission.
    """
    if max_points <= 0:
        raise ValueError("max_points must be positive")
    if not 0 <= points <= max_points:
        raise ValueError("points must be between 0 and max_points")
    verb = V.SCORED if passed is None else (V.PASSED if passed else V.FAILED)
    result_extensions: dict[str, Any] = {}
    if criteria:
        result_extensions[Extension.RUBRIC_SCORES] = {
            criterion: float(score) for criterion, score in criteria.items()
        }
    if levels:
        result_extensions[Extension.RUBRIC_LEVELS] = dict(levels)
    result = Result(
        score=Score(
            raw=float(points),
            min=0.0,
            max=float(max_points),
            scaled=round(points / max_points, 4),
        )
    )
    if passed is not None:
        result.success = passed
    response = _response(feedback)
    if response is not None:
        result.response = response
    if result_extensions:
        result.extensions = Extensions(result_extensions)
    return Statement(
        id=uuid.UUID(statement_id("grade", str(grade_id), grade_revision)),
        actor=learner.agent(),
        verb=_verb(verb),
        object=_evidence(ctx, rotation_id, rotation_title, submission_id),
        result=result,
        context=_context(
            ctx,
            _rotation(ctx, rotation_id, rotation_title),
            extensions={Extension.REVISION: revision, Extension.RATER: rater},
            statement_ref=submitted_statement_id,
            instructor=grader,
        ),
        timestamp=_utc(timestamp),
    )


def evidence_reviewed_statement(
    *,
    reviewer: Learner,
    ctx: ProgramContext,
    rotation_id: str,
    rotation_title: str,
    submission_id: int,
    revision: int,
    submitted_statement_id: str,
    timestamp: datetime,
) -> Statement:
    """A grader opened a learner's rotation evidence.

    The actor is the reviewer; whose evidence it is follows from the
    registration and `context.statement` (the submission). The id is per
    reviewer and submission: opening it again is the same statement.
    """
    return Statement(
        id=uuid.UUID(
            statement_id(
                "review", f"{submission_id}:{reviewer.home_page}:{reviewer.name}"
            )
        ),
        actor=reviewer.agent(),
        verb=_verb(V.REVIEWED),
        object=_evidence(ctx, rotation_id, rotation_title, submission_id),
        context=_context(
            ctx,
            _rotation(ctx, rotation_id, rotation_title),
            extensions={Extension.REVISION: revision},
            statement_ref=submitted_statement_id,
        ),
        timestamp=_utc(timestamp),
    )


def badge_earned_statement(
    *,
    learner: Learner,
    ctx: ProgramContext,
    achievement_id: str,
    achievement_name: str,
    credential_id: str,
    timestamp: datetime,
) -> Statement:
    """A badge (Open Badges achievement) was issued to the learner for the tier."""
    tier = _activity(ctx.tier_iri(), ActivityType.TIER, ctx.tier_title, ctx.language)
    return Statement(
        id=uuid.UUID(statement_id("badge", credential_id)),
        actor=learner.agent(),
        verb=_verb(V.EARNED),
        object=_activity(
            achievement_id, ActivityType.BADGE, achievement_name, ctx.language
        ),
        result=Result(extensions=Extensions({Extension.CREDENTIAL_ID: credential_id})),
        context=_context(ctx, tier),
        timestamp=_utc(timestamp),
    )


def voiding_statement(
    *,
    voided_statement_id: str,
    actor: Learner,
    timestamp: datetime,
    reason_source: str,
) -> Statement:
    """Void one of tierpath's statements (Data 2.3.2); a correction re-issues it.

    `reason_source` names the record revision that caused the correction
    (e.g. `grade:12:2`). No `registration` or `platform`: the object is a
    StatementRef, not an activity.
    """
    return Statement(
        id=uuid.UUID(statement_id("void", voided_statement_id)),
        actor=actor.agent(),
        verb=_verb(V.VOIDED),
        object=StatementRef(id=uuid.UUID(voided_statement_id)),
        context=Context(
            context_activities=ContextActivities(category=[_profile()]),
            extensions=Extensions({Extension.REASON_SOURCE: reason_source}),
        ),
        timestamp=_utc(timestamp),
    )


def to_json(statement: Statement) -> dict[str, Any]:
    """Serialise for storage and sending: tincan's JSON without `version`.

    xAPI Communication 2.1: the LRS sets `version`; an LRP SHOULD NOT, and 2.0
    consumers expect it absent from what a provider sends.
    """
    data: dict[str, Any] = statement.as_version()
    data.pop("version", None)
    return data
