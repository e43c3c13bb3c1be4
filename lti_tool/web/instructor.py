"""Instructor pages: the cohort (eligibility, progress, pre/post scores), CSV, roster."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from lti_tool.db.models import (
    Enrolment,
    LmsUser,
    Membership,
    Person,
)
from lti_tool.domain.roles import ToolRole
from lti_tool.errors import Refused
from lti_tool.lti.advantage import CLAIM_AGS, CLAIM_NRPS, Advantage
from lti_tool.runtime import db, runtime
from lti_tool.services import progress as progress_service
from lti_tool.services.programs import offered_versions, program_of
from lti_tool.services.roster import sync_roster
from lti_tool.web.auth import current_launch, current_session, requires_role
from lti_tool.web.tokens import token_cache, tool_key

bp = Blueprint("instructor", __name__, url_prefix="/instructor")
STAFF = (ToolRole.INSTRUCTOR, ToolRole.ADMINISTRATOR)


@dataclass(frozen=True)
class CohortRow:
    """One learner of the course with their programs."""

    user: LmsUser
    person: Person | None
    programs: tuple[progress_service.ProgramView, ...]


def _cohort() -> list[CohortRow]:
    launch = current_launch()
    if launch.context_id is None:
        return []
    rt = runtime()
    session = db()
    now = rt.clock()
    users = list(
        session.scalars(
            sa.select(LmsUser)
            .join(Membership, Membership.user_id == LmsUser.id)
            .where(
                Membership.context_id == launch.context_id,
                Membership.role == ToolRole.LEARNER.value,
                sa.or_(
                    Membership.roster_status.is_(None),
                    Membership.roster_status != "Deleted",
                ),
            )
            .order_by(LmsUser.family_name, LmsUser.name)
        )
    )
    person_ids = [u.person_id for u in users if u.person_id is not None]
    people = {
        p.id: p
        for p in session.scalars(sa.select(Person).where(Person.id.in_(person_ids)))
    }
    facts = progress_service.facts_for(session, list(people.values()))
    peers = progress_service.load_peers(session)
    versions = offered_versions(session, launch.context_id)
    rows = []
    for user in users:
        person = people.get(user.person_id) if user.person_id else None
        views: tuple[progress_service.ProgramView, ...] = ()
        if person is not None:
            views = tuple(
                progress_service.learner_programs(
                    session,
                    person,
                    facts.get(person.id),
                    versions,
                    peers,
                    now.date(),
                    now,
                    rt.sink_for(session),
                )
            )
        rows.append(CohortRow(user, person, views))
    session.commit()
    return rows


@bp.get("/", endpoint="home")
@requires_role(*STAFF)
def home() -> str:
    """The cohort: eligibility, progress and pre/post scores per learner."""
    launch = current_launch()
    return render_template(
        "instructor/home.html",
        launch=launch,
        cohort=_cohort(),
        has_roster=CLAIM_NRPS in launch.claims,
        has_grades=CLAIM_AGS in launch.claims,
        csrf_token=current_session().csrf_token,
        TierState=progress_service.TierState,
    )


CSV_COLUMNS = (
    "learner",
    "email",
    "employee_id",
    "program",
    "program_version",
    "tier",
    "tier_state",
    "eligible",
    "not_met",
    "module",
    "pre_test_pct",
    "post_test_pct",
    "post_test_attempts",
    "gain_points",
    "normalised_gain",
)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


@bp.get("/cohort.csv")
@requires_role(*STAFF)
def cohort_csv() -> Response:
    """Export the cohort, one row per learner, tier and module."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in _cohort():
        base = [
            row.user.name or row.user.sub,
            row.user.email or "",
            row.person.employee_id if row.person else "",
        ]
        if not row.programs:
            writer.writerow([*base, *([""] * (len(CSV_COLUMNS) - 3))])
        for pv in row.programs:
            for tv in pv.tiers:
                decision = tv.decision
                tier_part = [
                    pv.program.id,
                    pv.version.version,
                    tv.tier.id,
                    tv.state.value,
                    "" if decision is None else ("yes" if decision.eligible else "no"),
                    ""
                    if decision is None
                    else " | ".join(r.message for r in decision.failed()),
                ]
                if not tv.modules:
                    writer.writerow([*base, *tier_part, "", "", "", "", "", ""])
                for mv in tv.modules:
                    gain = mv.gain
                    writer.writerow(
                        [
                            *base,
                            *tier_part,
                            mv.module.id,
                            _pct(mv.pre.fraction if mv.pre else None),
                            _pct(mv.post.fraction if mv.post else None),
                            mv.post_attempts,
                            _pct(gain.raw if gain else None),
                            ""
                            if gain is None or gain.normalised is None
                            else f"{gain.normalised:.3f}",
                        ]
                    )
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="cohort.csv"'
    return response


@bp.post("/signoff")
@requires_role(*STAFF)
def signoff() -> ResponseReturnValue:
    """Sign off a tier requirement (the mentoring placeholder) for a learner."""
    session = db()
    launch = current_launch()
    enrolment = session.get(Enrolment, request.form.get("enrolment_id", ""))
    requirement_id = request.form.get("requirement_id", "")
    if enrolment is None or launch.context_id is None:
        raise Refused(404, "no_such_enrolment", "There is no such enrolment.")
    in_course = session.scalar(
        sa.select(sa.func.count())
        .select_from(Membership)
        .join(LmsUser, LmsUser.id == Membership.user_id)
        .where(
            Membership.context_id == launch.context_id,
            LmsUser.person_id == enrolment.person_id,
        )
    )
    if not in_course:
        raise Refused(403, "not_in_course", "This learner is not in your course.")
    signer = session.get(LmsUser, launch.user_id)
    if signer is not None and signer.person_id == enrolment.person_id:
        raise Refused(403, "self_signoff", "You cannot sign off your own requirement.")
    tier = program_of(enrolment.program_version).tier(enrolment.tier_id)
    if requirement_id not in {r.id for r in tier.requirements}:
        raise Refused(404, "no_such_requirement", "This tier has no such requirement.")
    rt = runtime()
    person = session.get(Person, enrolment.person_id)
    assert person is not None
    progress_service.sign_off_requirement(
        session,
        person,
        enrolment,
        requirement_id,
        launch.user_id,
        rt.clock(),
        rt.sink_for(session),
    )
    session.commit()
    return redirect(url_for("instructor.home", launch=launch.id), 303)


@bp.get("/roster")
@requires_role(*STAFF)
def roster() -> str:
    """The course roster from the LMS (NRPS, every page), synced into the cohort.

    People who never launched tierpath become part of the cohort (linked to
    their HR record by email), so the instructor sees everyone.
    """
    rt = runtime()
    session = db()
    launch = current_launch()
    advantage = Advantage(launch, tool_key(), rt.http, token_cache())
    members = advantage.members()
    synced = None
    if launch.context_id is not None:
        synced = sync_roster(
            session, launch.platform_id, launch.context_id, members, rt.clock()
        )
        session.commit()
    return render_template(
        "instructor/roster.html", launch=launch, members=members, synced=synced
    )
