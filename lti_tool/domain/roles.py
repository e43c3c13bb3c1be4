"""Map LTI roles to what a person may do in tierpath.

LTI 1.3 roles (LTI Core §5.3.7, Appendix A.2) come as full vocabulary URIs, and
some platforms still send the deprecated short names. We authorise on context
(membership) roles, except that institution and system administrators are
program administrators wherever they launch from.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

_MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
_MEMBERSHIP_SUB = "http://purl.imsglobal.org/vocab/lis/v2/membership/"
_INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
_SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"

_ADMIN_ROLES = frozenset(
    {
        _MEMBERSHIP + "Administrator",
        _INSTITUTION + "Administrator",
        _SYSTEM + "Administrator",
        _SYSTEM + "SysAdmin",
        "Administrator",
    }
)
# People who teach or supervise in the course: instructors, teaching assistants,
# content developers and course managers (a supervisor is an LMS instructor).
_INSTRUCTOR_ROLES = frozenset(
    {
        _MEMBERSHIP + "Instructor",
        _MEMBERSHIP + "ContentDeveloper",
        _MEMBERSHIP + "Manager",
        "Instructor",
        "TeachingAssistant",
        "ContentDeveloper",
    }
)


class ToolRole(StrEnum):
    """What a launch may do in tierpath, from least to most privileged."""

    LEARNER = "learner"
    INSTRUCTOR = "instructor"
    ADMINISTRATOR = "administrator"


def tool_role(lti_roles: Iterable[str]) -> ToolRole:
    """Return the tierpath role for a launch's LTI roles.

    Anyone without an instructor or administrator role is a learner, including
    launches with no roles or only unknown ones (LTI certification requires such
    launches to succeed), so nobody gains rights from a role we do not know.
    """
    roles = set(lti_roles)
    if roles & _ADMIN_ROLES:
        return ToolRole.ADMINISTRATOR
    for role in roles:
        if role in _INSTRUCTOR_ROLES:
            return ToolRole.INSTRUCTOR
        # Sub-roles such as membership/Instructor#TeachingAssistant.
        if role.startswith(_MEMBERSHIP_SUB + "Instructor#"):
            return ToolRole.INSTRUCTOR
    return ToolRole.LEARNER
