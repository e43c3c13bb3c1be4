"""Bad launches are refused with a 4xx, a reason code and a support code, never a 500.

Mirrors the 1EdTech certification bad-payload list and reference/lti.md §1.3 / §5:
replay, nonce and state binding, alg confusion, kid handling, aud/azp, iss,
timestamps with leeway, deployments, target_link_uri, required LTI claims,
launch ids as bearers, server-side role checks, CSRF, and the JWKS cache
(refetch on an unknown kid, rate limit, HTTP caching, stale-on-error).

Each refusal is checked as an HTML page and as JSON (``Accept: application/json``)
through the parametrized ``wire`` fixture, and its support code must be logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient
from requests.adapters import BaseAdapter
from werkzeug.test import TestResponse

from lti_tool.lti.blueprint import state_cookie_name
from lti_tool.runtime import runtime
from tests.conftest import TOOL_ORIGIN, FakeClock
from tests.support.platform import (
    ADMIN,
    CLAIM,
    DROP,
    INSTRUCTOR,
    LEARNER,
    SimulatedPlatform,
    launch_id_from,
    pooled_key,
    public_pem,
    unsigned_token,
)
from tests.web.refusals import (
    REFUSAL_LOGGER,
    accept_header,
    b64json,
    b64url,
    expect_refusal,
    new_browser,
)

OTHER_AUD = "some-other-tool"
Overrides = Callable[[int], dict[str, Any]]


@pytest.fixture(autouse=True)
def _capture_refusals(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=REFUSAL_LOGGER)


@pytest.fixture(params=["html", "json"])
def wire(request: pytest.FixtureRequest) -> str:
    """How the refusal is asked for: an HTML page or JSON."""
    return str(request.param)


@pytest.fixture
def browser(client: FlaskClient, wire: str) -> FlaskClient:
    """The test client, asking for HTML or JSON."""
    client.environ_base["HTTP_ACCEPT"] = accept_header(wire)
    return client


def _launch_with(
    platform: SimulatedPlatform,
    client: FlaskClient,
    clock: FakeClock,
    overrides: dict[str, Any],
) -> TestResponse:
    login = platform.login(client)
    bent = dict(overrides)
    nonce = bent.pop("nonce", login.nonce)  # claims() takes the nonce positionally
    claims = platform.claims(login.nonce if nonce is DROP else nonce, clock(), **bent)
    if nonce is DROP:
        del claims["nonce"]
    token = platform.sign(claims)
    response: TestResponse = platform.launch(client, login, token)
    return response


def _landing(client: FlaskClient, launch_response: TestResponse) -> str:
    """Follow /home to the role's landing page and return its path."""
    assert launch_response.status_code == 303, launch_response.get_data(as_text=True)
    home = client.get(launch_response.headers["Location"])
    assert home.status_code == 303, home.get_data(as_text=True)
    return urlsplit(home.headers["Location"]).path


# -- refused claims --------------------------------------------------------

