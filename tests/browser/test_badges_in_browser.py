"""Badges in a real browser: the wall inside the LMS iframe, then a panel verifying.

Ana's completed tier has its badge; she opens tierpath from the development
LMS course page (a cross-site iframe) and finds it under "My badges", with the
link to share. A promotion panel, with no account, opens that public page in
a top-level window, sees the status, downloads the baked PNG and presses
"Verify this badge", typing Ana's email. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from badges.baking import unbake_png
from lti_tool.db.models import Enrolment, LmsUser
from lti_tool.runtime import runtime
from lti_tool.services.badges import issue_badge
from tests.browser.chrome import Chrome, chrome_session
from tests.support.live import LiveStack, step_stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[LiveStack]:
    with step_stack(database_url, tmp_path / "instance") as running:
        yield running


def _launch_in_frame(chrome: Chrome, lms: str, user: str) -> None:
    chrome.switch_user(lms, user)
    chrome.click_and_wait("a#link-rl-career-path")
    chrome.enter_frame("tool-frame")


def _complete_first_tier(stack: LiveStack) -> str:
    """Mark the tier Ana was auto-enrolled in as completed and issue its badge."""
    rt = runtime(stack.tool)
    with rt.session_factory() as session:
        person_id = session.scalar(
            sa.select(LmsUser.person_id).where(LmsUser.person_id.is_not(None))
        )
        enrolment = session.scalar(
            sa.select(Enrolment).where(Enrolment.person_id == person_id)
        )
        assert enrolment is not None
        enrolment.state = "completed"
        enrolment.completed_at = datetime.now(UTC)
        credential = issue_badge(
            session,
            rt.encryptor,
            rt.badge_issuer(),
            enrolment,
            datetime.now(UTC),
            rt.sink_for(session),
        )
        assert credential is not None
        session.commit()
        return credential.id


def test_the_badge_wall_in_the_lms_frame_and_a_panel_verifying_the_shared_link(
    stack: LiveStack,
) -> None:
    with chrome_session(
        block_third_party_cookies=False, screenshots="badges"
    ) as chrome:
        _launch_in_frame(chrome, stack.lms_url, "learner1")  # auto-enrols Ana
        chrome.wait_for_text("Foundation")
        chrome.leave_frame()
        credential_id = _complete_first_tier(stack)

        _launch_in_frame(chrome, stack.lms_url, "learner1")
        chrome.wait_for_text("My badges")
        chrome.shot("learner-home-badges")
        chrome.click_and_wait("a[href*='/learner/badges']")
        chrome.wait_for_text("Add to LinkedIn")
        (public_url,) = chrome.values("input[id^='share-']", "value")
        assert public_url == f"{stack.tool_url}/credentials/{credential_id}"
        chrome.shot("badge-wall")
        chrome.leave_frame()

        # The panel: a top-level window, no LMS, no account.
        chrome.driver.delete_all_cookies()
        chrome.driver.get(public_url)
        chrome.wait_for_text("Issued and not revoked")
        chrome.shot("public-page")
        (png_link,) = chrome.values("a[href$='/badge.png']", "href")
        baked = unbake_png(requests.get(png_link, timeout=10).content)
        assert baked is not None
        assert credential_id in baked.text
        chrome.click_and_wait("a.button[href*='/verify']")
        chrome.wait_for_text("Verified: this badge is genuine")
        chrome.shot("verify-by-url")
        chrome.type("#v-email", "Ana.Morales@example.com")
        chrome.click_and_wait("form[action$='/verify'] button[type=submit]")
        chrome.wait_for_text("Verified: this badge is genuine")
        assert "The email you typed matches the recipient." in chrome.text()
        chrome.shot("verify-with-email")
