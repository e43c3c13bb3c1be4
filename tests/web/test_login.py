"""OIDC login initiation (LTI 1.3 Core §4.1, Security Framework §5.1.1).

The login checks its parameters, records a single-use state and nonce, binds
the state to the browser with an iframe-ready cookie and sends the browser to
the platform with the authentication request parameters the spec requires.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from lti_tool.lti.blueprint import state_cookie_name
from lti_tool.runtime import runtime
from lti_tool.services.platforms import PlatformInput
from tests.support.platform import Login, SimulatedPlatform, register_platform
from tests.web.refusals import REFUSAL_LOGGER, accept_header, expect_refusal


@pytest.fixture(autouse=True)
def _capture_refusals(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=REFUSAL_LOGGER)


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def _single(url: str) -> dict[str, str]:
    query = _query(url)
    for name, values in query.items():
        assert len(values) == 1, f"{name} repeated in {url}"
    return {k: v[0] for k, v in query.items()}


def _state_cookie_header(response: TestResponse, state: str) -> str:
    name = state_cookie_name(state)
    cookies = [
        c for c in response.headers.getlist("Set-Cookie") if c.startswith(name + "=")
    ]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_login_by_get_or_post_redirects_to_platform(
    client: FlaskClient, platform: SimulatedPlatform, method: str
) -> None:
    params = platform.login_params()
    if method == "GET":
        response = client.get("/lti/login", query_string=params)
    else:
        response = client.post("/lti/login", data=params)
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith(platform.issuer + "/auth?")
    assert response.headers["Cache-Control"] == "no-store"


def test_auth_request_carries_the_oidc_parameters(
    client: FlaskClient, platform: SimulatedPlatform
) -> None:
    response = client.get(
        "/lti/login",
        query_string=platform.login_params(lti_message_hint="opaque-hint-42"),
    )
    query = _single(response.headers["Location"])
    assert query["scope"] == "openid"
    assert query["response_type"] == "id_token"
    assert query["response_mode"] == "form_post"
    assert query["prompt"] == "none"
    assert query["redirect_uri"] == "https://tool.test/lti/launch"
    assert query["client_id"] == platform.client_id
    assert query["login_hint"] == "user-123"
    assert query["lti_message_hint"] == "opaque-hint-42"
    assert len(query["state"]) >= 32
    assert len(query["nonce"]) >= 32
    assert query["state"] != query["nonce"]


def test_auth_request_omits_message_hint_when_platform_sent_none(
    client: FlaskClient, platform: SimulatedPlatform
) -> None:
    params = platform.login_params()
    del params["lti_message_hint"]
    response = client.get("/lti/login", query_string=params)
    assert "lti_message_hint" not in _query(response.headers["Location"])


def test_each_login_gets_a_fresh_state_and_nonce(
    client: FlaskClient, platform: SimulatedPlatform
) -> None:
    logins = [platform.login(client) for _ in range(3)]
    assert len({login.state for login in logins}) == 3
    assert len({login.nonce for login in logins}) == 3


def test_login_sets_iframe_ready_state_cookie(
    client: FlaskClient, platform: SimulatedPlatform
) -> None:
    response = client.get("/lti/login", query_string=platform.login_params())
    state = _single(response.headers["Location"])["state"]
    cookie = _state_cookie_header(response, state)
    assert cookie.startswith(f"{state_cookie_name(state)}={state};")
    attributes = [part.strip() for part in cookie.split(";")]
    for attribute in ("Secure", "HttpOnly", "SameSite=None", "Partitioned", "Path=/"):
        assert attribute in attributes, cookie
    assert "Max-Age=600" in attributes, cookie


def test_platform_without_client_id_is_found_when_it_is_the_only_one(
    client: FlaskClient, platform: SimulatedPlatform
) -> None:
    response = client.get(
        "/lti/login",
        query_string=platform.login_params(client_id=None),  # type: ignore[arg-type]
    )
    assert response.status_code == 302
    assert _single(response.headers["Location"])["client_id"] == platform.client_id


@pytest.mark.parametrize("missing", ["iss", "login_hint", "target_link_uri"])
@pytest.mark.parametrize("wire", ["html", "json"])
@pytest.mark.parametrize("blank", [None, "   "], ids=["absent", "blank"])
def test_login_without_required_parameter_is_refused(
    client: FlaskClient,
    platform: SimulatedPlatform,
    caplog: pytest.LogCaptureFixture,
    missing: str,
    wire: str,
    blank: str | None,
) -> None:
    params = platform.login_params(**{missing: blank})  # type: ignore[arg-type]
    response = client.get(
        "/lti/login", query_string=params, headers={"Accept": accept_header(wire)}
    )
    expect_refusal(
        response, status=400, code=f"missing_{missing}", wire=wire, caplog=caplog
    )
    assert not response.headers.getlist("Set-Cookie")


@pytest.mark.parametrize("wire", ["html", "json"])
def test_issuer_with_several_client_ids_requires_client_id(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    register_platform(
        app,
        PlatformInput(
            issuer=platform.issuer,
            client_id="second-client",
            deployment_ids=("deployment-2",),
            auth_login_url=platform.issuer + "/auth",
            token_url=platform.issuer + "/token",
            jwks_url=platform.jwks_url,
        ),
    )
    params = platform.login_params(client_id=None)  # type: ignore[arg-type]
    response = client.get(
        "/lti/login", query_string=params, headers={"Accept": accept_header(wire)}
    )
    expect_refusal(
        response, status=400, code="client_id_required", wire=wire, caplog=caplog
    )
    # Naming the client id picks the right registration.
    chosen = client.get(
        "/lti/login",
        query_string=platform.login_params(
            client_id="second-client", lti_deployment_id="deployment-2"
        ),
    )
    assert chosen.status_code == 302
    assert _single(chosen.headers["Location"])["client_id"] == "second-client"


def test_login_in_iframe_serves_cookie_check_page(
    client: FlaskClient, platform: SimulatedPlatform
) -> None:
    response = client.get(
        "/lti/login",
        query_string=platform.login_params(),
        headers={"Sec-Fetch-Dest": "iframe"},
    )
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    page = html.unescape(response.get_data(as_text=True))
    # The no-script fallback links the auth request itself.
    auth_url = page.split('<noscript><p><a class="button" href="', 1)[1].split('"', 1)[
        0
    ]
    assert auth_url.startswith(platform.issuer + "/auth?")
    state = _single(auth_url)["state"]
    assert "Open tierpath in a new window" in page
    new_window = page.split('id="blocked"', 1)[1].split('href="', 1)[1].split('"', 1)[0]
    assert urlsplit(new_window).path == "/lti/login"
    restart = _single(new_window)
    assert restart["new_window"] == "1"
    assert restart["iss"] == platform.issuer
    assert restart["target_link_uri"] == platform.login_params()["target_link_uri"]
    # The state cookie is set here too, so a browser that keeps it can launch.
    _state_cookie_header(response, state)


def test_login_in_new_window_redirects_even_from_a_frame(
    client: FlaskClient, platform: SimulatedPlatform
) -> None:
    response = client.get(
        "/lti/login",
        query_string={**platform.login_params(), "new_window": "1"},
        headers={"Sec-Fetch-Dest": "iframe"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith(platform.issuer + "/auth?")


@pytest.mark.parametrize("dest", ["document", "empty"])
def test_login_outside_a_frame_redirects(
    client: FlaskClient, platform: SimulatedPlatform, dest: str
) -> None:
    response = client.get(
        "/lti/login",
        query_string=platform.login_params(),
        headers={"Sec-Fetch-Dest": dest},
    )
    assert response.status_code == 302


def test_cookie_check_state_is_usable_for_the_launch(
    client: FlaskClient, platform: SimulatedPlatform
) -> None:
    response = client.get(
        "/lti/login",
        query_string=platform.login_params(),
        headers={"Sec-Fetch-Dest": "iframe"},
    )
    page = html.unescape(response.get_data(as_text=True))
    auth_url = page.split('<noscript><p><a class="button" href="', 1)[1].split('"', 1)[
        0
    ]
    query = _single(auth_url)
    login = Login(query["state"], query["nonce"], query["redirect_uri"], query)
    clock = runtime(client.application).clock
    token = platform.sign(platform.claims(login.nonce, clock()))
    assert platform.launch(client, login, token).status_code == 303
