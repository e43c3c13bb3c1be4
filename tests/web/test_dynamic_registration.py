"""LTI Dynamic Registration, tool side: register, hold for approval, then launch.

A fake LMS that implements Dynamic Registration 1.0 is served to the tool's
registration HTTP session through a requests adapter (and its key set to the
tool's ordinary HTTP session, for launches after approval). Host names resolve
through a fake resolver, so the SSRF guard sees public or private addresses
without any network; every request the tool makes is recorded.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from requests.adapters import BaseAdapter
from werkzeug.test import TestResponse

from lti_tool.db.models import Platform
from lti_tool.runtime import runtime
from tests.conftest import TOOL_ORIGIN, FakeClock
from tests.support.platform import ADMIN, LEARNER, SimulatedPlatform
from tests.web.refusals import (
    REFUSAL_LOGGER,
    accept_header,
    expect_refusal,
    new_browser,
)

LMS = "https://lms.dr.test"
CONFIG_URL = LMS + "/.well-known/openid-configuration"
PLATFORM_CONFIG = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"
SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]
PUBLIC_IP = "93.184.215.14"
ADDRESSES = {
    "lms.dr.test": [PUBLIC_IP],
    "other.dr.test": [PUBLIC_IP],
    "internal.dr.test": ["10.0.0.5"],
    "metadata.dr.test": ["169.254.169.254"],
    "mixed.dr.test": [PUBLIC_IP, "192.168.1.20"],
}
CLOSE_PAGE_TEXT = (
    "A tierpath administrator must approve the registration before it can be used."
)


def fake_resolve(host: str, port: int) -> list[str]:
    try:
        return list(ADDRESSES[host])
    except KeyError:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None


@dataclass
class Seen:
    """One request the tool sent to the fake LMS."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: Any


@dataclass
class FakeLms:
    """A platform implementing Dynamic Registration 1.0 (DR §3.4-§3.6)."""

    base: str = LMS
    product: str = "fakelms"
    client_id: str = "dr-client-1"
    deployment_id: str = "dr-deployment-1"
    tokens: set[str] = field(default_factory=lambda: {"token-1", "token-2"})
    used: set[str] = field(default_factory=set)
    seen: list[Seen] = field(default_factory=list)
    keys: SimulatedPlatform | None = None
    # Faults a test switches on.
    config_changes: dict[str, Any] = field(default_factory=dict)
    config_answer: Callable[[], requests.Response] | None = None
    registration_answer: Callable[[], requests.Response] | None = None
    client_ids: list[str] = field(default_factory=list)

    def configuration(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "issuer": self.base,
            "authorization_endpoint": self.base + "/auth",
            "token_endpoint": self.base + "/token",
            "jwks_uri": self.base + "/jwks",
            "registration_endpoint": self.base + "/registrations",
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "scopes_supported": ["openid", *SCOPES],
            "response_types_supported": ["id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            PLATFORM_CONFIG: {
                "product_family_code": self.product,
                "version": "1.0",
                "messages_supported": [
                    {"type": "LtiResourceLinkRequest"},
                    {"type": "LtiDeepLinkingRequest"},
                    {"type": "LtiSubmissionReviewRequest"},
                ],
            },
        }
        for key, value in self.config_changes.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
        return config

    # -- requests adapter ---------------------------------------------------
    def adapter(self) -> _LmsAdapter:
        return _LmsAdapter(self)

    def answer(self, request: requests.PreparedRequest) -> requests.Response:
        path = urlsplit(request.url or "").path
        raw = request.body
        body = json.loads(raw) if raw else None
        self.seen.append(
            Seen(request.method or "", request.url or "", dict(request.headers), body)
        )
        if request.method == "GET" and path == "/.well-known/openid-configuration":
            if self.config_answer is not None:
                return self.config_answer()
            return json_response(200, self.configuration())
        if request.method == "POST" and path == "/registrations":
            if self.registration_answer is not None:
                return self.registration_answer()
            return self.register(request.headers.get("Authorization", ""), body)
        if request.method == "GET" and path == "/jwks" and self.keys is not None:
            return json_response(200, self.keys.jwks())
        return json_response(404, {"error": "not_found"})

    def register(self, authorization: str, body: Any) -> requests.Response:
        token = authorization.removeprefix("Bearer ")
        if token not in self.tokens or token in self.used:
            return json_response(
                401,
                {
                    "error": "invalid_token",
                    "error_description": "registration token unknown or used",
                },
            )
        self.used.add(token)
        client_id = self.client_ids.pop(0) if self.client_ids else self.client_id
        reply = copy.deepcopy(body)
        reply["client_id"] = client_id
        reply[TOOL_CONFIG]["deployment_id"] = self.deployment_id
        return json_response(200, reply)

    # -- the LMS's side of a launch after approval --------------------------
    def launcher(self) -> SimulatedPlatform:
        """A platform signing launches as this LMS with the registered client id."""
        if self.keys is None:
            self.keys = SimulatedPlatform(
                issuer=self.base,
                client_id=self.client_id,
                deployment_id=self.deployment_id,
                tool_origin=TOOL_ORIGIN,
            )
        return self.keys


