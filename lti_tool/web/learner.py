"""Learner pages: the home (programs, tiers, eligibility, next step) and the tests."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from lti_tool.db.models import Attempt, Enrolment, Person, ProgramVersion
from lti_tool.domain.programs import AssessmentKind
from lti_tool.domain.roles import ToolRole
from lti_tool.errors import Refused
from lti_tool.runtime import db, runtime
from lti_tool.services import assessments as assessment_service
from lti_tool.services import progress as progress_service
from lti_tool.services.programs import offered_versions, program_of
from lti_tool.web.auth import (
    current_launch,
    current_person,
    current_session,
    requires_role,
)
from lti_tool.web.badge_wall import wall_entries

bp = Blueprint("learner", __name__, url_prefix="/learner")

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"


def _offered() -> list[ProgramVersion]:
    launch = current_launch()
    versions = offered_versions(db(), launch.context_id)
    custom = launch.claims.get(CUSTOM)
    wanted = custom.get("program") if isinstance(custom, dict) else None
    if isinstance(wanted, str) and wanted:
        versions = [v for v in versions if v.program_id == wanted]
    return versions


def evaluate_programs(
    person: Person | None,
) -> list[progress_service.ProgramView]:
    """Decide eligibility and auto-enrol for the offered programs (one commit)."""
    if person is None:
        return []
    rt = runtime()
    session = db()
    now = rt.clock()
    facts = progress_service.facts_for(session, [person]).get(person.id)
    peers = progress_service.load_peers(session)
    views = progress_service.learner_programs(
        session,
        person,
        facts,
        _offered(),
        peers,
        now.date(),
        now,
        rt.sink_for(session),
    )
    session.commit()
    return views


@bp.get("/", endpoint="home")
@requires_role(ToolRole.LEARNER)
def home() -> str:
    """The learner home: each program's tiers, why (not yet), and the next step."""
    person = current_person()
    views = evaluate_programs(person)
    badges, badges_waiting = wall_entries()
    return render_template(
        "learner/home.html",
        launch=current_launch(),
        person=person,
        programs=views,
        badges=badges,
        badges_waiting=badges_waiting,
        csrf_token=current_session().csrf_token,
        TierState=progress_service.TierState,
        ModuleStep=progress_service.ModuleStep,
    )


def _enrolment(enrolment_id: str, person: Person | None) -> Enrolment:
    enrolment = db().get(Enrolment, enrolment_id)
    if enrolment is None or person is None or enrolment.person_id != person.id:
        raise Refused(404, "no_such_enrolment", "This tier enrolment is not yours.")
    return enrolment


def _refused(exc: assessment_service.AttemptRefused) -> Refused:
    return Refused(409, exc.code, exc.message, hint="Go back to your home page.")


@bp.get("/enrolments/<enrolment_id>/modules/<module_id>/<kind>")
@requires_role(ToolRole.LEARNER)
def take_test(enrolment_id: str, module_id: str, kind: str) -> str:
    """Show a pre- or post-test (prompts and choices only; answers stay on the server)."""
    session = db()
    person = current_person()
    enrolment = _enrolment(enrolment_id, person)
    assert person is not None
    try:
        kind_value = AssessmentKind(kind)
    except ValueError:
        raise Refused(404, "no_such_test", "There is no such test.") from None
    try:
        attempt = assessment_service.start_attempt(
            session, enrolment, person, module_id, kind_value, runtime().clock()
        )
    except assessment_service.AttemptRefused as exc:
        raise _refused(exc) from exc
    session.commit()
    return _render_test(enrolment, attempt)


def _render_test(
    enrolment: Enrolment, attempt: Attempt, error: str | None = None
) -> str:
    program = program_of(enrolment.program_version)
    tier = program.tier(enrolment.tier_id)
    module = next(m for m in tier.modules if m.id == attempt.module_id)
    questions: list[dict[str, Any]] = []
    for shown in attempt.presented:
        item = program.items[shown["item_id"]]
        texts = {c.id: c.text for c in item.choices}
        questions.append(
            {
                "id": item.id,
                "kind": item.kind.value,
                "prompt": item.prompt,
                "unit": item.unit,
                "choices": [(cid, texts[cid]) for cid in shown["choice_ids"]],
            }
        )
    return render_template(
        "learner/test.html",
        launch=current_launch(),
        enrolment=enrolment,
        attempt=attempt,
        module=module,
        tier=tier,
        questions=questions,
        csrf_token=current_session().csrf_token,
        error=error,
    )


