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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from devlms.app import DevLmsConfig, create_platform
from lti_tool.app import create_app
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


STEP_PROGRAM = (
    Path(__file__).parents[2] / "config" / "programs" / "partnerhero-step.toml"
)


@contextmanager
def step_stack(
    database_url: str, instance: Path, people: int = 50, **config: object
) -> Iterator[LiveStack]:
    """The live stack with PartnerHero STEP loaded and `people` demo agents.

    `config` overrides the tool's settings (e.g. in-process workers); any
    in-process worker is stopped and the engine disposed afterwards.
    """
    from lti_tool.runtime import runtime
    from lti_tool.services.demo_data import write_demo_people
    from lti_tool.services.programs import load_program
    from tests.conftest import make_test_config

    def make_tool(base_url: str) -> Flask:
        return create_app(
            make_test_config(database_url, instance, None, BASE_URL=base_url, **config)
        )

    with live_stack(make_tool) as running:
        rt = runtime(running.tool)
        now = datetime.now(UTC)
        with rt.session_factory() as session:
            load_program(session, STEP_PROGRAM, now)
            write_demo_people(session, people, now)
            session.commit()
        try:
            yield running
        finally:
            for name in ("tierpath.poster", "tierpath.deliverer"):
                worker = running.tool.extensions.get(name)
                if worker is not None:
                    worker.stop()
    running.tool.extensions["tierpath"].engine.dispose()