class _LmsAdapter(BaseAdapter):
    def __init__(self, lms: FakeLms) -> None:
        super().__init__()
        self.lms = lms

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        assert timeout is not None, "every outbound call needs a timeout"
        response = self.lms.answer(request)
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


class _Recorder(BaseAdapter):
    """Catches any request that should never have been sent."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        self.urls.append(request.url or "")
        raise AssertionError(f"unexpected request to {request.url}")

    def close(self) -> None:
        pass


def json_response(
    status: int, data: Any, headers: dict[str, str] | None = None
) -> requests.Response:
    return raw_response(status, json.dumps(data).encode(), headers)


def raw_response(
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    declare_length: bool = True,
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers["Content-Type"] = "application/json"
    if declare_length:
        response.headers["Content-Length"] = str(len(body))
    response.headers.update(headers or {})
    response.raw = io.BytesIO(body)
    return response


# -- fixtures -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _capture_refusals(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=REFUSAL_LOGGER)


@pytest.fixture
def lms(app: Flask) -> FakeLms:
    """The fake LMS, reachable only through the tool's HTTP sessions."""
    fake = FakeLms()
    rt = runtime(app)
    recorder = _Recorder()
    rt.registration_http.mount("https://", recorder)
    rt.registration_http.mount("http://", recorder)
    rt.registration_http.mount(LMS + "/", fake.adapter())
    rt.registration_http.resolver = fake_resolve
    rt.http.mount(LMS + "/", fake.adapter())
    return fake


def register(
    client: FlaskClient,
    config_url: str = CONFIG_URL,
    token: str | None = "token-1",  # noqa: S107
    wire: str = "html",
) -> TestResponse:
    query = {"openid_configuration": config_url}
    if token is not None:
        query["registration_token"] = token
    return client.get(
        "/lti/register?" + urlencode(query), headers={"Accept": accept_header(wire)}
    )


def platforms(app: Flask) -> list[Platform]:
    with runtime(app).session_factory() as session:
        found = list(session.scalars(sa.select(Platform).order_by(Platform.id)))
        for p in found:
            _ = p.deployments
        return found


def dr_platform(app: Flask) -> Platform:
    found = [p for p in platforms(app) if p.issuer == LMS]
    assert len(found) == 1, found
    return found[0]


def csp(response: TestResponse) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().split(" ", 1)[1]
        for part in policy.split(";")
        if part.strip()
    }


