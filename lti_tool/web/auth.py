"""Who is asking: the session cookie, the launch it holds, and role checks.

A launch id in a URL only selects among the launches of the browser's own
session; it is never accepted on its own (reference/lti.md §5, launch_id as bearer).
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import sqlalchemy as sa
from flask import Response, g, request

from lti_tool.db.models import Launch, LmsUser, Person, ToolSession
from lti_tool.domain.roles import ToolRole
from lti_tool.errors import Refused
from lti_tool.runtime import db, runtime
from lti_tool.services.launches import find_session

SESSION_COOKIE = "tierpath_session"
STATE_COOKIE_PREFIX = "tierpath_state_"

P = ParamSpec("P")
R = TypeVar("R")

_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def secure_context() -> bool:
    """Tell whether the browser treats this origin as secure (HTTPS or loopback)."""
    host = (
        request.host.rsplit(":", 1)[0]
        if not request.host.startswith("[")
        else (request.host.split("]")[0] + "]")
    )
    return request.is_secure or host in _LOOPBACK or host.startswith("127.")


def set_tool_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    """Set a cookie that survives inside an LMS iframe.

    Over HTTPS (and loopback, which browsers treat as secure) the cookie is
    `SameSite=None; Secure; Partitioned` so the cross-site frame keeps it and
    CHIPS browsers partition it per LMS. Plain HTTP elsewhere gets `Lax`.
    """
    if secure_context():
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            secure=True,
            samesite="None",
            partitioned=True,
            path="/",
        )
    else:
        response.set_cookie(
            name, value, max_age=max_age, httponly=True, samesite="Lax", path="/"
        )


def delete_tool_cookie(response: Response, name: str) -> None:
    """Expire a cookie set by `set_tool_cookie`."""
    if secure_context():
        response.delete_cookie(
            name,
            path="/",
            secure=True,
            samesite="None",
            partitioned=True,
            httponly=True,
        )
    else:
        response.delete_cookie(name, path="/", httponly=True, samesite="Lax")


def _no_session() -> Refused:
    return Refused(
        401,
        "no_session",
        "tierpath does not know who you are in this window.",
        hint="Open tierpath from your LMS again. If your browser blocks cookies in"
        " the LMS page, use the 'open in a new window' option.",
    )


def current_session() -> ToolSession:
    """Return the browser's live tool session or refuse with 401."""
    if "tool_session" in g:
        found = g.tool_session
        assert isinstance(found, ToolSession)
        return found
    tool_session = find_session(
        db(), request.cookies.get(SESSION_COOKIE), runtime().clock()
    )
    if tool_session is None:
        raise _no_session()
    g.tool_session = tool_session
    return tool_session


def current_launch() -> Launch:
    """Return the launch this request acts under (chosen by ?launch=, in our session)."""
    if "launch" in g:
        found = g.launch
        assert isinstance(found, Launch)
        return found
    tool_session = current_session()
    now = runtime().clock()
    launch_id = request.values.get("launch", "")
    if launch_id:
        launch = db().get(Launch, launch_id)
        if launch is None or launch.session_id != tool_session.id:
            raise Refused(
                403,
                "launch_not_yours",
                "This page belongs to a different sign-in than yours.",
                hint="Open tierpath from your LMS again.",
                detail=f"launch {launch_id[:8]}… not in session {tool_session.id}",
            )
    else:
        launch = db().scalar(
            sa.select(Launch)
            .where(Launch.session_id == tool_session.id)
            .order_by(Launch.created_at.desc())
            .limit(1)
        )
        if launch is None:
            raise _no_session()
    if launch.expires_at <= now:
        raise Refused(
            401,
            "launch_expired",
            "Your tierpath sign-in has expired.",
            hint="Open tierpath from your LMS again.",
        )
    g.launch = launch
    return launch


def requires_role(*roles: ToolRole) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Refuse the view unless the current launch has one of `roles` (server-side)."""
    allowed = frozenset(roles)

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            launch = current_launch()
            if ToolRole(launch.role) not in allowed:
                raise Refused(
                    403,
                    "forbidden_role",
                    "Your role in this course does not give access to this page.",
                    detail=f"role {launch.role} not in {sorted(allowed)}",
                )
            if request.method == "POST":
                check_csrf()
            return view(*args, **kwargs)

        return wrapper

    return decorator


def check_csrf() -> None:
    """Refuse a POST whose form token does not match the session's."""
    expected = current_session().csrf_token
    given = request.form.get("csrf_token", "")
    if not hmac.compare_digest(expected, given):
        raise Refused(
            400,
            "csrf_failed",
            "This form has expired or did not come from tierpath.",
            hint="Go back, reload the page and try again.",
        )


def current_person() -> Person | None:
    """The HR person linked to the launch's LMS user, if any."""
    user = db().get(LmsUser, current_launch().user_id)
    if user is None or user.person_id is None:
        return None
    return db().get(Person, user.person_id)
