"""Dynamic Registration end to end: the development LMS registers tierpath over HTTP.

devlms starts a registration (openid-configuration + single-use token) and
opens tierpath's registration URL; tierpath fetches the configuration, checks
the issuer, registers itself and holds the new platform for approval. Before
approval the LMS's launches are refused; after it, a learner launches the new
registration's course link and lands on her home.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from lti_tool.app import create_app
from lti_tool.db.models import Platform
from lti_tool.runtime import runtime
from lti_tool.services.platforms import approve_platform
from tests.conftest import make_test_config
from tests.support.browser import Browser
from tests.support.live import LiveStack, live_stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[LiveStack]:
    def make_tool(base_url: str):  # type: ignore[no-untyped-def]
        return create_app(
            make_test_config(
                database_url,
                tmp_path / "instance",
                BASE_URL=base_url,
                REGISTRATION_ALLOW_LOOPBACK=True,  # devlms runs on 127.0.0.1
            )
        )

    with live_stack(make_tool) as running:
        yield running
    running.tool.extensions["tierpath"].engine.dispose()


def _start(stack: LiveStack, **extra: str) -> dict[str, str]:
    started = requests.post(
        f"{stack.lms_url}/api/dynamic-registration",
        json={"registration_url": f"{stack.tool_url}/lti/register", **extra},
        timeout=10,
    )
    assert started.status_code == 201, started.text
    return started.json()  # type: ignore[no-any-return]


def _pending(stack: LiveStack) -> list[Platform]:
    with runtime(stack.tool).session_factory() as session:
        return list(
            session.scalars(sa.select(Platform).where(Platform.approved_at.is_(None)))
        )


def test_the_lms_registers_tierpath_which_waits_for_approval_then_launches(
    stack: LiveStack,
) -> None:
    registration = _start(stack)
    page = Browser().open(registration["start_url"])
    assert page.status_code == 200, page.text
    assert "must approve" in page.text
    assert "org.imsglobal.lti.close" in page.text
    status = requests.get(registration["status_url"], timeout=10).json()
    assert status["status"] == "registered"
    (pending,) = _pending(stack)
    assert pending.client_id == status["client_id"]
    assert pending.issuer == stack.lms_config.issuer_url
    # The registration token was single use.
    again = Browser().open(registration["start_url"])
    assert again.status_code >= 400
    assert "Support code" in again.text

    link = status["resource_link_id"]
    refused = Browser().open(f"{stack.lms_url}/launch/{link}?user=learner1")
    assert refused.status_code == 403
    assert "approve" in refused.text

    rt = runtime(stack.tool)
    with rt.session_factory() as session:
        approve_platform(session, pending.id, rt.clock())
        session.commit()
    home = Browser().open(f"{stack.lms_url}/launch/{link}?user=learner1")
    assert home.status_code == 200, home.text
    assert "/learner/" in home.url


def test_a_configuration_whose_issuer_does_not_match_is_refused(
    stack: LiveStack,
) -> None:
    registration = _start(stack, fault="issuer-mismatch")
    page = Browser().open(registration["start_url"])
    assert page.status_code == 400
    assert "issuer" in page.text.lower()
    assert _pending(stack) == []
    status = requests.get(registration["status_url"], timeout=10).json()
    assert status["status"] == "pending"