REFUSED_CLAIMS: list[Any] = [
    # aud / azp (Security Framework §5.1.3 steps 3-5)
    pytest.param(lambda t: {"aud": OTHER_AUD}, "wrong_audience", id="aud-other"),
    pytest.param(lambda t: {"aud": []}, "wrong_audience", id="aud-empty-list"),
    pytest.param(
        lambda t: {"aud": ["tierpath-client", OTHER_AUD], "azp": DROP},
        "azp_mismatch",
        id="aud-list-without-azp",
    ),
    pytest.param(
        lambda t: {"aud": ["tierpath-client", OTHER_AUD], "azp": OTHER_AUD},
        "azp_mismatch",
        id="aud-list-azp-other",
    ),
    pytest.param(
        lambda t: {"azp": OTHER_AUD}, "azp_mismatch", id="single-aud-azp-other"
    ),
    pytest.param(lambda t: {"aud": DROP}, "missing_aud", id="aud-missing"),
    pytest.param(lambda t: {"aud": 42}, "missing_aud", id="aud-not-a-string"),
    # iss
    pytest.param(
        lambda t: {"iss": "https://other-lms.test"}, "issuer_mismatch", id="iss-other"
    ),
    pytest.param(lambda t: {"iss": DROP}, "issuer_mismatch", id="iss-missing"),
    # timestamps (certification "Timestamps Incorrect"), leeway 60 s, max age 600 s
    pytest.param(lambda t: {"exp": DROP}, "missing_exp", id="exp-missing"),
    pytest.param(lambda t: {"iat": DROP}, "missing_iat", id="iat-missing"),
    pytest.param(lambda t: {"exp": t - 120}, "token_expired", id="exp-past-leeway"),
    pytest.param(lambda t: {"exp": t - 61}, "token_expired", id="exp-61s-past"),
    pytest.param(
        lambda t: {"iat": t + 120, "exp": t + 420},
        "issued_in_future",
        id="iat-120s-ahead",
    ),
    pytest.param(
        lambda t: {"iat": t - 12 * 60, "exp": t + 300},
        "launch_too_old",
        id="iat-12min-old-exp-future",
    ),
    pytest.param(
        lambda t: {"iat": t - 661, "exp": t + 300},
        "launch_too_old",
        id="iat-just-past-max-age-plus-leeway",
    ),
    pytest.param(lambda t: {"nbf": t + 120}, "not_yet_valid", id="nbf-future"),
    pytest.param(lambda t: {"exp": str(t + 300)}, "missing_exp", id="exp-string"),
    pytest.param(lambda t: {"exp": True}, "missing_exp", id="exp-bool"),
    pytest.param(lambda t: {"iat": str(t)}, "missing_iat", id="iat-string"),
    # json.loads accepts NaN / Infinity, which would pass every comparison.
    pytest.param(lambda t: {"exp": float("nan")}, "missing_exp", id="exp-nan"),
    pytest.param(lambda t: {"exp": float("inf")}, "missing_exp", id="exp-infinity"),
    pytest.param(lambda t: {"iat": float("nan")}, "missing_iat", id="iat-nan"),
    pytest.param(lambda t: {"iat": float("-inf")}, "missing_iat", id="iat-minus-inf"),
    pytest.param(lambda t: {"nbf": float("nan")}, "missing_nbf", id="nbf-nan"),
    # nonce
    pytest.param(lambda t: {"nonce": DROP}, "missing_nonce", id="nonce-missing"),
    pytest.param(
        lambda t: {"nonce": "not-the-login-nonce"}, "nonce_mismatch", id="nonce-foreign"
    ),
    # deployment
    pytest.param(
        lambda t: {"deployment_id": "deployment-999"},
        "unknown_deployment",
        id="deployment-unknown",
    ),
    pytest.param(
        lambda t: {"deployment_id": DROP}, "unknown_deployment", id="deployment-missing"
    ),
    pytest.param(
        lambda t: {"deployment_id": 1}, "unknown_deployment", id="deployment-not-string"
    ),
    # signed target_link_uri must be on our origin
    pytest.param(
        lambda t: {"target_link_uri": "https://evil.example/home"},
        "foreign_target_link_uri",
        id="target-other-origin",
    ),
    pytest.param(
        lambda t: {"target_link_uri": "http://tool.test/home"},
        "foreign_target_link_uri",
        id="target-plain-http",
    ),
    pytest.param(
        lambda t: {"target_link_uri": "https://tool.test.evil.example/home"},
        "foreign_target_link_uri",
        id="target-suffix-host",
    ),
    pytest.param(
        lambda t: {"target_link_uri": "https://tool.test@evil.example/home"},
        "foreign_target_link_uri",
        id="target-userinfo-trick",
    ),
    pytest.param(
        lambda t: {"target_link_uri": "https://tool.test:8443/home"},
        "foreign_target_link_uri",
        id="target-other-port",
    ),
    pytest.param(
        lambda t: {"target_link_uri": "/home"},
        "foreign_target_link_uri",
        id="target-relative",
    ),
    pytest.param(
        lambda t: {"target_link_uri": DROP},
        "missing_target_link_uri",
        id="target-missing",
    ),
    # required LTI claims
    pytest.param(lambda t: {"roles": DROP}, "missing_roles", id="roles-missing"),
    pytest.param(
        lambda t: {"roles": LEARNER[0]}, "missing_roles", id="roles-string-not-list"
    ),
    pytest.param(lambda t: {"roles": [1, 2]}, "missing_roles", id="roles-not-strings"),
    pytest.param(lambda t: {"sub": DROP}, "missing_sub", id="sub-missing"),
    pytest.param(lambda t: {"sub": ""}, "missing_sub", id="sub-empty"),
    pytest.param(lambda t: {"sub": "   "}, "missing_sub", id="sub-blank"),
    pytest.param(lambda t: {"sub": 123}, "invalid_token", id="sub-integer"),
    pytest.param(
        lambda t: {"message_type": DROP},
        "missing_message_type",
        id="message-type-missing",
    ),
    pytest.param(
        lambda t: {"message_type": "LtiStartProctoring"},
        "unsupported_message_type",
        id="message-type-unknown",
    ),
    pytest.param(lambda t: {"version": "1.2.0"}, "wrong_version", id="version-1.2.0"),
    pytest.param(lambda t: {"version": DROP}, "wrong_version", id="version-missing"),
    pytest.param(
        lambda t: {"resource_link": {"title": "no id"}},
        "invalid_message",
        id="resource-link-id-missing",
    ),
    pytest.param(
        lambda t: {"resource_link": DROP},
        "invalid_message",
        id="resource-link-missing",
    ),
    pytest.param(
        lambda t: {"message_type": "LtiDeepLinkingRequest", "roles": INSTRUCTOR},
        "invalid_message",
        id="deep-linking-without-settings",
    ),
]