@bp.post("/attempts/<int:attempt_id>")
@requires_role(ToolRole.LEARNER)
def submit(attempt_id: int) -> ResponseReturnValue:
    """Score a submitted test on the server and show the result."""
    session = db()
    person = current_person()
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or person is None or attempt.person_id != person.id:
        raise Refused(404, "no_such_attempt", "This test attempt is not yours.")
    enrolment = _enrolment(attempt.enrolment_id, person)
    answers = {
        shown["item_id"]: request.form.getlist(f"q-{shown['item_id']}")
        for shown in attempt.presented
    }
    answers = {k: v for k, v in answers.items() if any(a.strip() for a in v)}
    rt = runtime()
    try:
        result = assessment_service.submit_attempt(
            session,
            attempt,
            enrolment,
            person,
            answers,
            rt.clock(),
            rt.sink_for(session, current_launch()),
        )
    except assessment_service.AttemptRefused as exc:
        session.rollback()
        if exc.code == "bad_answer":
            return _render_test(enrolment, attempt, error=exc.message), 400
        raise _refused(exc) from exc
    session.commit()
    return redirect(
        url_for(
            "learner.result", attempt_id=result.attempt.id, launch=current_launch().id
        ),
        303,
    )


@bp.get("/attempts/<int:attempt_id>")
@requires_role(ToolRole.LEARNER)
def result(attempt_id: int) -> str:
    """Show a submitted attempt's score and, per item, right or wrong with the explanation."""
    session = db()
    person = current_person()
    attempt = session.get(Attempt, attempt_id)
    if (
        attempt is None
        or person is None
        or attempt.person_id != person.id
        or attempt.submitted_at is None
    ):
        raise Refused(404, "no_such_attempt", "This test attempt is not yours.")
    enrolment = _enrolment(attempt.enrolment_id, person)
    program = program_of(enrolment.program_version)
    tier = program.tier(enrolment.tier_id)
    module = next(m for m in tier.modules if m.id == attempt.module_id)
    by_item = {r.item_id: r for r in attempt.responses}
    rows = [
        (program.items[s["item_id"]], by_item.get(s["item_id"]))
        for s in attempt.presented
    ]
    return render_template(
        "learner/result.html",
        launch=current_launch(),
        attempt=attempt,
        module=module,
        tier=tier,
        rows=rows,
        threshold=module.post_test.pass_threshold,
        enrolment=enrolment,
    )


@bp.post("/enrolments/<enrolment_id>/modules/<module_id>/studied")
@requires_role(ToolRole.LEARNER)
def studied(enrolment_id: str, module_id: str) -> ResponseReturnValue:
    """Record that the learner worked through the module; the post-test opens."""
    session = db()
    enrolment = _enrolment(enrolment_id, current_person())
    try:
        assessment_service.mark_studied(
            session, enrolment, module_id, runtime().clock()
        )
    except assessment_service.AttemptRefused as exc:
        raise _refused(exc) from exc
    session.commit()
    return redirect(
        url_for("learner.home", launch=current_launch().id) + f"#m-{module_id}", 303
    )


@bp.post("/programs/<int:version_id>/tiers/<tier_id>/start")
@requires_role(ToolRole.LEARNER)
def start_tier(version_id: int, tier_id: str) -> ResponseReturnValue:
    """Start a tier the learner is eligible for (programs without auto-enrolment)."""
    rt = runtime()
    session = db()
    person = current_person()
    version = session.get(ProgramVersion, version_id)
    if person is None or version is None:
        raise Refused(404, "no_such_program", "There is no such program for you.")
    now = rt.clock()
    facts = progress_service.facts_for(session, [person]).get(person.id)
    view = progress_service.program_view(
        session,
        person,
        facts,
        version,
        progress_service.load_peers(session),
        now.date(),
        now,
        rt.sink_for(session),
    )
    tier_view = next((t for t in view.tiers if t.tier.id == tier_id), None)
    if tier_view is None or tier_view.state is not progress_service.TierState.ELIGIBLE:
        raise Refused(
            409,
            "not_eligible",
            "You cannot start this tier yet.",
            hint="Your home page says why.",
        )
    progress_service.enrol(
        session, person, version, tier_view.tier, now, "eligible", rt.sink_for(session)
    )
    session.commit()
    return redirect(url_for("learner.home", launch=current_launch().id), 303)
