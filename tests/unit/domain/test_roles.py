"""LTI roles map to tierpath roles; anything unknown is a learner (LTI Core §5.3.7, A.2)."""

from __future__ import annotations

import pytest

from lti_tool.domain.roles import ToolRole, tool_role

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
MEMBERSHIP_SUB = "http://purl.imsglobal.org/vocab/lis/v2/membership/"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"

LEARNER = ToolRole.LEARNER
INSTRUCTOR = ToolRole.INSTRUCTOR
ADMIN = ToolRole.ADMINISTRATOR


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        # Context (membership) roles, full URIs.
        pytest.param([MEMBERSHIP + "Learner"], LEARNER, id="learner"),
        pytest.param([MEMBERSHIP + "Instructor"], INSTRUCTOR, id="instructor"),
        pytest.param(
            [MEMBERSHIP + "ContentDeveloper"], INSTRUCTOR, id="content-developer"
        ),
        pytest.param([MEMBERSHIP + "Manager"], INSTRUCTOR, id="manager"),
        pytest.param([MEMBERSHIP + "Administrator"], ADMIN, id="context-admin"),
        pytest.param([MEMBERSHIP + "Mentor"], LEARNER, id="mentor"),
        pytest.param([MEMBERSHIP + "Member"], LEARNER, id="member"),
        # Sub-roles.
        pytest.param(
            [MEMBERSHIP_SUB + "Instructor#TeachingAssistant"],
            INSTRUCTOR,
            id="ta-sub-role",
        ),
        pytest.param(
            [
                MEMBERSHIP + "Instructor",
                MEMBERSHIP_SUB + "Instructor#TeachingAssistant",
            ],
            INSTRUCTOR,
            id="ta-with-principal-role",
        ),
        pytest.param(
            [MEMBERSHIP_SUB + "Instructor#Grader"], INSTRUCTOR, id="grader-sub-role"
        ),
        pytest.param(
            [MEMBERSHIP_SUB + "Learner#Learner"], LEARNER, id="learner-sub-role"
        ),
        pytest.param(
            [MEMBERSHIP_SUB + "Administrator#Administrator"],
            LEARNER,
            id="admin-sub-role-grants-nothing",
        ),
        # Institution and system roles.
        pytest.param([INSTITUTION + "Administrator"], ADMIN, id="institution-admin"),
        pytest.param([SYSTEM + "Administrator"], ADMIN, id="system-admin"),
        pytest.param([SYSTEM + "SysAdmin"], ADMIN, id="system-sysadmin"),
        pytest.param(
            [INSTITUTION + "Instructor"], LEARNER, id="institution-instructor"
        ),
        pytest.param([INSTITUTION + "Student"], LEARNER, id="institution-student"),
        pytest.param([SYSTEM + "User"], LEARNER, id="system-user"),
        # Deprecated short names.
        pytest.param(["Learner"], LEARNER, id="short-learner"),
        pytest.param(["Instructor"], INSTRUCTOR, id="short-instructor"),
        pytest.param(["TeachingAssistant"], INSTRUCTOR, id="short-ta"),
        pytest.param(["ContentDeveloper"], INSTRUCTOR, id="short-content-developer"),
        pytest.param(["Administrator"], ADMIN, id="short-admin"),
        # The most privileged known role wins.
        pytest.param(
            [MEMBERSHIP + "Learner", MEMBERSHIP + "Instructor"],
            INSTRUCTOR,
            id="learner+instr",
        ),
        pytest.param(
            [MEMBERSHIP + "Instructor", INSTITUTION + "Administrator"],
            ADMIN,
            id="instructor+admin",
        ),
        pytest.param(
            ["http://example.com/custom#Boss", MEMBERSHIP + "Instructor"],
            INSTRUCTOR,
            id="unknown+instructor",
        ),
        # Nothing known: learner, never more.
        pytest.param([], LEARNER, id="empty"),
        pytest.param(["http://example.com/custom#Boss"], LEARNER, id="unknown-uri"),
        pytest.param(["Guest", "Observer"], LEARNER, id="unknown-short-names"),
        pytest.param([""], LEARNER, id="empty-string"),
        # Near misses must not grant rights.
        pytest.param([MEMBERSHIP + "instructor"], LEARNER, id="wrong-case"),
        pytest.param(["instructor"], LEARNER, id="wrong-case-short"),
        pytest.param([" " + MEMBERSHIP + "Instructor"], LEARNER, id="leading-space"),
        pytest.param(
            [MEMBERSHIP + "Instructor#evil"], LEARNER, id="fragment-on-principal-role"
        ),
        pytest.param(
            ["https://purl.imsglobal.org/vocab/lis/v2/membership#Administrator"],
            LEARNER,
            id="https-lookalike",
        ),
        pytest.param(
            [MEMBERSHIP_SUB + "Instructorish#TeachingAssistant"],
            LEARNER,
            id="sub-role-prefix-lookalike",
        ),
    ],
)
def test_tool_role_for_lti_roles(roles: list[str], expected: ToolRole) -> None:
    assert tool_role(roles) is expected


@pytest.mark.parametrize(
    "roles",
    [
        pytest.param(dict.fromkeys([MEMBERSHIP + "Instructor"]), id="dict-keys"),
        pytest.param((MEMBERSHIP + "Instructor",), id="tuple"),
        pytest.param(frozenset({MEMBERSHIP + "Instructor"}), id="frozenset"),
    ],
)
def test_tool_role_accepts_any_iterable(roles: object) -> None:
    assert tool_role(roles) is INSTRUCTOR  # type: ignore[arg-type]


def test_tool_roles_order_from_least_to_most_privileged() -> None:
    assert list(ToolRole) == [LEARNER, INSTRUCTOR, ADMIN]
