"""The learner's badge wall and the administrators' badge register (revoke, re-issue).

The wall lists a learner's own credentials with their downloads, a LinkedIn
"add certification" link and the public page to share. Administrators see every
credential, revoke one with a reason, re-issue after a correction, and issue the
badges of completed tiers that have none yet (for example when no email was known).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from lti_tool.db.models import BadgeCredential, Enrolment, LmsUser, Person
from lti_tool.domain.roles import ToolRole
from lti_tool.errors import Refused
from lti_tool.runtime import db, runtime
from lti_tool.services import badges as badge_service
from lti_tool.services.programs import program_of
from lti_tool.web.auth import (
    current_launch,
    current_person,
    current_session,
    requires_role,
)

bp = Blueprint("badge_wall", __name__)

LINKEDIN_ADD = "https://www.linkedin.com/profile/add"


@dataclass(frozen=True)
class WallEntry:
    """One credential as the wall shows it."""

    credential: BadgeCredential
    name: str
    state: str  # valid | revoked | expired
    public_url: str
    linkedin_url: str


def linkedin_url(
    name: str,
    organisation: str,
    issued_at: datetime,
    valid_until: datetime | None,
    public_url: str,
    credential_id: str,
) -> str:
    """LinkedIn's "add license or certification" link, prefilled."""
    fields = {
        "startTask": "CERTIFICATION_NAME",
        "name": name,
        "organizationName": organisation,
        "issueYear": issued_at.year,
        "issueMonth": issued_at.month,
        "certUrl": public_url,
        "certId": credential_id,
    }
    if valid_until is not None:
        fields["expirationYear"] = valid_until.year
        fields["expirationMonth"] = valid_until.month
    return f"{LINKEDIN_ADD}?{urlencode(fields)}"


def _wall(person: Person | None) -> tuple[list[WallEntry], list[str]]:
    if person is None:
        return [], []
    rt = runtime()
    issuer = rt.badge_issuer()
    now = rt.clock()
    entries = []
    for credential in badge_service.badges_of(db(), person.id):
        name = str(credential.document.get("name", ""))
        public_url = issuer.credential_url(credential.id)
        entries.append(
            WallEntry(
                credential=credential,
                name=name,
                state=badge_service.credential_state(credential, now),
                public_url=public_url,
                linkedin_url=linkedin_url(
                    name,
                    issuer.name,
                    credential.issued_at,
                    credential.valid_until,
                    public_url,
                    credential.id,
                ),
            )
        )
    waiting = [
        f"{program_of(e.program_version).title}: "
        f"{program_of(e.program_version).tier(e.tier_id).title}"
        for e in badge_service.completed_without_badge(db(), person_id=person.id)
    ]
    return entries, waiting


@bp.get("/learner/badges", endpoint="wall")
@requires_role(ToolRole.LEARNER)
def wall() -> str:
    """The learner's own badges: downloads, LinkedIn, the page to share."""
    entries, waiting = _wall(current_person())
    return render_template(
        "badges/wall.html", launch=current_launch(), entries=entries, waiting=waiting
    )


def wall_entries() -> tuple[list[WallEntry], list[str]]:
    """The wall's content for the learner home (the current launch's person)."""
    return _wall(current_person())


@bp.get("/place/badges")
@requires_role(*ToolRole)
def placed() -> ResponseReturnValue:
    """A placed badge wall: learners see theirs; staff see the badge register."""
    launch = current_launch()
    if ToolRole(launch.role) is ToolRole.LEARNER:
        return redirect(url_for("badge_wall.wall", launch=launch.id), 303)
    if ToolRole(launch.role) is ToolRole.ADMINISTRATOR:
        return redirect(url_for("badge_wall.register", launch=launch.id), 303)
    return redirect(url_for("instructor.home", launch=launch.id), 303)


# --- administrators ---------------------------------------------------------------


