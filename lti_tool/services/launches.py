"""Use case: turn a validated launch into a user, a context and a server-side session."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from lti_tool.db.models import (
    Deployment,
    Launch,
    LmsContext,
    LmsUser,
    Membership,
    Platform,
    ToolSession,
)
from lti_tool.domain.roles import ToolRole, tool_role
from lti_tool.services.people_import import link_lms_user

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


def token_hash(token: str) -> str:
    """Hash a session token; the database never holds the cookie value itself."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class RecordedLaunch:
    """The stored launch, and the session token to set when a new session began."""

    launch: Launch
    new_session_token: str | None


def find_session(
    session: orm.Session, token: str | None, now: datetime
) -> ToolSession | None:
    """Return the live session for a cookie token, if any."""
    if not token:
        return None
    return session.scalar(
        sa.select(ToolSession).where(
            ToolSession.token_hash == token_hash(token), ToolSession.expires_at > now
        )
    )


def _text(value: Any, limit: int) -> str | None:
    return value.strip()[:limit] if isinstance(value, str) and value.strip() else None


def _upsert_user(
    session: orm.Session, platform: Platform, claims: dict[str, Any], now: datetime
) -> LmsUser:
    user = session.scalar(
        sa.select(LmsUser).where(
            LmsUser.platform_id == platform.id, LmsUser.sub == claims["sub"]
        )
    )
    if user is None:
        user = LmsUser(
            platform_id=platform.id,
            sub=claims["sub"],
            first_launch_at=now,
            last_launch_at=now,
        )
        session.add(user)
    user.last_launch_at = now
    # Names and email are optional (privacy settings); keep what we last saw.
    for attribute, limit in (
        ("name", 300),
        ("given_name", 200),
        ("family_name", 200),
        ("email", 320),
    ):
        value = _text(claims.get(attribute), limit)
        if value is not None:
            setattr(user, attribute, value)
    return user


def _upsert_context(
    session: orm.Session, platform: Platform, claims: dict[str, Any]
) -> LmsContext | None:
    claim = claims.get(CLAIM + "context")
    if not isinstance(claim, dict) or not _text(claim.get("id"), 255):
        return None
    context_id = str(claim["id"])
    context = session.scalar(
        sa.select(LmsContext).where(
            LmsContext.platform_id == platform.id, LmsContext.context_id == context_id
        )
    )
    if context is None:
        context = LmsContext(platform_id=platform.id, context_id=context_id)
        session.add(context)
    context.title = _text(claim.get("title"), 500) or context.title
    context.label = _text(claim.get("label"), 200) or context.label
    return context


def _upsert_membership(
    session: orm.Session,
    context: LmsContext,
    user: LmsUser,
    role: ToolRole,
    now: datetime,
) -> None:
    membership = session.scalar(
        sa.select(Membership).where(
            Membership.context_id == context.id, Membership.user_id == user.id
        )
    )
    if membership is None:
        membership = Membership(context_id=context.id, user_id=user.id)
        session.add(membership)
    membership.role = role.value
    membership.last_launch_at = now


def record_launch(
    session: orm.Session,
    *,
    claims: dict[str, Any],
    platform: Platform,
    deployment: Deployment,
    session_token: str | None,
    ttl: int,
    now: datetime,
) -> RecordedLaunch:
    """Store a validated launch, bound to the browser's session (made if needed)."""
    expires = now + timedelta(seconds=ttl)
    tool_session = find_session(session, session_token, now)
    new_token = None
    if tool_session is None:
        new_token = secrets.token_urlsafe(32)
        tool_session = ToolSession(
            token_hash=token_hash(new_token),
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=expires,
        )
        session.add(tool_session)
    tool_session.expires_at = max(tool_session.expires_at, expires)
    user = _upsert_user(session, platform, claims, now)
    context = _upsert_context(session, platform, claims)
    session.flush()
    role = tool_role(claims[CLAIM + "roles"])
    custom = claims.get(CLAIM + "custom")
    employee_id = custom.get("employee_id") if isinstance(custom, dict) else None
    link_lms_user(
        session, user, employee_id=employee_id if isinstance(employee_id, str) else None
    )
    if context is not None:
        _upsert_membership(session, context, user, role, now)
    launch = Launch(
        id=secrets.token_urlsafe(24),
        session_id=tool_session.id,
        platform_id=platform.id,
        deployment_id=deployment.id,
        user_id=user.id,
        context_id=context.id if context else None,
        message_type=str(claims[CLAIM + "message_type"]),
        role=role.value,
        target_link_uri=str(claims[CLAIM + "target_link_uri"]),
        claims=claims,
        created_at=now,
        expires_at=expires,
    )
    session.add(launch)
    session.flush()
    return RecordedLaunch(launch=launch, new_session_token=new_token)


def role_of(launch: Launch) -> ToolRole:
    """Return the tierpath role a stored launch carries."""
    return ToolRole(launch.role)
