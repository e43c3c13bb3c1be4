"""Roster sync: members become users and memberships; leavers are marked, not lost."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from lti_tool.db.models import LmsContext, LmsUser, Membership, Person, Platform
from lti_tool.lti.advantage import Member
from lti_tool.runtime import runtime
from lti_tool.services.roster import sync_roster

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


def _setup(app: Flask) -> tuple[int, int]:
    rt = runtime(app)
    with rt.session_factory() as session:
        platform = Platform(
            name="lms",
            issuer="https://lms.example",
            client_id="c",
            auth_login_url="https://lms.example/auth",
            token_url="https://lms.example/token",
            jwks_url="https://lms.example/jwks",
        )
        session.add(platform)
        session.flush()
        context = LmsContext(platform_id=platform.id, context_id="course-9")
        session.add(context)
        session.add(
            Person(employee_id="E1", email="Ana@Example.com", updated_at=rt.clock())
        )
        session.commit()
        return platform.id, context.id


def test_members_who_never_launched_join_the_cohort_linked_by_email(
    app: Flask,
) -> None:
    platform_id, context_id = _setup(app)
    rt = runtime(app)
    members = [
        Member("u1", "Ana Morales", "ana@example.com", (LEARNER,), "Active"),
        Member("u2", "Ben Okafor", None, ("Learner",), "Active"),
        Member("t1", "Ines Duarte", None, ("Instructor",), "Active"),
    ]
    with rt.session_factory() as session:
        result = sync_roster(session, platform_id, context_id, members, rt.clock())
        session.commit()
    assert (result.members, result.new_users, result.linked) == (3, 3, 1)
    with rt.session_factory() as session:
        rows = session.execute(
            sa.select(
                LmsUser.sub, LmsUser.person_id, Membership.role, LmsUser.last_launch_at
            )
            .join(Membership, Membership.user_id == LmsUser.id)
            .order_by(LmsUser.sub)
        ).all()
    assert [(r.sub, r.role) for r in rows] == [
        ("t1", "instructor"),
        ("u1", "learner"),
        ("u2", "learner"),
    ]
    assert rows[1].person_id is not None  # matched by email, case-insensitively
    assert all(r.last_launch_at is None for r in rows)


def test_a_member_who_left_is_marked_deleted_and_kept(app: Flask) -> None:
    platform_id, context_id = _setup(app)
    rt = runtime(app)
    both = [
        Member("u1", "Ana", None, (LEARNER,), "Active"),
        Member("u2", "Ben", None, (LEARNER,), "Active"),
    ]
    with rt.session_factory() as session:
        sync_roster(session, platform_id, context_id, both, rt.clock())
        session.commit()
        again = sync_roster(session, platform_id, context_id, both[:1], rt.clock())
        session.commit()
    assert again.removed == 1
    with rt.session_factory() as session:
        statuses = dict(
            session.execute(
                sa.select(LmsUser.sub, Membership.roster_status).join(
                    Membership, Membership.user_id == LmsUser.id
                )
            ).all()
        )
    assert statuses == {"u1": "Active", "u2": "Deleted"}
