"""Program admin pages: platform registrations (more arrive with later issues)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from lti_tool.db.models import LrsTarget, ScorePassback
from lti_tool.domain.roles import ToolRole
from lti_tool.errors import Refused
from lti_tool.runtime import db, runtime
from lti_tool.services import platforms as platform_service
from lti_tool.services.keys import list_keys
from lti_tool.services.programs import all_versions
from lti_tool.web.auth import current_launch, current_session, requires_role
from lti_tool.web.origin import tool_origin
from lti_tool.web.pages import tool_urls
from lti_tool.web.people import register_people_routes

bp = Blueprint("admin", __name__, url_prefix="/admin")
register_people_routes(bp)


def _page(error: str | None = None, form: dict[str, str] | None = None) -> str:
    origin = tool_origin()
    platforms = platform_service.list_platforms(db())
    return render_template(
        "admin/home.html",
        launch=current_launch(),
        platforms=[p for p in platforms if p.approved_at is not None],
        pending=sorted(
            (p for p in platforms if p.approved_at is None),
            key=lambda p: p.created_at,
        ),
        programs=all_versions(db()),
        keys=list_keys(db()),
        csrf_token=current_session().csrf_token,
        error=error,
        form=form or {},
        tool_urls=tool_urls(origin),
        dead_scores=db().scalar(
            sa.select(sa.func.count())
            .select_from(ScorePassback)
            .where(ScorePassback.status == "dead")
        ),
        paused_lrs=db()
        .scalars(sa.select(LrsTarget.name).where(LrsTarget.paused_at.is_not(None)))
        .all(),
    )


@bp.get("/")
@requires_role(ToolRole.ADMINISTRATOR)
def home() -> str:
    """Show registrations, the tool's own URLs and keys, and the add form."""
    return _page()


@bp.post("/platforms")
@requires_role(ToolRole.ADMINISTRATOR)
def add_platform() -> ResponseReturnValue:
    """Register a platform from the admin form."""
    form = {
        k: request.form.get(k, "")
        for k in (
            "name",
            "issuer",
            "client_id",
            "deployment_ids",
            "auth_login_url",
            "token_url",
            "jwks_url",
            "audience",
        )
    }
    data = platform_service.PlatformInput(
        issuer=form["issuer"],
        client_id=form["client_id"],
        deployment_ids=tuple(form["deployment_ids"].replace(",", "\n").splitlines()),
        auth_login_url=form["auth_login_url"],
        token_url=form["token_url"],
        jwks_url=form["jwks_url"],
        audience=form["audience"] or None,
        name=form["name"],
    )
    session = db()
    try:
        platform_service.add_platform(session, data, runtime().clock())
    except platform_service.RegistrationError as exc:
        session.rollback()
        return _page(error=str(exc), form=form), 400
    session.commit()
    return redirect(url_for("admin.home", launch=current_launch().id), 303)


@bp.post("/platforms/<int:platform_id>/remove")
@requires_role(ToolRole.ADMINISTRATOR)
def remove_platform(platform_id: int) -> ResponseReturnValue:
    """Remove a registration (its users and launches go with it)."""
    session = db()
    if current_launch().platform_id == platform_id:
        raise Refused(
            409,
            "cannot_remove_own_platform",
            "You cannot remove the LMS you are signed in through.",
            hint="Use `tierpath platform remove` from the command line instead.",
        )
    try:
        platform_service.remove_platform(session, platform_id)
    except platform_service.RegistrationError as exc:
        raise Refused(404, "no_such_platform", str(exc)) from exc
    session.commit()
    return redirect(url_for("admin.home", launch=current_launch().id), 303)


@bp.post("/platforms/<int:platform_id>/approve")
@requires_role(ToolRole.ADMINISTRATOR)
def approve_platform(platform_id: int) -> ResponseReturnValue:
    """Approve a dynamic registration: its logins and launches work from now on."""
    session = db()
    try:
        platform_service.approve_platform(session, platform_id, runtime().clock())
    except platform_service.RegistrationError as exc:
        raise Refused(404, "no_pending_registration", str(exc)) from exc
    session.commit()
    current_app.extensions["tierpath_origins"].reset()  # may frame tierpath now
    return redirect(url_for("admin.home", launch=current_launch().id), 303)


@bp.post("/platforms/<int:platform_id>/reject")
@requires_role(ToolRole.ADMINISTRATOR)
def reject_platform(platform_id: int) -> ResponseReturnValue:
    """Reject a dynamic registration: the pending platform is deleted."""
    session = db()
    try:
        platform_service.reject_platform(session, platform_id)
    except platform_service.RegistrationError as exc:
        raise Refused(404, "no_pending_registration", str(exc)) from exc
    session.commit()
    return redirect(url_for("admin.home", launch=current_launch().id), 303)
