"""Landing pages by role: learner home, instructor home (and roster), home dispatch."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from lti_tool.domain.roles import ToolRole
from lti_tool.web.auth import current_launch, requires_role
from lti_tool.web.origin import tool_origin

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
        # LTI Dynamic Registration: the LMS does the rest; an admin approves.
        "Dynamic registration URL": origin + "/lti/register",
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
