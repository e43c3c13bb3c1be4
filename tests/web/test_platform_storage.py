"""LTI Platform Storage on the tool side: the state kept by the LMS, not a cookie.

The login page puts the state into the LMS's storage frame; a launch that
comes back without the state cookie gets a page that must find the state
there before the session is handed over (the JavaScript runs in the real
browser test; here: what the pages carry and what the server accepts).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from lti_tool.db.models import LoginState
from lti_tool.runtime import runtime
from lti_tool.web.auth import SESSION_COOKIE
from tests.conftest import TOOL_ORIGIN, FakeClock
from tests.support.platform import SimulatedPlatform


def _storage_login(
    client: FlaskClient, platform: SimulatedPlatform, target: str
) -> tuple[str, str, str]:
    response = client.get(
        "/lti/login",
        query_string=platform.login_params(lti_storage_target=target),
        headers={"Sec-Fetch-Dest": "iframe"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    auth_url = re.search(r"var authUrl = (\"[^\"]+\")", html)
    assert auth_url is not None
    query = parse_qs(
        urlsplit(auth_url.group(1).strip('"').replace("\\u0026", "&")).query
    )
    return html, query["state"][0], query["nonce"][0]


def _fresh(app: Flask) -> FlaskClient:
    other = app.test_client()
    other.environ_base.update(
        {"wsgi.url_scheme": "https", "HTTP_HOST": TOOL_ORIGIN.split("//")[1]}
    )
    return other


def test_login_with_a_storage_target_puts_the_state_in_the_lms_frame(
    app: Flask, client: FlaskClient, platform: SimulatedPlatform
) -> None:
    html, state, _ = _storage_login(client, platform, "_parent")
    assert '"lti.put_data"' in html
    assert "tierpath_state_" in html
    assert 'var platformOrigin = "https://lms.test"' in html
    with runtime(app).session_factory() as session:
        login = session.get(LoginState, state)
        assert login is not None
        assert login.storage_target == "_parent"


def test_a_launch_without_the_state_cookie_waits_for_the_storage_frame(
    app: Flask, client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    _, state, nonce = _storage_login(client, platform, "post_message_forwarding")
    # Cookies blocked: the launch arrives in a browser without our cookies.
    cookieless = _fresh(app)
    token = platform.sign(platform.claims(nonce, clock()))
    page = cookieless.post("/lti/launch", data={"id_token": token, "state": state})
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    assert '"lti.get_data"' in html
    assert "post_message_forwarding" in html
    assert SESSION_COOKIE not in page.headers.get("Set-Cookie", "")
    fields = dict(
        re.findall(r'name="(session_token|destination)" value="([^"]*)"', html)
    )
    assert fields["destination"].startswith("/home?launch=")
    # The page's own form (same origin) hands the session over.
    done = cookieless.post(
        "/lti/launch/continue", data=fields, headers={"Origin": TOOL_ORIGIN}
    )
    assert done.status_code == 303
    assert SESSION_COOKIE in done.headers["Set-Cookie"]
    assert "Partitioned" in done.headers["Set-Cookie"]
    home = cookieless.get(done.headers["Location"], follow_redirects=True)
    assert home.status_code == 200
    # The id_token was used up by the first step: a replay is refused.
    replay = _fresh(app).post("/lti/launch", data={"id_token": token, "state": state})
    assert replay.status_code == 400


def test_another_site_cannot_plant_a_session_through_the_continue_step(
    app: Flask, client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    _, state, nonce = _storage_login(client, platform, "_parent")
    token = platform.sign(platform.claims(nonce, clock()))
    html = _fresh(app).post("/lti/launch", data={"id_token": token, "state": state})
    fields = dict(
        re.findall(
            r'name="(session_token|destination)" value="([^"]*)"',
            html.get_data(as_text=True),
        )
    )
    victim = _fresh(app)
    forged = victim.post(
        "/lti/launch/continue",
        data=fields,
        headers={"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert forged.status_code == 403
    assert SESSION_COOKIE not in forged.headers.get("Set-Cookie", "")


def test_without_platform_storage_a_cookieless_launch_is_still_refused(
    app: Flask, client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    login = platform.login(client)
    token = platform.sign(platform.claims(login.nonce, clock()))
    refused = _fresh(app).post(
        "/lti/launch", data={"id_token": token, "state": login.state}
    )
    assert refused.status_code == 400
    assert "state_cookie_missing" in refused.get_data(as_text=True)


def test_an_unusable_storage_target_is_refused(
    client: FlaskClient, platform: SimulatedPlatform
) -> None:
    response = client.get(
        "/lti/login",
        query_string=platform.login_params(lti_storage_target="a b<script>"),
    )
    assert response.status_code == 400
    assert "lti_storage_target" in response.get_data(as_text=True)


def test_a_continue_step_with_an_unknown_session_is_refused(app: Flask) -> None:
    response = _fresh(app).post(
        "/lti/launch/continue",
        data={"session_token": "made-up", "destination": "/home"},
        headers={"Origin": TOOL_ORIGIN},
    )
    assert response.status_code == 401
    with runtime(app).session_factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LoginState)) == 0
