"""A small Selenium driver for the browser tests: headless Debian Chromium.

Skips the test when Chromium, chromedriver or Selenium are missing, unless
TIERPATH_REQUIRE_BROWSER=1 (CI), where that is a failure. Screenshots are
saved under TIERPATH_ARTIFACTS (default test-artifacts/) for the CI run to keep.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 20


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("TIERPATH_ARTIFACTS") or ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _binaries() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        chromium = None
    if chromium and driver:
        return chromium, driver
    message = "needs chromium, chromedriver and selenium (apt-get install chromium chromium-driver)"
    if os.environ.get("TIERPATH_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


class Chrome:
    """The steps a person takes, each waiting for the page instead of sleeping."""

    def __init__(self, driver: Any, prefix: str) -> None:
        self.driver = driver
        self.prefix = prefix
        self.shots = 0

    # -- waiting --------------------------------------------------------------
    def wait_until(
        self, what: str, condition: Callable[[Any], Any], seconds: float = WAIT_SECONDS
    ) -> Any:
        from selenium.common.exceptions import TimeoutException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(
                self.driver, seconds, ignored_exceptions=(WebDriverException,)
            ).until(condition)
        except TimeoutException:
            self.shot(f"failed-{what.replace(' ', '-')[:40]}")
            raise AssertionError(
                f"{what} did not happen; the page says:\n{self.text()[:2000]}"
            ) from None

    def wait_for_text(self, text: str) -> None:
        self.wait_until(f"text {text!r}", lambda d: text in self.text())

    def _ready(self) -> bool:
        return bool(
            self.driver.execute_script("return document.readyState") == "complete"
        )

    # -- acting ---------------------------------------------------------------
    def _find(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait_until(
            f"element {selector}",
            ec.element_to_be_clickable((By.CSS_SELECTOR, selector)),
        )

    def click_and_wait(self, selector: str) -> None:
        from selenium.webdriver.support import expected_conditions as ec

        element = self._find(selector)
        element.click()
        with contextlib.suppress(AssertionError):  # a same-page action stays
            self.wait_until(
                f"leaving the page after {selector}", ec.staleness_of(element), 10
            )
        self.wait_until("the page to load", lambda d: self._ready())

    def check(self, selector: str) -> None:
        element = self._find(selector)
        if not element.is_selected():
            element.click()

    def type(self, selector: str, text: str) -> None:
        element = self._find(selector)
        element.clear()
        element.send_keys(text)

    def attach(self, selector: str, path: Path) -> None:
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, selector).send_keys(str(path))

    def values(self, selector: str, attribute: str) -> list[str]:
        from selenium.webdriver.common.by import By

        found = self.driver.find_elements(By.CSS_SELECTOR, selector)
        return sorted({e.get_attribute(attribute) for e in found})

    def text(self) -> str:
        from selenium.webdriver.common.by import By

        try:
            return str(self.driver.find_element(By.TAG_NAME, "body").text)
        except Exception:  # noqa: BLE001 - a page mid-navigation has no body yet
            return ""

    # -- the LMS ----------------------------------------------------------------
    def switch_user(self, lms: str, user: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        self.driver.switch_to.default_content()
        self.driver.get(f"{lms}/")
        self.wait_until("the course page", lambda d: self._ready())
        Select(self.driver.find_element(By.ID, "user-select")).select_by_value(user)
        self.click_and_wait("form[action='/switch-user'] button")

    def enter_frame(self, frame_id: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        self.wait_until(
            f"frame {frame_id}",
            ec.frame_to_be_available_and_switch_to_it((By.ID, frame_id)),
        )
        self.wait_until("the framed page", lambda d: self._ready() and self.text())

    def leave_frame(self) -> None:
        self.driver.switch_to.default_content()

    def shot(self, name: str) -> Path:
        self.shots += 1
        path = artifacts_dir() / f"{self.prefix}-{self.shots:02d}-{name}.png"
        # The viewport, whatever frame the driver is in (it stays in it).
        self.driver.save_screenshot(str(path))
        return path


@contextmanager
def chrome_session(
    *,
    block_third_party_cookies: bool,
    screenshots: str,
    blocked_cookie_sites: tuple[str, ...] = (),
) -> Iterator[Chrome]:
    """Start headless Chromium; third-party cookies allowed or blocked.

    `blocked_cookie_sites` (origins) get no cookies at all, partitioned or not
    (as Safari-like blocking does).
    """
    chromium, chromedriver = _binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--no-first-run",
        "--disable-background-networking",
    ):
        options.add_argument(argument)
    # 0 = allow all cookies, 1 = block third-party cookies (Settings → Privacy).
    prefs: dict[str, Any] = {
        "profile.cookie_controls_mode": 1 if block_third_party_cookies else 0
    }
    if blocked_cookie_sites:
        prefs["profile.content_settings.exceptions.cookies"] = {
            f"{site},*": {"setting": 2} for site in blocked_cookie_sites
        }
    options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield Chrome(driver, screenshots)
    finally:
        driver.quit()