@bp.get("/admin/badges/", endpoint="register")
@requires_role(ToolRole.ADMINISTRATOR)
def register() -> str:
    """Every credential, newest first, searchable by the holder's name or email."""
    session = db()
    query = request.args.get("q", "").strip()[:200]
    statement = (
        sa.select(BadgeCredential, Person)
        .join(Person, Person.id == BadgeCredential.person_id)
        .order_by(BadgeCredential.issued_at.desc(), BadgeCredential.id)
        .limit(200)
    )
    if query:
        like = f"%{query.lower()}%"
        statement = statement.where(
            sa.or_(
                sa.func.lower(Person.name).like(like),
                sa.func.lower(Person.email).like(like),
                sa.func.lower(Person.employee_id).like(like),
                BadgeCredential.id == query,
            )
        )
    rows = session.execute(statement).all()
    now = runtime().clock()
    waiting = badge_service.completed_without_badge(session)
    people = {
        p.id: p
        for p in session.scalars(
            sa.select(Person).where(Person.id.in_({e.person_id for e in waiting}))
        )
    }
    return render_template(
        "admin/badges.html",
        launch=current_launch(),
        csrf_token=current_session().csrf_token,
        rows=[(c, p, badge_service.credential_state(c, now)) for c, p in rows],
        waiting=[
            (e, people.get(e.person_id), program_of(e.program_version)) for e in waiting
        ],
        query=query,
        done=request.args.get("done"),
        problem=request.args.get("problem"),
    )


def _back(**message: str) -> ResponseReturnValue:
    target = url_for("badge_wall.register", launch=current_launch().id)
    return redirect(f"{target}&{urlencode(message)}", 303)


def _admin_name() -> str:
    user = db().get(LmsUser, current_launch().user_id)
    label = (user.name or user.email or user.sub) if user is not None else None
    return label or "an administrator"


@bp.post("/admin/badges/<credential_id>/revoke")
@requires_role(ToolRole.ADMINISTRATOR)
def revoke(credential_id: str) -> ResponseReturnValue:
    """Revoke with a reason the public page and verifiers show."""
    reason = request.form.get("reason", "").strip()
    if not reason:
        raise Refused(
            400,
            "reason_required",
            "Give a reason for revoking the badge: the holder and verifiers see it.",
        )
    session = db()
    try:
        badge_service.revoke_badge(
            session, credential_id, reason, runtime().clock(), revoked_by=_admin_name()
        )
    except LookupError:
        raise Refused(
            404, "no_such_credential", "There is no such credential."
        ) from None
    session.commit()
    return _back(done="revoked")


@bp.post("/admin/badges/<credential_id>/reissue")
@requires_role(ToolRole.ADMINISTRATOR)
def reissue(credential_id: str) -> ResponseReturnValue:
    """After a correction (an email, the program's text): revoke and issue afresh."""
    rt = runtime()
    session = db()
    reason = request.form.get("reason", "").strip()
    try:
        new = badge_service.reissue_badge(
            session,
            rt.encryptor,
            rt.badge_issuer(),
            credential_id,
            reason,
            rt.clock(),
            rt.sink_for(session),
            revoked_by=_admin_name(),
        )
    except LookupError:
        raise Refused(
            404, "no_such_credential", "There is no such credential."
        ) from None
    except ValueError as exc:
        raise Refused(409, "already_revoked", f"{exc}.") from None
    if new is None:
        session.rollback()
        return _back(problem="no_email")
    session.commit()
    return _back(done="reissued")


@bp.post("/admin/badges/issue/<enrolment_id>")
@requires_role(ToolRole.ADMINISTRATOR)
def issue(enrolment_id: str) -> ResponseReturnValue:
    """Issue the badge of a completed tier that has none (e.g. the email is known now)."""
    rt = runtime()
    session = db()
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.state != "completed":
        raise Refused(
            404, "no_such_completion", "There is no completed tier with that id."
        )
    new = badge_service.issue_badge(
        session,
        rt.encryptor,
        rt.badge_issuer(),
        enrolment,
        rt.clock(),
        rt.sink_for(session),
    )
    if new is None:
        session.rollback()
        return _back(problem="no_email")
    session.commit()
    return _back(done="issued")
