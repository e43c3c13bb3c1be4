"""Our own public origin, from settings or from the (ProxyFix-corrected) request."""

from __future__ import annotations

from flask import request

from lti_tool.runtime import runtime


def tool_origin() -> str:
    """Return scheme://host[:port] under which browsers and LMSs reach tierpath."""
    configured = runtime().settings.base_url
    if configured:
        return configured
    return f"{request.scheme}://{request.host}".lower()
