"""devlms in a real browser (headless Chromium via Selenium), with a fake tool.

The fake tool runs on ``http://localhost:<port>`` and devlms on
``http://127.0.0.1:<port>``, so they are cross-site, as in production.  The
tool keeps its OIDC state and nonce only in LTI Platform Storage (no cookies),
registers itself through Dynamic Registration and receives a Submission Review
launch from the gradebook.  Skipped when Chromium, chromedriver or Selenium
are missing, unless TIERPATH_REQUIRE_BROWSER=1 (CI), where that fails.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from flask import Flask, render_template_string, request
from werkzeug.serving import BaseWSGIServer, make_server

from devlms.app import DevLmsConfig, create_platform, get_devlms

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
HAVE_SELENIUM = importlib.util.find_spec("selenium") is not None
HAVE_BROWSER = bool(CHROMIUM and CHROMEDRIVER and HAVE_SELENIUM)
REQUIRE_BROWSER = os.environ.get("TIERPATH_REQUIRE_BROWSER") == "1"
MISSING = "needs chromium, chromedriver and selenium"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not HAVE_BROWSER and not REQUIRE_BROWSER, reason=MISSING),
]

WAIT_SECONDS = 15

LOGIN_PAGE = """<!doctype html><html><head><title>fake tool login</title></head><body>
<p id="status">starting</p>
<form id="auth" method="post" action="{{ auth_url }}">
{% for k, v in params.items() %}<input type="hidden" name="{{ k }}" value="{{ v }}">{% endfor %}
</form>
<script>
var cfg = {{ cfg|tojson }};
var status = document.getElementById("status");
function submit() { document.getElementById("auth").submit(); }
if (!cfg.target) {
  status.textContent = "no storage offered";
  submit();
} else {
  var win = cfg.target === "_parent" ? window.parent : window.parent.frames[cfg.target];
  var done = {};
  window.addEventListener("message", function (event) {
    if (event.origin !== cfg.platform_origin) { return; }
    var data = event.data;
    if (data.subject === "lti.capabilities.response") {
      status.textContent = "capabilities " + JSON.stringify(data.supported_messages);
      win.postMessage({subject: "lti.put_data", message_id: "p1",
                       key: "state_" + cfg.state, value: cfg.state}, cfg.platform_origin);
      win.postMessage({subject: "lti.put_data", message_id: "p2",
                       key: "nonce_" + cfg.nonce, value: cfg.nonce}, cfg.platform_origin);
    } else if (data.subject === "lti.put_data.response") {
      if (data.error) { status.textContent = "put_data error " + data.error.code; return; }
      done[data.message_id] = true;
      if (done.p1 && done.p2) { status.textContent = "stored"; submit(); }
    }
  });
  window.parent.postMessage({subject: "lti.capabilities", message_id: "c1"},
                            cfg.platform_origin);
}
</script></body></html>"""

LAUNCH_PAGE = """<!doctype html><html><head><title>fake tool launch</title></head><body>
<p id="message-type">{{ claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] }}</p>
<p id="for-user">{{ (claims.get("https://purl.imsglobal.org/spec/lti/claim/for_user") or {}).get("user_id", "") }}</p>
<p id="result">checking</p>
<script>
var cfg = {{ cfg|tojson }};
var result = document.getElementById("result");
if (!cfg.target) {
  result.textContent = "no storage offered";
} else {
  var win = cfg.target === "_parent" ? window.parent : window.parent.frames[cfg.target];
  var got = {};
  window.addEventListener("message", function (event) {
    if (event.origin !== cfg.platform_origin) { return; }
    var data = event.data;
    if (data.subject !== "lti.get_data.response") { return; }
    got[data.key] = data.value;
    var state = got["state_" + cfg.state], nonce = got["nonce_" + cfg.nonce];
    if (state !== undefined && nonce !== undefined) {
      result.textContent = state === cfg.state && nonce === cfg.nonce ? "verified" : "mismatch";
    }
  });
  win.postMessage({subject: "lti.get_data", message_id: "g1", key: "state_" + cfg.state},
                  cfg.platform_origin);
  win.postMessage({subject: "lti.get_data", message_id: "g2", key: "nonce_" + cfg.nonce},
                  cfg.platform_origin);
}
</script></body></html>"""

REGISTER_PAGE = """<!doctype html><html><head><title>fake tool registration</title></head>
<body><p id="registered">{{ client_id }}</p>
<script>window.parent.postMessage({subject: "org.imsglobal.lti.close"}, "*");</script>
</body></html>"""


def make_fake_tool(urls: dict[str, str]) -> Flask:
    """A tool that keeps state and nonce only in LTI Platform Storage."""
    tool = Flask("fake_tool")

    @tool.get("/lti/login")
    def login() -> str:
        args = request.args
        state, nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
        params = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "client_id": args["client_id"],
            "redirect_uri": f"{urls['tool']}/lti/launch",
            "login_hint": args["login_hint"],
            "lti_message_hint": args["lti_message_hint"],
            "state": state,
            "nonce": nonce,
        }
        cfg = {
            "target": args.get("lti_storage_target", ""),
            "platform_origin": urls["lms"],
            "state": state,
            "nonce": nonce,
        }
        return render_template_string(
            LOGIN_PAGE, auth_url=f"{urls['lms']}/auth", params=params, cfg=cfg
        )

    @tool.post("/lti/launch")
    def launch() -> str:
        claims = jwt.decode(
            request.form["id_token"], options={"verify_signature": False}
        )
        cfg = {
            "target": request.form.get("lti_storage_target", ""),
            "platform_origin": urls["lms"],
            "state": request.form["state"],
            "nonce": claims["nonce"],
        }
        return render_template_string(LAUNCH_PAGE, claims=claims, cfg=cfg)

    @tool.get("/register")
    def register() -> str:
        config = requests.get(request.args["openid_configuration"], timeout=5).json()
        assert request.args["openid_configuration"].startswith(config["issuer"])
        host = urlsplit(urls["tool"]).netloc
        body = {
            "application_type": "web",
            "response_types": ["id_token"],
            "grant_types": ["implicit", "client_credentials"],
            "initiate_login_uri": f"{urls['tool']}/lti/login",
            "redirect_uris": [f"{urls['tool']}/lti/launch"],
            "client_name": "Browser Tool",
            "jwks_uri": f"{urls['tool']}/jwks",
            "token_endpoint_auth_method": "private_key_jwt",
            "scope": "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                "domain": host,
                "target_link_uri": f"{urls['tool']}/home",
                "claims": ["iss", "sub", "name"],
                "messages": [{"type": "LtiResourceLinkRequest"}],
            },
        }
        response = requests.post(
            config["registration_endpoint"],
            json=body,
            headers={"Authorization": f"Bearer {request.args['registration_token']}"},
            timeout=5,
        )
        response.raise_for_status()
        return render_template_string(
            REGISTER_PAGE, client_id=response.json()["client_id"]
        )

    return tool


def _serve(app: Any) -> BaseWSGIServer:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Any]]:
    urls: dict[str, str] = {}
    tool_server = _serve(make_fake_tool(urls))
    urls["tool"] = f"http://localhost:{tool_server.server_port}"
    config = DevLmsConfig(
        base_url="http://127.0.0.1",
        tool_url=urls["tool"],
        tool_jwks_fetcher=lambda url: {"keys": []},
        platform_storage="parent",
    )
    lms = create_platform(config)
    lms_server = _serve(lms)
    config.base_url = urls["lms"] = f"http://127.0.0.1:{lms_server.server_port}"
    try:
        yield {"urls": urls, "lms": lms}
    finally:
        for server in (lms_server, tool_server):
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    if CHROMIUM is None or CHROMEDRIVER is None or not HAVE_SELENIUM:
        pytest.fail(MISSING)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
    ):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield browser
    finally:
        browser.quit()


def click_and_wait(driver: Any, button: Any) -> None:
    """Click a link or button and wait for the next page (no racing navigations)."""
    from selenium.webdriver.support import expected_conditions as ec

    button.click()
    wait_until(driver, "the form submission", ec.staleness_of(button))
    wait_until(
        driver,
        "the next page to load",
        lambda d: d.execute_script("return document.readyState") == "complete",
    )


def switch_user(driver: Any, lms: str, user: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(f"{lms}/")
    Select(driver.find_element(By.ID, "user-select")).select_by_value(user)
    click_and_wait(
        driver,
        driver.find_element(By.CSS_SELECTOR, "form[action='/switch-user'] button"),
    )


def wait_until(driver: Any, what: str, condition: Any) -> Any:
    """Wait for ``condition(driver)`` to be truthy; fail with the page text."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, WAIT_SECONDS).until(condition)
    except TimeoutException:
        page = driver.find_element(By.TAG_NAME, "body").text
        raise AssertionError(f"{what} did not happen; page says: {page}") from None