@pytest.mark.parametrize(("overrides", "code"), REFUSED_CLAIMS)
def test_launch_with_bad_claim_is_refused(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
    overrides: Overrides,
    code: str,
) -> None:
    t = int(clock().timestamp())
    response = _launch_with(platform, browser, clock, overrides(t))
    expect_refusal(response, status=400, code=code, wire=wire, caplog=caplog)


ACCEPTED_CLAIMS: list[Any] = [
    pytest.param(
        lambda t: {"aud": [OTHER_AUD, "tierpath-client"], "azp": "tierpath-client"},
        id="extra-aud-with-azp-client",
    ),
    pytest.param(
        lambda t: {"aud": ["tierpath-client"], "azp": DROP}, id="aud-single-list"
    ),
    pytest.param(lambda t: {"azp": DROP}, id="single-aud-no-azp"),
    pytest.param(lambda t: {"exp": t - 30}, id="exp-30s-past-within-leeway"),
    pytest.param(lambda t: {"iat": t + 2, "exp": t + 302}, id="iat-2s-ahead"),
    pytest.param(lambda t: {"iat": t + 59, "exp": t + 359}, id="iat-59s-ahead"),
    pytest.param(lambda t: {"iat": t - 600, "exp": t + 60}, id="iat-at-max-age"),
    pytest.param(lambda t: {"nbf": t + 30}, id="nbf-within-leeway"),
    pytest.param(lambda t: {"nbf": t - 5}, id="nbf-past"),
]


@pytest.mark.parametrize("overrides", ACCEPTED_CLAIMS)
def test_launch_within_tolerances_is_accepted(
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    overrides: Overrides,
) -> None:
    t = int(clock().timestamp())
    response = _launch_with(platform, client, clock, overrides(t))
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].startswith("/home?launch=")


@pytest.mark.parametrize(
    "roles",
    [
        pytest.param([], id="no-roles"),
        pytest.param(["http://example.com/vocab#Wizard"], id="unknown-role-only"),
        pytest.param(["Guest"], id="unknown-short-name"),
    ],
)
def test_launch_without_known_role_lands_as_learner(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock, roles: list[str]
) -> None:
    response = _launch_with(platform, client, clock, {"roles": roles})
    assert _landing(client, response) == "/learner/"


