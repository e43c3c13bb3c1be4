"""Admin page for gradebook passback: the AGS score queue per LMS, dead scores, resend."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from lti_tool.domain.roles import ToolRole
from lti_tool.runtime import db, runtime
from lti_tool.services import score_passback as passback
from lti_tool.web.auth import current_launch, current_session, requires_role

bp = Blueprint("gradebook_admin", __name__, url_prefix="/admin/gradebook")


@bp.get("/", endpoint="home")
@requires_role(ToolRole.ADMINISTRATOR)
def home() -> str:
    """Scores waiting, sent and dead per platform, with the last error."""
    session = db()
    return render_template(
        "admin/gradebook.html",
        launch=current_launch(),
        csrf_token=current_session().csrf_token,
        statuses=passback.passback_statuses(session),
        dead=passback.dead_scores(session),
        in_process=runtime().settings.ags.deliver_in_process,
        resent=request.args.get("resent"),
    )


@bp.post("/resend")
@requires_role(ToolRole.ADMINISTRATOR)
def resend() -> ResponseReturnValue:
    """Queue one dead score again, or all of them."""
    session = db()
    value = request.form.get("score_id", "")
    count = passback.resend_dead(
        session, runtime().clock(), int(value) if value.isdigit() else None
    )
    session.commit()
    return redirect(
        url_for("gradebook_admin.home", launch=current_launch().id, resent=count), 303
    )
