"""Build xAPI 1.0.3 statements (also valid for 2.0 consumers) with tincan's data model.

Plain data in, tincan `Statement` out: the caller (tierpath's statement writer)
supplies who, what and the program context; nothing here touches a database,
Flask or the network. Statement ids are deterministic (uuid5 of the source
record and its revision) so a re-send is recognised by any LRS as the same
statement (xAPI Data 2.4.1, Communication 2.1.2).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tincan import (
    Activity,
    ActivityDefinition,
    Agent,
    AgentAccount,
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

from xapi.vocabulary import PROFILE, ActivityType, Extension
from xapi.vocabulary import Verb as V

# uuid5 namespace for statement ids: uuid5(NAMESPACE_URL, "https://w3id.org/tierpath/xapi").
STATEMENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://w3id.org/tierpath/xapi")


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


@functools.lru_cache(maxsize=8192)
def _agent(home_page: str, name: str) -> Agent:
    """Agents recur (a learner's statements); built once, never mutated."""
    return Agent(account=AgentAccount(home_page=home_page, name=name))


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


@functools.lru_cache(maxsize=4096)
def _activity(iri: str, kind: str, name: str, language: str) -> Activity:
    """One tincan Activity per (id, type, name): shared, never mutated.

    Building tincan objects is most of a statement's cost (≈ 60 µs per activity
    through tincan's checked setters); programs, tiers and modules recur in
    every statement, so they are built once.
    """
    return Activity(
        id=iri,
        definition=ActivityDefinition(type=kind, name=LanguageMap({language: name})),
    )


@functools.lru_cache(maxsize=1)
def _profile() -> Activity:
    return Activity(id=PROFILE)


@functools.lru_cache(maxsize=64)
def _verb(iri: str) -> Verb:
    return Verb(id=iri, display=LanguageMap({"en-US": V.DISPLAY[iri]}))


def _context(
    ctx: ProgramContext,
    parent: Activity,
    *,
    extensions: dict[str, Any] | None = None,
    statement_ref: str | None = None,
) -> Context:
    grouping = [
        _activity(
            ctx.program_iri(), ActivityType.PROGRAM, ctx.program_title, ctx.language
        )
    ]
    if parent.id != ctx.tier_iri():
        grouping.append(
            _activity(ctx.tier_iri(), ActivityType.TIER, ctx.tier_title, ctx.language)
        )
    context = Context(
        registration=uuid.UUID(ctx.registration),
        platform=ctx.platform,
        language=ctx.language,
        context_activities=ContextActivities(
            parent=[parent],
            grouping=grouping,
            category=[_profile()],
        ),
        extensions=Extensions(
            {Extension.PROGRAM_VERSION: ctx.program_version, **(extensions or {})}
        ),
    )
    if statement_ref:
        context.statement = StatementRef(id=uuid.UUID(statement_ref))
    return context


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC)


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


def to_json(statement: Statement) -> dict[str, Any]:
    """Serialise for storage and sending: tincan's JSON without `version`.

    xAPI Communication 2.1: the LRS sets `version`; an LRP SHOULD NOT, and 2.0
    consumers expect it absent from what a provider sends.
    """
    data: dict[str, Any] = statement.as_version()
    data.pop("version", None)
    return data
