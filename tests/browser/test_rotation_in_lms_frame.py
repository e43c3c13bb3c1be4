"""The rotation flow in a real browser, inside the development LMS's iframe.

Headless Debian Chromium (driven by Selenium and chromedriver): Ana launches
tierpath from the course page, submits job-rotation evidence with a file;
Ines launches it as instructor, grades it on the rubric; the score shows in
the LMS gradebook, and "Review submission" there opens Ana's evidence in
tierpath. Run once with third-party cookies allowed and once blocked (the
tool then lives on Partitioned cookies and LTI Platform Storage). tierpath
is on http://localhost:<port> and the LMS on http://127.0.0.1:<port>, so the
frame is cross-site as in production. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.chrome import Chrome, chrome_session
from tests.support.live import LiveStack, step_stack

pytestmark = pytest.mark.e2e
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[LiveStack]:
    with step_stack(
        database_url,
        tmp_path / "instance",
        AGS_DELIVER_IN_PROCESS=True,
        AGS_POLL_INTERVAL=0.2,
    ) as running:
        yield running


@pytest.mark.parametrize("third_party_cookies", ["allowed", "blocked"])
def test_learner_submits_instructor_grades_score_lands_in_the_lms_gradebook(
    stack: LiveStack, tmp_path: Path, third_party_cookies: str
) -> None:
    evidence = tmp_path / "daily-report.pdf"
    evidence.write_bytes(PDF)
    with chrome_session(
        block_third_party_cookies=third_party_cookies == "blocked",
        screenshots=f"rotation-{third_party_cookies}",
    ) as chrome:
        _cookies_are_as_configured(chrome, stack.lms_url, third_party_cookies)
        _learner_submits(chrome, stack.lms_url, evidence)
        _instructor_grades(chrome, stack.lms_url)
        _gradebook_shows_the_score(chrome, stack.lms_url)
        _review_opens_the_evidence(chrome, stack.lms_url)


def _cookies_are_as_configured(chrome: Chrome, lms: str, mode: str) -> None:
    """The browser really blocks (or keeps) unpartitioned cookies in the frame."""
    _launch_in_frame(chrome, lms, "learner1")
    kept = chrome.driver.execute_script(
        "document.cookie = 'probe3p=1; SameSite=None; Secure; Path=/';"
        "return document.cookie.indexOf('probe3p=1') !== -1;"
    )
    assert kept is (mode == "allowed")
    chrome.leave_frame()


def _launch_in_frame(chrome: Chrome, lms: str, user: str) -> None:
    chrome.switch_user(lms, user)
    chrome.click_and_wait("a#link-rl-career-path")
    chrome.enter_frame("tool-frame")


def _learner_submits(chrome: Chrome, lms: str, evidence: Path) -> None:
    _launch_in_frame(chrome, lms, "learner1")
    chrome.wait_for_text("Job rotations")
    chrome.shot("learner-home")
    chrome.click_and_wait("a[href*='/rotations/'][href*='/reporting']")
    chrome.wait_for_text("Job rotation: Reporting")
    chrome.check("#task-0")
    chrome.check("#task-1")
    chrome.type("#note", "Pulled the daily report and checked it against the ACD.")
    chrome.attach("#files", evidence)
    chrome.shot("evidence-form")
    chrome.click_and_wait("#submit-evidence")
    chrome.wait_for_text("Evidence submitted (version 1)")
    chrome.wait_for_text("daily-report.pdf")
    chrome.shot("evidence-submitted")
    chrome.leave_frame()


def _instructor_grades(chrome: Chrome, lms: str) -> None:
    _launch_in_frame(chrome, lms, "instructor")
    chrome.click_and_wait("#grading-link")
    chrome.wait_for_text("Job-rotation evidence to grade")
    chrome.click_and_wait("#grading-queue a.grade-link")
    chrome.wait_for_text("daily-report.pdf")
    for criterion in chrome.values("fieldset.criterion input[type=radio]", "name"):
        chrome.check(f"input[name='{criterion}'][value='2']")
    chrome.type("#comment", "Figures reconcile; well summarised.")
    chrome.shot("grading")
    chrome.click_and_wait("#save-grade")
    chrome.wait_for_text("Grade saved")
    chrome.shot("graded")
    chrome.leave_frame()


def _gradebook_shows_the_score(chrome: Chrome, lms: str) -> None:
    def fully_graded(driver: Any) -> bool:
        driver.get(f"{lms}/gradebook")
        return "FullyGraded" in driver.find_element("tag name", "body").text

    chrome.wait_until("the score in the LMS gradebook", fully_graded, seconds=30)
    body = chrome.text()
    assert "Job rotation: Reporting" in body
    assert "Figures reconcile; well summarised." in body
    assert "Ana Morales" in body
    chrome.shot("lms-gradebook")


def _review_opens_the_evidence(chrome: Chrome, lms: str) -> None:
    chrome.click_and_wait("a.review-submission")
    chrome.enter_frame("tool-frame")
    chrome.wait_for_text("daily-report.pdf")
    chrome.wait_for_text("Grade history")
    chrome.shot("submission-review")
    chrome.leave_frame()
