"""LTI Platform Storage with the real tool in headless Chromium.

The development LMS offers its storage in the parent page or in a named
storage frame; tierpath keeps the login state there. With every cookie of
tierpath's site blocked, the launch is still trusted (the state is found in
the LMS's storage) and the next step, which needs a cookie, offers the new
window: the fallbacks in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.chrome import chrome_session
from tests.support.live import LiveStack, step_stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[LiveStack]:
    with step_stack(database_url, tmp_path / "instance") as running:
        yield running


@pytest.mark.parametrize("mode", ["parent", "frame"])
def test_the_login_state_is_kept_in_the_lms_storage(
    stack: LiveStack, mode: str
) -> None:
    with chrome_session(
        block_third_party_cookies=True, screenshots=f"storage-{mode}"
    ) as chrome:
        chrome.switch_user(stack.lms_url, "learner1")
        chrome.driver.get(
            f"{stack.lms_url}/course/launch/rl-career-path?storage={mode}"
        )
        chrome.enter_frame("tool-frame")
        chrome.wait_for_text("Job rotations")
        chrome.leave_frame()
        log = chrome.values("#lti-storage-log li.lti-storage-entry", "data-subject")
        assert "lti.put_data" in log
        chrome.shot("learner-home")


def test_with_all_cookies_blocked_the_launch_is_trusted_then_the_new_window_is_offered(
    stack: LiveStack,
) -> None:
    tool_site = stack.tool_url  # http://localhost:<port>
    with chrome_session(
        block_third_party_cookies=True,
        screenshots="storage-no-cookies",
        blocked_cookie_sites=(tool_site,),
    ) as chrome:
        chrome.switch_user(stack.lms_url, "learner1")
        chrome.driver.get(
            f"{stack.lms_url}/course/launch/rl-career-path?storage=parent"
        )
        chrome.enter_frame("tool-frame")
        # The storage check passed (no "cannot be trusted"), the session
        # cookie could not be kept, so tierpath offers the new window.
        chrome.wait_for_text("new window")
        assert "cannot be trusted" not in chrome.text()
        chrome.shot("new-window-offered")
        chrome.leave_frame()
        log = chrome.values("#lti-storage-log li.lti-storage-entry", "data-subject")
        assert {"lti.put_data", "lti.get_data"} <= set(log)