def wait_text(driver: Any, element_id: str, *expected: str) -> str:
    from selenium.webdriver.common.by import By

    def settled(d: Any) -> str | bool:
        text: str = d.find_element(By.ID, element_id).text
        return text if text in expected else False

    found: str = wait_until(driver, f"#{element_id} in {expected}", settled)
    return found


def tool_result(driver: Any) -> str:
    """Wait for the fake tool in #tool-frame to finish; return its #result."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    wait_until(
        driver,
        "the tool frame",
        ec.frame_to_be_available_and_switch_to_it((By.ID, "tool-frame")),
    )
    try:
        return wait_text(driver, "result", "verified", "mismatch", "no storage offered")
    finally:
        driver.switch_to.default_content()


def storage_log(driver: Any) -> list[tuple[str, str, str]]:
    from selenium.webdriver.common.by import By

    return [
        (
            li.get_attribute("data-subject"),
            li.get_attribute("data-outcome"),
            li.get_attribute("data-role"),
        )
        for li in driver.find_elements(By.CSS_SELECTOR, "#lti-storage-log li")
    ]


@pytest.mark.parametrize(("mode", "role"), [("parent", "parent"), ("frame", "frame")])
def test_tool_keeps_state_in_platform_storage(
    stack: dict[str, Any], driver: Any, mode: str, role: str
) -> None:
    lms = stack["urls"]["lms"]
    switch_user(driver, lms, "learner1")
    driver.get(f"{lms}/course/launch/rl-career-path?storage={mode}")
    assert tool_result(driver) == "verified"
    log = storage_log(driver)
    assert ("lti.capabilities", "ok", "parent") in log
    assert [entry for entry in log if entry[0] == "lti.put_data"] == [
        ("lti.put_data", "ok", role),
        ("lti.put_data", "ok", role),
    ]
    assert [entry for entry in log if entry[0] == "lti.get_data"] == [
        ("lti.get_data", "ok", role),
        ("lti.get_data", "ok", role),
    ]


def set_storage_mode(driver: Any, lms: str, mode: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(f"{lms}/")
    Select(driver.find_element(By.ID, "platform-storage-mode")).select_by_value(mode)
    click_and_wait(driver, driver.find_element(By.ID, "platform-storage-save"))


def test_no_storage_when_switched_off_on_the_course_page(
    stack: dict[str, Any], driver: Any
) -> None:
    from selenium.webdriver.common.by import By

    lms = stack["urls"]["lms"]
    switch_user(driver, lms, "learner2")
    set_storage_mode(driver, lms, "off")
    try:
        driver.get(f"{lms}/course/launch/rl-career-path")
        assert tool_result(driver) == "no storage offered"
        assert driver.find_elements(By.ID, "lti-storage-log") == []
    finally:
        set_storage_mode(driver, lms, "parent")


def test_dynamic_registration_in_the_browser(
    stack: dict[str, Any], driver: Any
) -> None:
    from selenium.webdriver.common.by import By

    urls = stack["urls"]
    switch_user(driver, urls["lms"], "admin")
    click_and_wait(driver, driver.find_element(By.ID, "admin-tools-link"))
    driver.find_element(By.ID, "dr-url").send_keys(f"{urls['tool']}/register")
    click_and_wait(driver, driver.find_element(By.ID, "dr-submit"))
    status = wait_until(
        driver,
        "the registration page reacting to org.imsglobal.lti.close",
        lambda d: (
            d.find_element(By.ID, "dr-result").get_attribute("data-status") != "pending"
            and d.find_element(By.ID, "dr-result").get_attribute("data-status")
        ),
    )
    assert status == "registered"
    client_id = driver.find_element(By.ID, "dr-client-id").text
    assert driver.find_element(By.ID, "dr-result").text == (
        f"Tool registered: Browser Tool — client id {client_id}"
    )
    tool = get_devlms(stack["lms"]).tool(client_id)
    assert tool is not None
    assert tool.name == "Browser Tool"

    # the new tool is launchable from the course, with platform storage
    link = next(
        link
        for link in get_devlms(stack["lms"]).store.links.values()
        if link.tool == client_id
    )
    switch_user(driver, urls["lms"], "learner1")
    click_and_wait(driver, driver.find_element(By.ID, f"link-{link.id}"))
    assert tool_result(driver) == "verified"


def test_submission_review_link_launches_the_review(
    stack: dict[str, Any], driver: Any
) -> None:
    from selenium.webdriver.common.by import By

    store = get_devlms(stack["lms"]).store
    item_id = store.create_lineitem(
        {
            "label": "Browser evidence",
            "scoreMaximum": 10,
            "resourceLinkId": "rl-career-path",
            "submissionReview": {"reviewableStatus": ["Submitted"]},
        }
    )
    store.put_score(
        item_id,
        {
            "userId": "devlms-user-learner1",
            "activityProgress": "Submitted",
            "gradingProgress": "PendingManual",
            "timestamp": "2026-01-10T10:00:00+00:00",
        },
    )
    switch_user(driver, stack["urls"]["lms"], "instructor")
    driver.get(f"{stack['urls']['lms']}/gradebook")
    click_and_wait(driver, driver.find_element(By.ID, f"review-{item_id}-learner1"))
    assert tool_result(driver) == "verified"
    driver.switch_to.frame(driver.find_element(By.ID, "tool-frame"))
    try:
        assert driver.find_element(By.ID, "message-type").text == (
            "LtiSubmissionReviewRequest"
        )
        assert driver.find_element(By.ID, "for-user").text == "devlms-user-learner1"
    finally:
        driver.switch_to.default_content()
