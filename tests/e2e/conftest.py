"""End-to-end fixtures: tierpath and the development LMS over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lti_tool.app import create_app
from tests.conftest import make_test_config
from tests.support.browser import Browser
from tests.support.live import LiveStack, live_stack


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[LiveStack]:
    def make_tool(base_url: str):  # type: ignore[no-untyped-def]
        return create_app(
            make_test_config(database_url, tmp_path / "instance", BASE_URL=base_url)
        )

    with live_stack(make_tool) as running:
        yield running
    running.tool.extensions["tierpath"].engine.dispose()


@pytest.fixture
def browser() -> Browser:
    return Browser()
