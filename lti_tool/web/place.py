"""Landing pages of links placed by Deep Linking: a tier, a module, a job rotation.

The link's target decides the page; the person's role in the launch decides
which view of it they get (a learner's own work, or the course's grading).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, redirect, url_for
from flask.typing import ResponseReturnValue

from lti_tool.db.models import Enrolment, LmsUser, Person, ProgramVersion
from lti_tool.domain.roles import ToolRole
from lti_tool.runtime import db
from lti_tool.web.auth import current_launch, requires_role
from lti_tool.web.learner import evaluate_programs

bp = Blueprint("place", __name__, url_prefix="/place")


def _is_learner() -> bool:
    return ToolRole(current_launch().role) is ToolRole.LEARNER


def _home(anchor: str) -> ResponseReturnValue:
    launch = current_launch()
    endpoint = "learner.home" if _is_learner() else "instructor.home"
    return redirect(url_for(endpoint, launch=launch.id, _anchor=anchor), 303)


def _enrolment(program_id: str, tier_id: str) -> Enrolment | None:
    user = db().get(LmsUser, current_launch().user_id)
    if user is None or user.person_id is None:
        return None
    return db().scalar(
        sa.select(Enrolment)
        .join(ProgramVersion, ProgramVersion.id == Enrolment.program_version_id)
        .where(
            Enrolment.person_id == user.person_id,
            ProgramVersion.program_id == program_id,
            Enrolment.tier_id == tier_id,
        )
        .order_by(Enrolment.started_at.desc())
        .limit(1)
    )


@bp.get("/tier/<program_id>/<tier_id>")
@requires_role(*ToolRole)
def tier(program_id: str, tier_id: str) -> ResponseReturnValue:
    """A placed tier: the learner's home at that tier; staff see the cohort."""
    return _home(f"tier-{program_id}-{tier_id}")


@bp.get("/module/<program_id>/<tier_id>/<module_id>")
@requires_role(*ToolRole)
def module(program_id: str, tier_id: str, module_id: str) -> ResponseReturnValue:
    """A placed module: the learner's home at that module; staff see the cohort."""
    return _home(f"m-{module_id}")


@bp.get("/rotation/<program_id>/<tier_id>/<rotation_id>")
@requires_role(*ToolRole)
def rotation(program_id: str, tier_id: str, rotation_id: str) -> ResponseReturnValue:
    """A placed job rotation: the learner's evidence page; staff the grading queue."""
    launch = current_launch()
    if not _is_learner():
        return redirect(url_for("grading.queue", launch=launch.id), 303)
    enrolment = _enrolment(program_id, tier_id)
    if enrolment is None:
        # First visit: decide eligibility and auto-enrol as the home would.
        user = db().get(LmsUser, launch.user_id)
        person = db().get(Person, user.person_id) if user and user.person_id else None
        evaluate_programs(person)
        enrolment = _enrolment(program_id, tier_id)
    if enrolment is None:
        # Not in that tier (yet): the home says why (eligibility, prerequisites).
        return _home(f"tier-{program_id}-{tier_id}")
    return redirect(
        url_for(
            "rotations.rotation",
            enrolment_id=enrolment.id,
            rotation_id=rotation_id,
            launch=launch.id,
        ),
        303,
    )
