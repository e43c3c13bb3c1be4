"""Admin page for xAPI: LRS targets, backlog, last errors, dead letters, resend.

The page is also where a paused target (the LRS refused our credentials) is
raised as an alert until an admin fixes and resumes it.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from lti_tool.db.models import LrsTarget, StoredStatement, XapiReadClient
from lti_tool.domain.roles import ToolRole
from lti_tool.errors import Refused
from lti_tool.runtime import db, runtime
from lti_tool.services import xapi_outbox as outbox
from lti_tool.web.auth import current_launch, current_session, requires_role

bp = Blueprint("xapi_admin", __name__, url_prefix="/admin/xapi")
RECENT = 25


def _page(error: str | None = None, form: dict[str, str] | None = None) -> str:
    session = db()
    rt = runtime()
    now = rt.clock()
    statuses = outbox.target_statuses(session, now)
    recent = session.execute(
        sa.select(
            StoredStatement.stored,
            StoredStatement.verb,
            StoredStatement.activity,
            StoredStatement.payload,
        )
        .order_by(StoredStatement.stored.desc(), StoredStatement.seq.desc())
        .limit(RECENT)
    ).all()
    total = session.scalar(sa.select(sa.func.count()).select_from(StoredStatement))
    clients = session.scalars(
        sa.select(XapiReadClient).order_by(XapiReadClient.name)
    ).all()
    return render_template(
        "admin/xapi.html",
        launch=current_launch(),
        csrf_token=current_session().csrf_token,
        statuses=statuses,
        paused=[s for s in statuses if s.target.paused_at is not None],
        dead=outbox.dead_letters(session),
        recent=recent,
        total=total or 0,
        clients=clients,
        now=now,
        error=error,
        form=form or {},
        deliver_in_process=rt.settings.xapi.deliver_in_process,
    )


def _back() -> ResponseReturnValue:
    return redirect(url_for("xapi_admin.home", launch=current_launch().id), 303)


@bp.get("/")
@requires_role(ToolRole.ADMINISTRATOR)
def home() -> str:
    """Targets with backlog and errors, dead letters, the latest statements."""
    return _page()


@bp.post("/targets")
@requires_role(ToolRole.ADMINISTRATOR)
def add_target() -> ResponseReturnValue:
    """Connect an LRS (optionally queueing every statement recorded so far)."""
    form = {
        k: request.form.get(k, "")
        for k in ("name", "endpoint", "username", "batch_size")
    }
    try:
        batch_size = int(form["batch_size"] or 100)
    except ValueError:
        return _page(error="The batch size must be a whole number.", form=form), 400
    rt = runtime()
    session = db()
    try:
        outbox.add_target(
            session,
            outbox.TargetInput(
                name=form["name"],
                endpoint=form["endpoint"],
                username=form["username"],
                password=request.form.get("password", ""),
                batch_size=batch_size,
            ),
            rt.encryptor,
            rt.clock(),
            history=request.form.get("history") == "on",
        )
    except outbox.TargetError as exc:
        session.rollback()
        return _page(error=f"The LRS was not added: {exc}.", form=form), 400
    session.commit()
    return _back()


def _target(target_id: int) -> LrsTarget:
    target = db().get(LrsTarget, target_id)
    if target is None:
        raise Refused(404, "no_such_lrs", "There is no such LRS.")
    return target


@bp.post("/targets/<int:target_id>/resume")
@requires_role(ToolRole.ADMINISTRATOR)
def resume(target_id: int) -> ResponseReturnValue:
    """Resume a paused target, with new credentials if given."""
    session = db()
    target = _target(target_id)
    password = request.form.get("password", "")
    if password:
        outbox.set_password(session, target, password, runtime().encryptor)
    outbox.resume_target(session, target)
    session.commit()
    return _back()


@bp.post("/targets/<int:target_id>/resend")
@requires_role(ToolRole.ADMINISTRATOR)
def resend_target(target_id: int) -> ResponseReturnValue:
    """Queue every dead letter of one target again."""
    session = db()
    outbox.resend_dead(session, runtime().clock(), target_id=_target(target_id).id)
    session.commit()
    return _back()


@bp.post("/dead/<int:entry_id>/resend")
@requires_role(ToolRole.ADMINISTRATOR)
def resend_one(entry_id: int) -> ResponseReturnValue:
    """Queue one dead letter again."""
    session = db()
    if not outbox.resend_dead(session, runtime().clock(), entry_id=entry_id):
        raise Refused(
            404, "no_such_dead_letter", "That statement is not a dead letter."
        )
    session.commit()
    return _back()


@bp.post("/targets/<int:target_id>/remove")
@requires_role(ToolRole.ADMINISTRATOR)
def remove(target_id: int) -> ResponseReturnValue:
    """Disconnect an LRS (its queue goes; the local statements stay)."""
    session = db()
    session.delete(_target(target_id))
    session.commit()
    return _back()
