"""Run tierpath and the development LMS as real HTTP servers on loopback.

The tool is reached as http://localhost:<port> and the LMS as
http://127.0.0.1:<port>, so they are cross-site to a browser, as in production.
Used by the end-to-end tests and by benchmarks/launch.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from devlms.app import DevLmsConfig, create_platform
from lti_tool.services.platforms import PlatformInput
from tests.support.platform import register_platform


class _Deferred:
    """A WSGI app whose target is set after the server has bound its port."""

    def __init__(self) -> None:
        self.target: Callable[..., Any] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.target is not None
        return self.target(environ, start_response)


@dataclass
class LiveStack:
    """The two running servers and their public URLs."""

    tool: Flask
    tool_url: str
    lms: Flask
    lms_url: str
    lms_config: DevLmsConfig


def devlms_registration(config: DevLmsConfig) -> PlatformInput:
    """What `tierpath platform add` is given for a development LMS."""
    return PlatformInput(
        issuer=config.issuer_url,
        client_id=config.client_id,
        deployment_ids=(config.deployment_id,),
        auth_login_url=config.auth_login_url,
        token_url=config.token_url,
        jwks_url=config.jwks_url,
        name="Development LMS",
    )


def _serve(app: Callable[..., Any]) -> BaseWSGIServer:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def live_stack(make_tool: Callable[[str], Flask]) -> Iterator[LiveStack]:
    """Start the tool (built by `make_tool(base_url)`) and devlms, registered together."""
    tool_wsgi = _Deferred()
    tool_server = _serve(tool_wsgi)
    tool_url = f"http://localhost:{tool_server.server_port}"
    tool = make_tool(tool_url)
    tool_wsgi.target = tool.wsgi_app
    config = DevLmsConfig(base_url="http://127.0.0.1", tool_url=tool_url)
    lms = create_platform(config)
    lms_server = _serve(lms)
    config.base_url = f"http://127.0.0.1:{lms_server.server_port}"
    register_platform(tool, devlms_registration(config))
    try:
        yield LiveStack(tool, tool_url, lms, config.base_url, config)
    finally:
        lms_server.shutdown()
        tool_server.shutdown()
        lms_server.server_close()
        tool_server.server_close()
