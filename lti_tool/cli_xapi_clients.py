"""`tierpath xapi client add|list|revoke`: credentials for the statement read API."""

from __future__ import annotations

from lti_tool.cli_xapi import xapi_group  # noqa: F401