def test_signed_target_link_uri_decides_landing_not_login_target(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    login = platform.login(client, target_link_uri=TOOL_ORIGIN + "/home")
    token = platform.sign(
        platform.claims(
            login.nonce,
            clock(),
            roles=INSTRUCTOR,
            target_link_uri=TOOL_ORIGIN + "/instructor/",
        )
    )
    response = platform.launch(client, login, token)
    assert response.status_code == 303, response.get_data(as_text=True)
    location = urlsplit(response.headers["Location"])
    assert not location.netloc
    assert location.path.startswith("/instructor/")


def test_signed_target_with_network_path_never_redirects_off_origin(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    target = TOOL_ORIGIN + "//evil.example/phish"
    response = _launch_with(platform, client, clock, {"target_link_uri": target})
    if response.status_code == 303:
        location = response.headers["Location"]
        assert not location.startswith("//"), location
    else:
        assert response.status_code == 400


# -- header: algorithm and kid -------------------------------------------


def _hs256_with_public_pem(platform: SimulatedPlatform, claims: dict[str, Any]) -> str:
    """alg confusion: HMAC-SHA256 keyed with the platform's public key PEM."""
    header = {"alg": "HS256", "typ": "JWT", "kid": platform.active_kid}
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    pem = public_pem(platform.keys[platform.active_kid])
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def _tamper_payload(token: str) -> str:
    """Keep header and signature, swap in a payload with another sub."""
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["sub"] = "someone-else"
    return f"{header}.{b64json(claims)}.{signature}"


def _with_header(claims: dict[str, Any], fields: dict[str, Any]) -> str:
    """An RS256-looking token with a bent header and a dummy signature."""
    return unsigned_token(claims, {"alg": "RS256", "typ": "JWT", **fields}) + "c2ln"


TokenMaker = Callable[[SimulatedPlatform, dict[str, Any]], str]

BAD_HEADERS: list[Any] = [
    pytest.param(
        lambda p, c: unsigned_token(c, {"alg": "none", "kid": p.active_kid}),
        "algorithm_not_allowed",
        id="alg-none",
    ),
    pytest.param(
        lambda p, c: unsigned_token(c, {"alg": "None", "kid": p.active_kid}),
        "algorithm_not_allowed",
        id="alg-None-capitalised",
    ),
    pytest.param(
        _hs256_with_public_pem, "algorithm_not_allowed", id="hs256-public-pem"
    ),
    pytest.param(
        lambda p, c: p.sign(c, alg="RS512"), "algorithm_not_allowed", id="rs512"
    ),
    pytest.param(
        lambda p, c: p.sign(c, alg="PS256"), "algorithm_not_allowed", id="ps256"
    ),
    pytest.param(
        lambda p, c: jwt.encode(
            c,
            ec.generate_private_key(ec.SECP256R1()),
            algorithm="ES256",
            headers={"kid": p.active_kid},
        ),
        "algorithm_not_allowed",
        id="es256",
    ),
    pytest.param(
        lambda p, c: unsigned_token(c, {"alg": "XY512", "kid": p.active_kid}) + "c2ln",
        "algorithm_not_allowed",
        id="unknown-alg",
    ),
    pytest.param(
        lambda p, c: unsigned_token(c, {"kid": p.active_kid}) + "c2ln",
        "algorithm_not_allowed",
        id="alg-missing",
    ),
    pytest.param(
        lambda p, c: jwt.encode(c, p.keys[p.active_kid], algorithm="RS256"),
        "missing_kid",
        id="kid-missing",
    ),
    pytest.param(
        lambda p, c: jwt.encode(
            c, p.keys[p.active_kid], algorithm="RS256", headers={"kid": ""}
        ),
        "missing_kid",
        id="kid-empty",
    ),
    pytest.param(
        lambda p, c: jwt.encode(
            c, pooled_key(3), algorithm="RS256", headers={"kid": p.active_kid}
        ),
        "bad_signature",
        id="right-kid-wrong-key",
    ),
    pytest.param(
        lambda p, c: jwt.encode(
            c, pooled_key(3), algorithm="RS256", headers={"kid": "never-published"}
        ),
        "unknown_kid",
        id="unknown-kid",
    ),
    pytest.param(
        lambda p, c: _tamper_payload(p.sign(c)), "bad_signature", id="tampered-payload"
    ),
    pytest.param(
        lambda p, c: p.sign(c).rsplit(".", 1)[0] + ".",
        "bad_signature",
        id="signature-stripped",
    ),
    pytest.param(
        lambda p, c: ".".join(p.sign(c).split(".")[:2]),
        "malformed_token",
        id="two-parts",
    ),
    pytest.param(lambda p, c: "!!!.@@@.###", "malformed_token", id="garbage-base64"),
    pytest.param(lambda p, c: "not-a-jwt", "malformed_token", id="one-part"),
    pytest.param(
        lambda p, c: (
            f"{b64json({'alg': 'RS256', 'kid': p.active_kid})}"
            f".{b64url(b'this is not json')}.c2ln"
        ),
        "malformed_token",
        id="payload-not-json",
    ),
    pytest.param(
        lambda p, c: (
            f"{b64json({'alg': 'RS256', 'kid': p.active_kid})}"
            f".{b64json(['a', 'list'])}.c2ln"
        ),
        "malformed_token",
        id="payload-json-array",
    ),
    pytest.param(
        lambda p, c: f"{b64url(b'[1]')}.{b64json(c)}.c2ln",
        "malformed_token",
        id="header-json-array",
    ),
    # PyJWT raises InvalidTokenError (not DecodeError) for these header fields.
    pytest.param(
        lambda p, c: _with_header(c, {"kid": 123}), "malformed_token", id="kid-integer"
    ),
    pytest.param(
        lambda p, c: _with_header(c, {"kid": None}), "malformed_token", id="kid-null"
    ),
    pytest.param(
        lambda p, c: _with_header(c, {"kid": p.active_kid, "crit": ["exp"], "exp": 1}),
        "malformed_token",
        id="crit-unsupported",
    ),
    pytest.param(
        lambda p, c: _with_header(c, {"kid": p.active_kid, "crit": "b64"}),
        "malformed_token",
        id="crit-not-a-list",
    ),
]


@pytest.mark.parametrize(("make_token", "code"), BAD_HEADERS)
def test_launch_with_bad_token_is_refused(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
    make_token: TokenMaker,
    code: str,
) -> None:
    login = platform.login(browser)
    token = make_token(platform, platform.claims(login.nonce, clock()))
    response = platform.launch(browser, login, token)
    expect_refusal(response, status=400, code=code, wire=wire, caplog=caplog)


# -- state, nonce and replay ---------------------------------------------


def test_launch_replayed_in_same_browser_is_refused(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    login = platform.login(browser)
    token = platform.sign(platform.claims(login.nonce, clock()))
    first = platform.launch(browser, login, token)
    assert first.status_code == 303, first.get_data(as_text=True)
    # The launch deleted the state cookie, so a plain replay lacks it.
    second = platform.launch(browser, login, token)
    expect_refusal(
        second, status=400, code="state_cookie_missing", wire=wire, caplog=caplog
    )


def test_launch_replayed_with_captured_state_cookie_is_refused(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    login = platform.login(browser)
    cookie = state_cookie_name(login.state)
    captured = browser.get_cookie(cookie)
    assert captured is not None
    assert captured.value == login.state
    token = platform.sign(platform.claims(login.nonce, clock()))
    first = platform.launch(browser, login, token)
    assert first.status_code == 303, first.get_data(as_text=True)
    assert browser.get_cookie(cookie) is None
    browser.set_cookie(cookie, login.state)
    second = platform.launch(browser, login, token)
    expect_refusal(second, status=400, code="replayed_launch", wire=wire, caplog=caplog)


def test_launch_replayed_from_a_browser_without_cookies_is_refused(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    login = platform.login(client)
    token = platform.sign(platform.claims(login.nonce, clock()))
    assert platform.launch(client, login, token).status_code == 303
    other = new_browser(app, accept_header(wire))
    replay = platform.launch(other, login, token)
    expect_refusal(
        replay, status=400, code="state_cookie_missing", wire=wire, caplog=caplog
    )


def test_used_nonce_with_a_fresh_state_is_refused(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    first = platform.login(browser)
    token = platform.sign(platform.claims(first.nonce, clock()))
    assert platform.launch(browser, first, token).status_code == 303
    second = platform.login(browser)
    replay = platform.launch(browser, second, token)
    expect_refusal(replay, status=400, code="nonce_mismatch", wire=wire, caplog=caplog)


def test_unused_nonce_of_another_login_is_refused(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    first = platform.login(browser)
    second = platform.login(browser)
    token = platform.sign(platform.claims(first.nonce, clock()))
    response = platform.launch(browser, second, token)
    expect_refusal(
        response, status=400, code="nonce_mismatch", wire=wire, caplog=caplog
    )


def test_nonce_issued_to_browser_a_presented_by_browser_b_offers_new_window(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    login = platform.login(client)
    token = platform.sign(platform.claims(login.nonce, clock()))
    browser_b = new_browser(app, accept_header(wire))
    response = platform.launch(browser_b, login, token)
    data = expect_refusal(
        response, status=400, code="state_cookie_missing", wire=wire, caplog=caplog
    )
    if wire == "json":
        url = data["new_window_url"]
    else:
        assert "Open tierpath in a new window" in data["html"]
        url = data["html"].split('class="button" href="', 1)[1].split('"', 1)[0]
        url = url.replace("&amp;", "&")
    parts = urlsplit(url)
    assert parts.path == "/lti/login"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["new_window"] == "1"
    assert query["iss"] == platform.issuer
    assert query["login_hint"] == "user-123"
    assert "state" not in query
    assert "nonce" not in query
    # Browser A, which holds the cookie, can still use its launch.
    assert platform.launch(client, login, token).status_code == 303


@pytest.mark.parametrize(
    ("form", "code"),
    [
        pytest.param({"state": ""}, "missing_state", id="state-empty"),
        pytest.param(
            {"state": "never-issued-state"}, "unknown_state", id="state-unknown"
        ),
        pytest.param({"id_token": ""}, "missing_id_token", id="id-token-empty"),
    ],
)
def test_launch_without_valid_state_or_token_is_refused(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
    form: dict[str, str],
    code: str,
) -> None:
    login = platform.login(browser)
    token = platform.sign(platform.claims(login.nonce, clock()))
    response = browser.post(
        "/lti/launch", data={"id_token": token, "state": login.state, **form}
    )
    expect_refusal(response, status=400, code=code, wire=wire, caplog=caplog)


def test_launch_without_state_field_is_refused(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    login = platform.login(browser)
    token = platform.sign(platform.claims(login.nonce, clock()))
    response = browser.post("/lti/launch", data={"id_token": token})
    expect_refusal(response, status=400, code="missing_state", wire=wire, caplog=caplog)


def test_launch_after_login_expired_is_refused(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    login = platform.login(browser)
    clock.advance(seconds=601)
    token = platform.sign(platform.claims(login.nonce, clock()))
    response = platform.launch(browser, login, token)
    expect_refusal(response, status=400, code="login_expired", wire=wire, caplog=caplog)


def test_launch_just_before_login_expiry_is_accepted(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    login = platform.login(client)
    clock.advance(seconds=599)
    token = platform.sign(platform.claims(login.nonce, clock()))
    assert platform.launch(client, login, token).status_code == 303


def test_refused_launch_is_not_a_get_endpoint(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    response = browser.get("/lti/launch")
    expect_refusal(
        response, status=405, code="method_not_allowed", wire=wire, caplog=caplog
    )


# -- login-time refusals ----------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        pytest.param(
            {"lti_deployment_id": "deployment-999"},
            "unknown_deployment",
            id="deployment-unknown",
        ),
        pytest.param(
            {"iss": "https://unknown-lms.test"}, "unknown_platform", id="iss-unknown"
        ),
        pytest.param(
            {"client_id": "someone-else"}, "unknown_platform", id="client-id-unknown"
        ),
        pytest.param(
            {"target_link_uri": "https://evil.example/home"},
            "foreign_target_link_uri",
            id="target-other-origin",
        ),
        pytest.param(
            {"target_link_uri": "javascript:alert(1)"},
            "foreign_target_link_uri",
            id="target-javascript",
        ),
        pytest.param(
            {"target_link_uri": "//evil.example/home"},
            "foreign_target_link_uri",
            id="target-protocol-relative",
        ),
    ],
)
def test_login_for_unknown_registration_or_foreign_target_is_refused(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    caplog: pytest.LogCaptureFixture,
    wire: str,
    overrides: dict[str, str],
    code: str,
) -> None:
    response = browser.get(
        "/lti/login", query_string=platform.login_params(**overrides)
    )
    expect_refusal(response, status=400, code=code, wire=wire, caplog=caplog)
    assert "tierpath_state_" not in " ".join(response.headers.getlist("Set-Cookie"))


# -- launch ids are not bearer tokens ----------------------------------------


def test_another_users_launch_id_is_refused(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    a_launch, _ = platform.full_launch(client, clock())
    a_id = launch_id_from(a_launch.headers["Location"])
    user_b = new_browser(app, accept_header(wire))
    b_launch, _ = platform.full_launch(user_b, clock(), sub="user-b")
    assert b_launch.status_code == 303
    response = user_b.get("/learner/", query_string={"launch": a_id})
    expect_refusal(
        response, status=403, code="launch_not_yours", wire=wire, caplog=caplog
    )
    assert "Ana" not in response.get_data(as_text=True)


def test_launch_id_without_session_cookie_is_refused(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    a_launch, _ = platform.full_launch(client, clock())
    a_id = launch_id_from(a_launch.headers["Location"])
    stranger = new_browser(app, accept_header(wire))
    response = stranger.get("/learner/", query_string={"launch": a_id})
    expect_refusal(response, status=401, code="no_session", wire=wire, caplog=caplog)


def test_own_launch_id_is_accepted(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    launch, _ = platform.full_launch(client, clock())
    launch_id = launch_id_from(launch.headers["Location"])
    page = client.get("/learner/", query_string={"launch": launch_id})
    assert page.status_code == 200


# -- roles are checked on the server ------------------------------------------


@pytest.mark.parametrize(
    ("roles", "method", "path"),
    [
        pytest.param(LEARNER, "GET", "/instructor/", id="learner-instructor-home"),
        pytest.param(LEARNER, "GET", "/instructor/roster", id="learner-roster"),
        pytest.param(LEARNER, "GET", "/admin/", id="learner-admin"),
        pytest.param(LEARNER, "POST", "/admin/platforms", id="learner-add-platform"),
        pytest.param(LEARNER, "GET", "/lti/deep-link", id="learner-deep-link"),
        pytest.param(INSTRUCTOR, "GET", "/admin/", id="instructor-admin"),
        pytest.param(
            INSTRUCTOR, "POST", "/admin/platforms", id="instructor-add-platform"
        ),
        pytest.param(
            INSTRUCTOR,
            "POST",
            "/admin/platforms/1/remove",
            id="instructor-remove-platform",
        ),
        pytest.param(ADMIN, "GET", "/learner/", id="admin-learner-page"),
    ],
)
def test_page_outside_role_is_forbidden(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
    roles: list[str],
    method: str,
    path: str,
) -> None:
    launch, _ = platform.full_launch(browser, clock(), roles=roles)
    assert launch.status_code == 303
    response = browser.open(path, method=method, data={} if method == "POST" else None)
    expect_refusal(
        response, status=403, code="forbidden_role", wire=wire, caplog=caplog
    )


def _csrf_token(client: FlaskClient) -> str:
    page = client.get("/admin/")
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({}, id="token-missing"),
        pytest.param({"csrf_token": ""}, id="token-empty"),
        pytest.param({"csrf_token": "forged"}, id="token-wrong"),
    ],
)
def test_admin_post_without_valid_csrf_token_is_refused(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
    form: dict[str, str],
) -> None:
    launch, _ = platform.full_launch(browser, clock(), roles=ADMIN)
    assert launch.status_code == 303
    response = browser.post(
        "/admin/platforms", data={**form, "issuer": "https://new-lms.test"}
    )
    expect_refusal(response, status=400, code="csrf_failed", wire=wire, caplog=caplog)


def test_admin_csrf_token_of_another_session_is_refused(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    platform.full_launch(client, clock(), roles=ADMIN)
    foreign_token = _csrf_token(client)
    other = new_browser(app)
    platform.full_launch(other, clock(), roles=ADMIN, sub="admin-2")
    response = other.post("/admin/platforms", data={"csrf_token": foreign_token})
    expect_refusal(response, status=400, code="csrf_failed", wire="html", caplog=caplog)


def test_admin_post_with_session_csrf_token_passes_the_check(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    platform.full_launch(client, clock(), roles=ADMIN)
    token = _csrf_token(client)
    response = client.post(
        "/admin/platforms",
        data={
            "csrf_token": token,
            "issuer": "https://second-lms.test",
            "client_id": "second",
            "deployment_ids": "d-1",
            "auth_login_url": "https://second-lms.test/auth",
            "token_url": "https://second-lms.test/token",
            "jwks_url": "https://second-lms.test/jwks",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]


# -- platform keys: rotation, refetch rate limit, HTTP caching -----------------


def _ok_launch(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    response, _ = platform.full_launch(client, clock())
    assert response.status_code == 303, response.get_data(as_text=True)


def test_rotated_published_key_is_fetched_once_and_accepted(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    _ok_launch(client, platform, clock)
    assert platform.jwks_fetches == 1
    platform.rotate("platform-key-2", publish=True)
    _ok_launch(client, platform, clock)
    assert platform.jwks_fetches == 2
    _ok_launch(client, platform, clock)  # now cached
    assert platform.jwks_fetches == 2


def test_unknown_kid_refetch_is_rate_limited_then_retried(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    _ok_launch(browser, platform, clock)
    platform.rotate("platform-key-2", publish=True)
    _ok_launch(browser, platform, clock)
    assert platform.jwks_fetches == 2
    # A second new kid, not published, inside JWKS_REFETCH_INTERVAL (10 s).
    platform.rotate("platform-key-3", publish=False)
    clock.advance(seconds=5)
    response, _ = platform.full_launch(browser, clock())
    expect_refusal(response, status=400, code="unknown_kid", wire=wire, caplog=caplog)
    assert platform.jwks_fetches == 2
    # The platform publishes it; once the interval has passed we refetch once.
    platform.published.append("platform-key-3")
    clock.advance(seconds=6)
    _ok_launch(browser, platform, clock)
    assert platform.jwks_fetches == 3


def test_unknown_kids_in_a_row_cause_at_most_one_refetch(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    _ok_launch(client, platform, clock)
    assert platform.jwks_fetches == 1
    for n in range(3):
        platform.rotate(f"unpublished-{n}", publish=False)
        response, _ = platform.full_launch(client, clock())
        assert response.status_code == 400
        assert "<code>unknown_kid</code>" in response.get_data(as_text=True)
    # Only the first unknown kid refetched; the others hit the rate limit.
    assert platform.jwks_fetches == 2
    # Once the interval has passed, a newly published kid is fetched once.
    platform.rotate("platform-key-2", publish=True)
    clock.advance(seconds=11)
    _ok_launch(client, platform, clock)
    assert platform.jwks_fetches == 3


def test_jwks_is_cached_for_its_max_age(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    platform.jwks_cache_control = "max-age=300"
    _ok_launch(client, platform, clock)
    _ok_launch(client, platform, clock)
    assert platform.jwks_fetches == 1
    clock.advance(seconds=301)
    _ok_launch(client, platform, clock)
    assert platform.jwks_fetches == 2


@pytest.mark.parametrize("cache_control", ["no-store", "no-cache", "max-age=0"])
def test_uncacheable_jwks_is_fetched_for_every_launch(
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    cache_control: str,
) -> None:
    platform.jwks_cache_control = cache_control
    for _ in range(3):
        _ok_launch(client, platform, clock)
    assert platform.jwks_fetches == 3


def test_jwks_down_with_expired_cached_copy_still_accepts(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    _ok_launch(client, platform, clock)
    clock.advance(seconds=301)
    platform.jwks_down = True
    _ok_launch(client, platform, clock)
    assert platform.jwks_fetches == 2  # it tried, failed, used the stale copy


def test_jwks_down_without_cached_copy_is_a_rendered_502(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    platform.jwks_down = True
    response, _ = platform.full_launch(browser, clock())
    expect_refusal(
        response, status=502, code="jwks_unavailable", wire=wire, caplog=caplog
    )


def test_jwks_down_and_stale_copy_lacks_the_kid_is_a_rendered_502(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    _ok_launch(browser, platform, clock)
    clock.advance(seconds=301)
    platform.jwks_down = True
    platform.rotate("platform-key-2", publish=True)
    response, _ = platform.full_launch(browser, clock())
    expect_refusal(
        response, status=502, code="jwks_unavailable", wire=wire, caplog=caplog
    )


def test_platform_key_that_is_not_rs256_is_refused(
    browser: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    wire: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = platform.jwks

    def jwks_with_rs512() -> dict[str, list[dict[str, str]]]:
        published = original()
        for key in published["keys"]:
            key["alg"] = "RS512"
        return published

    monkeypatch.setattr(platform, "jwks", jwks_with_rs512)
    response, _ = platform.full_launch(browser, clock())
    expect_refusal(
        response, status=400, code="algorithm_not_allowed", wire=wire, caplog=caplog
    )


class _TimeoutRecorder(BaseAdapter):
    """Wraps the simulated platform's adapter and records each call's timeout."""

    def __init__(self, inner: BaseAdapter) -> None:
        super().__init__()
        self.inner = inner
        self.timeouts: list[Any] = []

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        self.timeouts.append(timeout)
        return self.inner.send(
            request,
            stream=stream,
            timeout=timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def timeout_recorder(app: Flask, platform: SimulatedPlatform) -> _TimeoutRecorder:
    http = runtime(app).http
    prefix = platform.issuer + "/"
    recorder = _TimeoutRecorder(http.get_adapter(prefix + "jwks"))
    http.mount(prefix, recorder)
    return recorder


def test_jwks_fetch_uses_the_configured_timeout(
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    timeout_recorder: _TimeoutRecorder,
) -> None:
    _ok_launch(client, platform, clock)
    assert timeout_recorder.timeouts == [(5.0, 20.0)]


def test_every_claim_override_name_maps_to_the_lti_claim(
    platform: SimulatedPlatform, clock: FakeClock
) -> None:
    """Guard for the table above: short names really bend the LTI claims."""
    claims = platform.claims("n", clock(), roles=DROP, version="1.2.0")
    assert CLAIM + "roles" not in claims
    assert claims[CLAIM + "version"] == "1.2.0"