def admin_session(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> tuple[str, str]:
    """Launch as an admin of the (approved) test platform; return its page and CSRF."""
    launch, _ = platform.full_launch(client, clock(), roles=ADMIN)
    assert launch.status_code == 303, launch.get_data(as_text=True)
    page = client.get("/admin/")
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    csrf = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return html, csrf


# -- the happy path ---------------------------------------------------------------


def test_registration_stores_a_pending_platform_and_tells_the_lms_to_close(
    app: Flask, client: FlaskClient, lms: FakeLms
) -> None:
    response = register(client)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert f"Registered with fakelms. {CLOSE_PAGE_TEXT}" in html
    assert "dr-client-1" in html
    assert "dr-deployment-1" in html
    # The close message goes out in a script the page's CSP nonce allows.
    nonce = re.search(r"'nonce-([^']+)'", csp(response)["script-src"])
    assert nonce is not None
    script = html.split(f'<script nonce="{nonce.group(1)}">', 1)[1]
    assert 'window.parent.postMessage(message, "*")' in script
    assert "window.opener" in script
    assert '{subject: "org.imsglobal.lti.close"}' in script
    # Framed by an LMS tierpath does not know yet; the URL holds a token.
    assert csp(response)["frame-ancestors"] == "*"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"

    platform = dr_platform(app)
    assert platform.approved_at is None
    assert platform.registered_via == "dynamic"
    assert platform.name == "fakelms"
    assert platform.client_id == "dr-client-1"
    assert [d.deployment_id for d in platform.deployments] == ["dr-deployment-1"]
    assert platform.auth_login_url == LMS + "/auth"
    assert platform.token_url == LMS + "/token"
    assert platform.jwks_url == LMS + "/jwks"
    assert platform.registration_json is not None
    answer = platform.registration_json["registration_response"]
    assert answer["client_id"] == "dr-client-1"
    assert platform.registration_json["openid_configuration"]["issuer"] == LMS


def test_registration_sends_the_token_and_the_tool_configuration(
    client: FlaskClient, lms: FakeLms
) -> None:
    assert register(client).status_code == 200
    config_get, post = lms.seen
    assert (config_get.method, config_get.url) == ("GET", CONFIG_URL)
    assert config_get.headers["Authorization"] == "Bearer token-1"
    assert (post.method, post.url) == ("POST", LMS + "/registrations")
    assert post.headers["Authorization"] == "Bearer token-1"
    assert post.headers["Content-Type"] == "application/json"
    assert post.body == {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": TOOL_ORIGIN + "/lti/login",
        "redirect_uris": [TOOL_ORIGIN + "/lti/launch"],
        "client_name": "tierpath",
        "jwks_uri": TOOL_ORIGIN + "/.well-known/jwks.json",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(SCOPES),
        TOOL_CONFIG: {
            "domain": "tool.test",
            "target_link_uri": TOOL_ORIGIN + "/home",
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
            "messages": [
                {
                    "type": "LtiResourceLinkRequest",
                    "target_link_uri": TOOL_ORIGIN + "/home",
                },
                {
                    "type": "LtiDeepLinkingRequest",
                    "target_link_uri": TOOL_ORIGIN + "/home",
                },
                {
                    "type": "LtiSubmissionReviewRequest",
                    "target_link_uri": TOOL_ORIGIN + "/grading/review",
                },
            ],
        },
    }


def test_registration_asks_only_for_scopes_and_messages_the_lms_supports(
    client: FlaskClient, lms: FakeLms
) -> None:
    lms.config_changes = {
        "scopes_supported": ["openid", SCOPES[1], SCOPES[3]],
        PLATFORM_CONFIG: {
            "product_family_code": "fakelms",
            "messages_supported": [{"type": "LtiResourceLinkRequest"}],
        },
    }
    assert register(client).status_code == 200
    body = lms.seen[1].body
    assert body["scope"] == f"{SCOPES[1]} {SCOPES[3]}"
    assert [m["type"] for m in body[TOOL_CONFIG]["messages"]] == [
        "LtiResourceLinkRequest"
    ]


def test_registration_without_a_token_sends_no_authorization(
    app: Flask, client: FlaskClient, lms: FakeLms
) -> None:
    lms.registration_answer = lambda: json_response(
        201,
        {"client_id": "open-client", TOOL_CONFIG: {"deployment_id": "d-open"}},
    )
    assert register(client, token=None).status_code == 200
    assert all("Authorization" not in seen.headers for seen in lms.seen)
    assert dr_platform(app).client_id == "open-client"


def test_registration_over_loopback_http_works_when_the_setting_allows_it(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(REGISTRATION_ALLOW_LOOPBACK=True)
    base = "http://127.0.0.1:9100"
    fake = FakeLms(base=base)
    runtime(app).registration_http.mount(base + "/", fake.adapter())
    client = new_browser(app)
    response = register(client, base + "/.well-known/openid-configuration")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [p.issuer for p in platforms(app)] == [base]


# -- approval -------------------------------------------------------------------


def test_pending_platform_cannot_log_in_until_approved(
    app: Flask,
    client: FlaskClient,
    lms: FakeLms,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert register(client).status_code == 200
    launcher = lms.launcher()
    for wire in ("html", "json"):
        refused = client.get(
            "/lti/login",
            query_string=launcher.login_params(),
            headers={"Accept": accept_header(wire)},
        )
        data = expect_refusal(
            refused, status=403, code="registration_pending", wire=wire, caplog=caplog
        )
        if wire == "json":
            assert "administrator must approve" in data["message"]
    # Without client_id, the only registration of the issuer is found: pending.
    no_client = launcher.login_params()
    del no_client["client_id"]
    refused = client.get("/lti/login", query_string=no_client)
    expect_refusal(
        refused, status=403, code="registration_pending", wire="html", caplog=caplog
    )


def test_cli_approves_a_pending_registration_and_the_lms_can_launch(
    app: Flask, client: FlaskClient, lms: FakeLms, clock: FakeClock
) -> None:
    assert register(client).status_code == 200
    platform_id = dr_platform(app).id
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["platform", "list"])
    assert f"#{platform_id}\tPENDING\t{LMS}" in listed.output
    approved = runner.invoke(args=["platform", "approve", str(platform_id)])
    assert approved.exit_code == 0, approved.output
    assert f"approved: #{platform_id} {LMS} client_id=dr-client-1" in approved.output
    assert (
        f"#{platform_id}\tapproved\t{LMS}"
        in runner.invoke(args=["platform", "list"]).output
    )
    again = runner.invoke(args=["platform", "approve", str(platform_id)])
    assert again.exit_code == 1
    assert "already approved" in again.output
    assert dr_platform(app).approved_at == clock()

    response, _ = lms.launcher().full_launch(client, clock())
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].startswith("/home?launch=")


def test_cli_approve_of_an_unknown_platform_fails(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["platform", "approve", "999"])
    assert result.exit_code == 1
    assert "no platform with id 999" in result.output


def test_admin_page_lists_pending_registrations_and_approves_one(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    lms: FakeLms,
    clock: FakeClock,
) -> None:
    lms_browser = new_browser(app)
    assert register(lms_browser).status_code == 200
    pending_id = dr_platform(app).id
    html, csrf = admin_session(client, platform, clock)
    assert "1 LMS registration waits for your approval." in html
    pending = html.split('id="pending"', 1)[1].split("</section>", 1)[0]
    for shown in ("fakelms", LMS, "dr-client-1", "dr-deployment-1"):
        assert shown in pending
    assert f"/admin/platforms/{pending_id}/approve" in pending
    assert f"/admin/platforms/{pending_id}/reject" in pending
    # Not yet among the usable registrations.
    registered = html.split('id="platforms"', 1)[1].split("</section>", 1)[0]
    assert "dr-client-1" not in registered

    approved = client.post(
        f"/admin/platforms/{pending_id}/approve", data={"csrf_token": csrf}
    )
    assert approved.status_code == 303, approved.get_data(as_text=True)
    assert dr_platform(app).approved_at is not None
    html = client.get("/admin/").get_data(as_text=True)
    assert 'id="pending"' not in html
    assert "wait for your approval" not in html
    assert "dr-client-1" in html.split('id="platforms"', 1)[1]

    # Now the LMS launches, and may frame tierpath.
    response, _ = lms.launcher().full_launch(lms_browser, clock())
    assert response.status_code == 303, response.get_data(as_text=True)
    page = lms_browser.get(response.headers["Location"])
    assert LMS in csp(page)["frame-ancestors"]


def test_admin_rejects_a_pending_registration_which_deletes_it(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    lms: FakeLms,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert register(new_browser(app)).status_code == 200
    pending_id = dr_platform(app).id
    _, csrf = admin_session(client, platform, clock)
    rejected = client.post(
        f"/admin/platforms/{pending_id}/reject", data={"csrf_token": csrf}
    )
    assert rejected.status_code == 303, rejected.get_data(as_text=True)
    assert [p.issuer for p in platforms(app)] == [platform.issuer]
    refused = client.get("/lti/login", query_string=lms.launcher().login_params())
    expect_refusal(
        refused, status=400, code="unknown_platform", wire="html", caplog=caplog
    )


def test_approved_platform_cannot_be_rejected_only_removed(
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, csrf = admin_session(client, platform, clock)
    with runtime(client.application).session_factory() as session:
        approved_id = session.scalar(sa.select(Platform.id))
    response = client.post(
        f"/admin/platforms/{approved_id}/reject", data={"csrf_token": csrf}
    )
    expect_refusal(
        response, status=404, code="no_pending_registration", wire="html", caplog=caplog
    )


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_approval_needs_an_administrator(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    lms: FakeLms,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    action: str,
) -> None:
    assert register(new_browser(app)).status_code == 200
    pending_id = dr_platform(app).id
    launch, _ = platform.full_launch(client, clock(), roles=LEARNER)
    assert launch.status_code == 303
    response = client.post(f"/admin/platforms/{pending_id}/{action}", data={})
    expect_refusal(
        response, status=403, code="forbidden_role", wire="html", caplog=caplog
    )
    assert dr_platform(app).approved_at is None


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_approval_needs_the_sessions_csrf_token(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    lms: FakeLms,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    action: str,
) -> None:
    assert register(new_browser(app)).status_code == 200
    pending_id = dr_platform(app).id
    admin_session(client, platform, clock)
    response = client.post(
        f"/admin/platforms/{pending_id}/{action}", data={"csrf_token": "forged"}
    )
    expect_refusal(response, status=400, code="csrf_failed", wire="html", caplog=caplog)
    assert dr_platform(app).approved_at is None


# -- refusals: nothing is stored ------------------------------------------------


def expect_nothing_stored(app: Flask) -> None:
    assert [p for p in platforms(app) if p.registered_via == "dynamic"] == []


def test_registration_link_without_openid_configuration_is_refused(
    app: Flask, client: FlaskClient, lms: FakeLms, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.get("/lti/register?registration_token=token-1")
    data = expect_refusal(
        response,
        status=400,
        code="missing_openid_configuration",
        wire="html",
        caplog=caplog,
    )
    assert "openid_configuration" in data["html"]
    # The refusal page, too, can be read inside the LMS's frame.
    assert csp(response)["frame-ancestors"] == "*"
    assert lms.seen == []
    expect_nothing_stored(app)


def test_configuration_whose_issuer_is_another_site_is_refused(
    app: Flask, client: FlaskClient, lms: FakeLms, caplog: pytest.LogCaptureFixture
) -> None:
    lms.config_changes = {"issuer": "https://other.dr.test"}
    response = register(client, wire="json")
    data = expect_refusal(
        response, status=400, code="issuer_mismatch", wire="json", caplog=caplog
    )
    assert "https://other.dr.test" in data["message"]
    assert "same scheme, host and port" in data["message"]
    assert [s.method for s in lms.seen] == ["GET"]  # never registered
    expect_nothing_stored(app)


@pytest.mark.parametrize(
    "issuer",
    [
        pytest.param(LMS + ":8443", id="other-port"),
        pytest.param("http://lms.dr.test", id="other-scheme"),
    ],
)
def test_issuer_on_another_port_or_scheme_is_refused(
    app: Flask,
    client: FlaskClient,
    lms: FakeLms,
    caplog: pytest.LogCaptureFixture,
    issuer: str,
) -> None:
    lms.config_changes = {"issuer": issuer}
    response = register(client, wire="json")
    assert response.status_code == 400
    assert response.get_json()["error"] in ("issuer_mismatch", "unsafe_platform_url")
    expect_nothing_stored(app)


def test_configuration_on_plain_http_to_a_real_host_is_refused(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(REGISTRATION_ALLOW_LOOPBACK=True)  # loopback only, not this
    fake = FakeLms(base="http://lms.dr.test")
    rt = runtime(app)
    recorder = _Recorder()
    rt.registration_http.mount("http://", recorder)
    rt.registration_http.resolver = fake_resolve
    response = register(
        new_browser(app), "http://lms.dr.test/.well-known/openid-configuration"
    )
    data = expect_refusal(
        response, status=400, code="unsafe_platform_address", wire="html", caplog=caplog
    )
    assert "must use https://" in data["html"]
    assert recorder.urls == []
    assert fake.seen == []
    expect_nothing_stored(app)


@pytest.mark.parametrize(
    "config_url",
    [
        pytest.param("https://10.0.0.5/.well-known/openid-configuration", id="10/8"),
        pytest.param("https://169.254.169.254/latest/meta-data/", id="metadata-ip"),
        pytest.param("https://[::ffff:10.0.0.5]/config", id="ipv4-mapped"),
        pytest.param("https://[fd00::1]/config", id="ipv6-ula"),
        pytest.param("https://0.0.0.0/config", id="unspecified"),
        pytest.param("https://224.0.0.1/config", id="multicast"),
        pytest.param("https://127.0.0.1/config", id="loopback-https"),
        pytest.param("http://127.0.0.1:9100/config", id="loopback-http"),
        pytest.param("https://localhost/config", id="localhost"),
        pytest.param("https://internal.dr.test/config", id="name-to-private"),
        pytest.param("https://metadata.dr.test/config", id="name-to-link-local"),
        pytest.param("https://mixed.dr.test/config", id="one-address-private"),
        pytest.param("https://user:pw@lms.dr.test/config", id="credentials"),
        pytest.param("ftp://lms.dr.test/config", id="ftp"),
    ],
)
def test_configuration_at_a_non_public_address_is_refused_without_a_request(
    app: Flask,
    client: FlaskClient,
    lms: FakeLms,
    caplog: pytest.LogCaptureFixture,
    config_url: str,
) -> None:
    rt = runtime(app)
    recorder = _Recorder()
    rt.registration_http.mount("https://", recorder)
    rt.registration_http.mount("http://", recorder)
    rt.registration_http.mount("ftp://", recorder)
    response = register(client, config_url, wire="json")
    data = expect_refusal(
        response, status=400, code="unsafe_platform_address", wire="json", caplog=caplog
    )
    assert "tierpath will not contact" in data["message"]
    assert recorder.urls == []
    assert lms.seen == []
    expect_nothing_stored(app)


def test_loopback_setting_still_refuses_private_addresses(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(REGISTRATION_ALLOW_LOOPBACK=True)
    recorder = _Recorder()
    runtime(app).registration_http.mount("https://", recorder)
    response = register(new_browser(app), "https://10.0.0.5/config")
    expect_refusal(
        response, status=400, code="unsafe_platform_address", wire="html", caplog=caplog
    )
    assert recorder.urls == []


@pytest.mark.parametrize(
    "endpoint",
    ["registration_endpoint", "token_endpoint", "jwks_uri", "authorization_endpoint"],
)
@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://internal.dr.test/x", id="private"),
        pytest.param("https://169.254.169.254/x", id="metadata"),
        pytest.param("http://lms.dr.test/x", id="plain-http"),
    ],
)
def test_configuration_naming_a_non_public_endpoint_is_refused(
    app: Flask,
    client: FlaskClient,
    lms: FakeLms,
    caplog: pytest.LogCaptureFixture,
    endpoint: str,
    url: str,
) -> None:
    lms.config_changes = {endpoint: url}
    response = register(client, wire="json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] in (
        "unsafe_platform_url",
        "unsafe_platform_address",
    )
    assert endpoint in response.get_json()["message"]
    assert [s.method for s in lms.seen] == ["GET"]
    expect_nothing_stored(app)


def test_redirect_from_the_configuration_url_is_not_followed(
    app: Flask, client: FlaskClient, lms: FakeLms, caplog: pytest.LogCaptureFixture
) -> None:
    lms.config_answer = lambda: raw_response(
        302, b"", {"Location": "https://169.254.169.254/latest/meta-data/"}
    )
    response = register(client, wire="json")
    data = expect_refusal(
        response, status=502, code="platform_redirected", wire="json", caplog=caplog
    )
    assert "does not follow redirects" in data["message"]
    assert len(lms.seen) == 1
    expect_nothing_stored(app)


def test_redirect_from_the_registration_endpoint_is_not_followed(
    app: Flask, client: FlaskClient, lms: FakeLms, caplog: pytest.LogCaptureFixture
) -> None:
    lms.registration_answer = lambda: raw_response(
        307, b"", {"Location": LMS + "/elsewhere"}
    )
    response = register(client, wire="json")
    expect_refusal(
        response, status=502, code="platform_redirected", wire="json", caplog=caplog
    )
    assert [s.method for s in lms.seen] == ["GET", "POST"]
    expect_nothing_stored(app)


@pytest.mark.parametrize("declare_length", [True, False], ids=["declared", "streamed"])
def test_oversized_configuration_is_refused(
    app: Flask,
    client: FlaskClient,
    lms: FakeLms,
    caplog: pytest.LogCaptureFixture,
    declare_length: bool,
) -> None:
    padded = {**lms.configuration(), "padding": "x" * (300 * 1024)}
    lms.config_answer = lambda: raw_response(
        200, json.dumps(padded).encode(), declare_length=declare_length
    )
    response = register(client, wire="json")
    data = expect_refusal(
        response, status=502, code="platform_unreachable", wire="json", caplog=caplog
    )
    assert "262144 bytes" in data["message"]
    assert len(lms.seen) == 1
    expect_nothing_stored(app)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(b"<html>not json</html>", "malformed_platform_answer", id="html"),
        pytest.param(b"[1, 2]", "malformed_platform_answer", id="array"),
        pytest.param(b"\xff\xfe", "malformed_platform_answer", id="not-utf8"),
        pytest.param(
            json.dumps({"issuer": LMS}).encode(),
            "incomplete_platform_configuration",
            id="no-endpoints",
        ),
    ],
)
def test_malformed_configuration_is_refused(
    app: Flask,
    client: FlaskClient,
    lms: FakeLms,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    code: str,
) -> None:
    lms.config_answer = lambda: raw_response(200, body)
    response = register(client, wire="json")
    expect_refusal(response, status=502, code=code, wire="json", caplog=caplog)
    expect_nothing_stored(app)


@pytest.mark.parametrize("missing", ["issuer", "registration_endpoint", "jwks_uri"])
def test_configuration_missing_a_required_field_is_refused(
    app: Flask,
    client: FlaskClient,
    lms: FakeLms,
    caplog: pytest.LogCaptureFixture,
    missing: str,
) -> None:
    lms.config_changes = {missing: None}
    response = register(client, wire="json")
    data = expect_refusal(
        response,
        status=502,
        code="incomplete_platform_configuration",
        wire="json",
        caplog=caplog,
    )
    assert missing in data["message"]
    expect_nothing_stored(app)


def test_unreachable_lms_is_a_bad_gateway(
    app: Flask, client: FlaskClient, lms: FakeLms, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse_connection() -> requests.Response:
        raise requests.ConnectionError("connection refused")

    lms.config_answer = refuse_connection
    response = register(client, wire="json")
    data = expect_refusal(
        response, status=502, code="platform_unreachable", wire="json", caplog=caplog
    )
    assert "lms.dr.test" in data["message"]
    expect_nothing_stored(app)


def test_unresolvable_host_is_a_bad_gateway(
    app: Flask, client: FlaskClient, lms: FakeLms, caplog: pytest.LogCaptureFixture
) -> None:
    response = register(client, "https://nowhere.dr.test/config", wire="json")
    expect_refusal(
        response, status=502, code="platform_unreachable", wire="json", caplog=caplog
    )
    expect_nothing_stored(app)


def test_lms_refusing_the_registration_is_reported_and_nothing_stored(
    app: Flask, client: FlaskClient, lms: FakeLms, caplog: pytest.LogCaptureFixture
) -> None:
    lms.registration_answer = lambda: json_response(
        400,
        {
            "error": "invalid_client_metadata",
            "error_description": "unsupported scope",
        },
    )
    response = register(client, wire="json")
    data = expect_refusal(
        response, status=400, code="registration_refused", wire="json", caplog=caplog
    )
    assert "fakelms refused tierpath's registration (HTTP 400" in data["message"]
    assert "invalid_client_metadata: unsupported scope" in data["message"]
    expect_nothing_stored(app)


def test_lms_failing_during_registration_is_a_bad_gateway(
    app: Flask, client: FlaskClient, lms: FakeLms, caplog: pytest.LogCaptureFixture
) -> None:
    lms.registration_answer = lambda: raw_response(500, b"oops")
    response = register(client, wire="json")
    expect_refusal(
        response, status=502, code="platform_error", wire="json", caplog=caplog
    )
    expect_nothing_stored(app)


def test_lms_answer_without_client_id_is_refused(
    app: Flask, client: FlaskClient, lms: FakeLms, caplog: pytest.LogCaptureFixture
) -> None:
    lms.registration_answer = lambda: json_response(200, {TOOL_CONFIG: {}})
    response = register(client, wire="json")
    data = expect_refusal(
        response,
        status=502,
        code="malformed_platform_answer",
        wire="json",
        caplog=caplog,
    )
    assert "client_id" in data["message"]
    expect_nothing_stored(app)


def test_reused_registration_token_is_refused(
    app: Flask, client: FlaskClient, lms: FakeLms, caplog: pytest.LogCaptureFixture
) -> None:
    assert register(client).status_code == 200
    lms.client_id = "dr-client-2"
    response = register(client, wire="json")  # token-1 again: the LMS says 401
    data = expect_refusal(
        response, status=400, code="registration_refused", wire="json", caplog=caplog
    )
    assert "HTTP 401" in data["message"]
    assert "start the registration again" in data["hint"]
    assert [p.client_id for p in platforms(app)] == ["dr-client-1"]


def test_second_registration_with_the_same_client_id_is_refused(
    app: Flask, client: FlaskClient, lms: FakeLms, caplog: pytest.LogCaptureFixture
) -> None:
    assert register(client).status_code == 200
    response = register(client, token="token-2", wire="json")
    data = expect_refusal(
        response, status=409, code="already_registered", wire="json", caplog=caplog
    )
    assert (
        "already has a tierpath registration with client id dr-client-1"
        in (data["message"])
    )
    assert len(platforms(app)) == 1


def test_registrations_beyond_the_pending_limit_are_refused(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(REGISTRATION_MAX_PENDING=1)
    fake = FakeLms(client_ids=["first", "second"])
    rt = runtime(app)
    rt.registration_http.mount(LMS + "/", fake.adapter())
    rt.registration_http.resolver = fake_resolve
    client = new_browser(app)
    assert register(client).status_code == 200
    seen = len(fake.seen)
    response = register(client, token="token-2")
    expect_refusal(
        response,
        status=429,
        code="too_many_pending_registrations",
        wire="html",
        caplog=caplog,
    )
    assert len(fake.seen) == seen  # nothing fetched
    assert [p.client_id for p in platforms(app)] == ["first"]


def test_registration_without_a_deployment_id_is_stored_and_flagged(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    lms: FakeLms,
    clock: FakeClock,
) -> None:
    lms.registration_answer = lambda: json_response(
        200, {"client_id": "no-deployment", TOOL_CONFIG: {"domain": "tool.test"}}
    )
    assert register(new_browser(app)).status_code == 200
    assert dr_platform(app).deployments == []
    html, _ = admin_session(client, platform, clock)
    pending = html.split('id="pending"', 1)[1].split("</section>", 1)[0]
    assert "none sent" in pending


def test_tool_urls_name_the_registration_url(client: FlaskClient) -> None:
    about = client.get("/").get_data(as_text=True)
    assert "Dynamic registration URL" in about
    assert f"<code>{TOOL_ORIGIN}/lti/register</code>" in about
