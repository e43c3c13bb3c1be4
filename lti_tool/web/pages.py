"""Landing pages by role: learner home, instructor home (and roster), home dispatch."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from lti_tool.domain.roles import ToolRole
from lti_tool.lti.advantage import CLAIM_AGS, CLAIM_NRPS, Advantage
from lti_tool.runtime import runtime
from lti_tool.web.auth import current_launch, requires_role
from lti_tool.web.origin import tool_origin
from lti_tool.web.tokens import token_cache, tool_key

bp = Blueprint("pages", __name__)

_LANDING = {
    ToolRole.LEARNER: "learner.home",
    ToolRole.INSTRUCTOR: "instructor.home",
    ToolRole.ADMINISTRATOR: "admin.home",
}


def tool_urls(origin: str) -> dict[str, str]:
    """The URLs an LMS administrator enters to register tierpath."""
    return {
        "OIDC login initiation URL": origin + "/lti/login",
        "Redirect (launch) URL": origin + "/lti/launch",
        "Target link URI": origin + "/home",
        "Deep linking URL": origin + "/lti/deep-link",
        "Public key set (JWKS) URL": origin + "/.well-known/jwks.json",
    }


@bp.get("/")
def about() -> str:
    """Public page: what tierpath is and how to register it (no sign-in needed)."""
    return render_template(
        "about.html", launch=None, tool_urls=tool_urls(tool_origin())
    )


@bp.get("/home")
@requires_role(*ToolRole)
def home() -> ResponseReturnValue:
    """Send the person to the landing page of their role in this launch."""
    launch = current_launch()
    return redirect(url_for(_LANDING[ToolRole(launch.role)], launch=launch.id), 303)


learner = Blueprint("learner", __name__, url_prefix="/learner")


@learner.get("/", endpoint="home")
@requires_role(ToolRole.LEARNER)
def learner_home() -> str:
    """The learner's home: their programs (filled in by the programs issue)."""
    return render_template("learner/home.html", launch=current_launch())


instructor = Blueprint("instructor", __name__, url_prefix="/instructor")


@instructor.get("/", endpoint="home")
@requires_role(ToolRole.INSTRUCTOR, ToolRole.ADMINISTRATOR)
def instructor_home() -> str:
    """The instructor's home: the course and what the LMS offers for it."""
    launch = current_launch()
    return render_template(
        "instructor/home.html",
        launch=launch,
        has_roster=CLAIM_NRPS in launch.claims,
        has_grades=CLAIM_AGS in launch.claims,
    )


@instructor.get("/roster")
@requires_role(ToolRole.INSTRUCTOR, ToolRole.ADMINISTRATOR)
def roster() -> str:
    """The course roster from the LMS (NRPS), including people who never launched."""
    rt = runtime()
    launch = current_launch()
    advantage = Advantage(launch, tool_key(), rt.http, token_cache())
    members = advantage.members()
    return render_template("instructor/roster.html", launch=launch, members=members)
