"""Roster sync (NRPS): the course's members become tierpath users and memberships.

So the cohort lists every learner of the course, including those who never
launched tierpath; their person is linked by email as at launch. Someone the
LMS no longer lists is kept (their work stays) and marked `Deleted`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from lti_tool.db.models import LmsUser, Membership
from lti_tool.domain.roles import tool_role
from lti_tool.lti.advantage import Member
from lti_tool.services.people_import import link_lms_user


@dataclass(frozen=True)
class RosterSync:
    """What a sync changed."""

    members: int
    new_users: int
    linked: int
    removed: int


def _clip(value: str | None, limit: int) -> str | None:
    if not value or not value.strip():
        return None
    return value.strip()[:limit]


_MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


def _full_roles(roles: Sequence[str]) -> list[str]:
    """NRPS may list context roles by short name ("Learner"): expand them."""
    return [role if ":" in role else _MEMBERSHIP + role for role in roles]


def sync_roster(
    session: orm.Session,
    platform_id: int,
    context_id: int,
    members: Sequence[Member],
    now: datetime,
) -> RosterSync:
    """Upsert every member's account and membership; mark the missing as Deleted."""
    users = {
        u.sub: u
        for u in session.scalars(
            sa.select(LmsUser).where(
                LmsUser.platform_id == platform_id,
                LmsUser.sub.in_([m.user_id for m in members]),
            )
        )
    }
    memberships = {
        m.user_id: m
        for m in session.scalars(
            sa.select(Membership).where(Membership.context_id == context_id)
        )
    }
    new_users = linked = 0
    listed: set[int] = set()
    for member in members:
        user = users.get(member.user_id)
        if user is None:
            user = LmsUser(platform_id=platform_id, sub=member.user_id[:255])
            session.add(user)
            users[member.user_id] = user
            new_users += 1
        # What the LMS says now; a launch's claims update these again.
        user.name = _clip(member.name, 300) or user.name
        user.given_name = _clip(member.given_name, 200) or user.given_name
        user.family_name = _clip(member.family_name, 200) or user.family_name
        user.email = _clip(member.email, 320) or user.email
        if user.person_id is None:
            session.flush()
            if link_lms_user(session, user) is not None:
                linked += 1
        session.flush()
        membership = memberships.get(user.id)
        if membership is None:
            membership = Membership(context_id=context_id, user_id=user.id)
            session.add(membership)
            memberships[user.id] = membership
        membership.role = tool_role(_full_roles(member.roles)).value
        membership.roster_status = member.status[:20] if member.status else "Active"
        membership.roster_synced_at = now
        listed.add(user.id)
    removed = 0
    for user_id, membership in memberships.items():
        if user_id not in listed and membership.roster_synced_at is not None:
            if membership.roster_status != "Deleted":
                removed += 1
            membership.roster_status = "Deleted"
            membership.roster_synced_at = now
    session.flush()
    return RosterSync(len(members), new_users, linked, removed)
