"""Response headers: CSP framing by registered LMSs, nosniff, no-store, tool JWKS, 404s."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import FakeClock
from tests.support.platform import SimulatedPlatform
from tests.web.refusals import (
    REFUSAL_LOGGER,
    accept_header,
    expect_refusal,
    new_browser,
)

PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def _csp(response: TestResponse) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    directives: dict[str, str] = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        assert name not in directives, f"{name} twice in {policy}"
        directives[name] = " ".join(value.split())
    return directives


@pytest.fixture(autouse=True)
def _capture_refusals(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=REFUSAL_LOGGER)


@pytest.fixture
def learner_client(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> FlaskClient:
    response, _ = platform.full_launch(client, clock())
    assert response.status_code == 303
    return client


def test_csp_lets_only_registered_lms_frame_the_tool(
    client: FlaskClient, platform: SimulatedPlatform
) -> None:
    csp = _csp(client.get("/healthz"))
    assert csp["frame-ancestors"] == f"'self' {platform.issuer}"
    assert "X-Frame-Options" not in client.get("/healthz").headers


def test_csp_without_registered_lms_allows_only_self(app: Flask) -> None:
    csp = _csp(new_browser(app).get("/healthz"))
    assert csp["frame-ancestors"] == "'self'"


def test_csp_blocks_inline_script_objects_and_base(learner_client: FlaskClient) -> None:
    page = learner_client.get("/learner/")
    assert page.status_code == 200
    csp = _csp(page)
    script_src = csp["script-src"].split()
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert any(source.startswith("'nonce-") for source in script_src)
    assert csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert csp["default-src"] == "'self'"


def test_csp_nonce_is_fresh_per_response(learner_client: FlaskClient) -> None:
    nonces = {_csp(learner_client.get("/learner/"))["script-src"] for _ in range(3)}
    assert len(nonces) == 3


@pytest.mark.parametrize(
    "path", ["/learner/", "/healthz", "/.well-known/jwks.json", "/no-such-page"]
)
def test_every_response_says_nosniff(learner_client: FlaskClient, path: str) -> None:
    response = learner_client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/learner/", "/no-such-page"])
def test_html_pages_are_not_cached(learner_client: FlaskClient, path: str) -> None:
    response = learner_client.get(path)
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"


def test_refusal_page_is_not_cached(
    client: FlaskClient, platform: SimulatedPlatform
) -> None:
    response = client.post("/lti/launch", data={"state": "nope", "id_token": "x"})
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"


def test_tool_jwks_publishes_current_and_next_public_keys(client: FlaskClient) -> None:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.is_json
    keys = response.get_json()["keys"]
    assert len(keys) == 2
    assert len({key["kid"] for key in keys}) == 2
    for key in keys:
        assert key["kty"] == "RSA"
        assert key["alg"] == "RS256"
        assert isinstance(key["kid"], str)
        assert key["kid"]
        assert key["n"]
        assert key["e"]
        leaked = [member for member in PRIVATE_JWK_MEMBERS if member in key]
        assert not leaked, leaked
    assert response.headers["Cache-Control"] == "public, max-age=300"


def test_tool_jwks_is_stable_between_requests(client: FlaskClient) -> None:
    first = client.get("/.well-known/jwks.json").get_json()
    second = client.get("/.well-known/jwks.json").get_json()
    assert first == second


@pytest.mark.parametrize("wire", ["html", "json"])
def test_unknown_url_is_a_404_with_support_code(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, wire: str
) -> None:
    response = client.get("/no-such-page", headers={"Accept": accept_header(wire)})
    expect_refusal(response, status=404, code="not_found", wire=wire, caplog=caplog)


def test_browser_accept_header_gets_html_not_json(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.get(
        "/no-such-page", headers={"Accept": "application/json, text/html;q=1.0, */*"}
    )
    assert response.status_code == 404
    assert response.mimetype == "text/html"
