"""LTI Dynamic Registration 1.0 on devlms: configuration, registration, launch."""

from __future__ import annotations

import copy
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from devlms.app import DevLmsConfig, create_platform, get_devlms
from devlms.registration import start_registration
from tests.devlms.test_devlms import (
    AGS_CLAIM,
    BASE,
    LTI,
    NRPS_CLAIM,
    SCOPE_LINEITEM,
    SCOPE_NRPS,
    SCOPE_RESULT,
    SCOPE_SCORE,
    TOOL,
    ToolKeys,
    form_field,
    token_request,
)

NEW_TOOL = "https://newtool.example"
TOOL_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIG = "https://purl.imsglobal.org/spec/lti-platform-configuration"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def tool_keys() -> ToolKeys:
    return ToolKeys()


@pytest.fixture
def app(tool_keys: ToolKeys) -> Flask:
    config = DevLmsConfig(
        base_url=BASE,
        tool_url=TOOL,
        tool_jwks_fetcher=tool_keys.jwks,
        platform_storage="parent",
    )
    return create_platform(config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def tool_request(**overrides: Any) -> dict[str, Any]:
    """A registration request as a well-behaved tool sends it."""
    body: dict[str, Any] = {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": f"{NEW_TOOL}/lti/login",
        "redirect_uris": [f"{NEW_TOOL}/lti/launch", f"{NEW_TOOL}/lti/launch2"],
        "client_name": "New Tool",
        "jwks_uri": f"{NEW_TOOL}/.well-known/jwks.json",
        "logo_uri": f"{NEW_TOOL}/logo.png",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": f"{SCOPE_SCORE} {SCOPE_RESULT}",
        TOOL_CONFIG: {
            "domain": "newtool.example",
            "description": "A tool registered dynamically",
            "target_link_uri": f"{NEW_TOOL}/lti/home",
            "custom_parameters": {"origin": "dr"},
            "claims": ["iss", "sub", "name", "given_name"],
            "messages": [
                {"type": "LtiResourceLinkRequest", "label": "New Tool activity"},
                {
                    "type": "LtiDeepLinkingRequest",
                    "target_link_uri": f"{NEW_TOOL}/lti/dl",
                    "placements": ["ContentArea"],
                },
                {"type": "LtiSubmissionReviewRequest"},
                {"type": "LtiFutureMessage"},
            ],
        },
    }
    body.update(overrides)
    return body


def start(client: FlaskClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/dynamic-registration", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.get_json()
    return data


def register(client: FlaskClient, token: str, body: Any, **headers: str) -> Any:
    return client.post(
        "/lti/registrations",
        json=body,
        headers={"Authorization": f"Bearer {token}", **headers},
    )


def registered_tool(client: FlaskClient) -> tuple[dict[str, Any], dict[str, Any]]:
    started = start(client)
    response = register(client, started["registration_token"], tool_request())
    assert response.status_code == 200, response.text
    status = client.get(f"/api/dynamic-registration/{started['registration_id']}")
    return response.get_json(), status.get_json()


# -- platform configuration --------------------------------------------------------
def test_openid_configuration_describes_the_platform(client: FlaskClient) -> None:
    doc = client.get("/.well-known/openid-configuration").get_json()
    assert doc["issuer"] == BASE
    assert doc["authorization_endpoint"] == f"{BASE}/auth"
    assert doc["token_endpoint"] == f"{BASE}/token"
    assert doc["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert doc["token_endpoint_auth_signing_alg_values_supported"] == ["RS256"]
    assert doc["jwks_uri"] == f"{BASE}/.well-known/jwks.json"
    assert doc["registration_endpoint"] == f"{BASE}/lti/registrations"
    assert {SCOPE_LINEITEM, SCOPE_SCORE, SCOPE_RESULT, SCOPE_NRPS} <= set(
        doc["scopes_supported"]
    )
    assert doc["response_types_supported"] == ["id_token"]
    assert doc["subject_types_supported"] == ["public"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"sub", "iss", "name", "email"} <= set(doc["claims_supported"])
    platform = doc[PLATFORM_CONFIG]
    assert platform["product_family_code"] == "devlms"
    assert platform["version"]
    assert [m["type"] for m in platform["messages_supported"]] == [
        "LtiResourceLinkRequest",
        "LtiDeepLinkingRequest",
        "LtiSubmissionReviewRequest",
    ]
    assert platform["messages_supported"][1]["placements"] == ["ContentArea"]
    # the configuration URL starts with the issuer (DR §3.5.1)
    assert doc["issuer"]
    assert f"{BASE}/.well-known/openid-configuration".startswith(doc["issuer"])


def test_issuer_mismatch_fault_serves_a_foreign_issuer(client: FlaskClient) -> None:
    started = start(client, fault="issuer-mismatch")
    url = started["openid_configuration"]
    assert url.startswith(f"{BASE}/dynamic-registration/")
    doc = client.get(url.removeprefix(BASE)).get_json()
    assert doc["issuer"] == "https://issuer-mismatch.invalid"
    assert doc["registration_endpoint"] == f"{BASE}/lti/registrations"
    bad = client.post("/api/dynamic-registration", json={"fault": "nope"})
    assert bad.status_code == 400


# -- starting a registration ---------------------------------------------------------
def test_control_endpoint_starts_a_registration(client: FlaskClient) -> None:
    started = start(client, registration_url=f"{NEW_TOOL}/register?tenant=7")
    assert started["openid_configuration"] == f"{BASE}/.well-known/openid-configuration"
    assert started["registration_endpoint"] == f"{BASE}/lti/registrations"
    assert started["expires_in"] == 600
    query = parse_qs(urlsplit(started["start_url"]).query)
    assert query == {
        "tenant": ["7"],
        "openid_configuration": [started["openid_configuration"]],
        "registration_token": [started["registration_token"]],
    }
    status = client.get(started["status_url"].removeprefix(BASE)).get_json()
    assert status["status"] == "pending"
    assert status["client_id"] is None
    assert client.get("/api/dynamic-registration/reg-nope").status_code == 404


@pytest.mark.parametrize(
    "url", ["http://newtool.example/register", "ftp://localhost/x", "/register", ""]
)
def test_insecure_registration_urls_are_refused(client: FlaskClient, url: str) -> None:
    response = client.post("/api/dynamic-registration", json={"registration_url": url})
    assert response.status_code == 400


def test_python_helper_gives_config_url_and_token(app: Flask) -> None:
    devlms = get_devlms(app)
    started = start_registration(devlms, "http://localhost:5000/lti/register")
    assert started.openid_configuration == f"{BASE}/.well-known/openid-configuration"
    assert started.registration_token
    assert started.start_url is not None
    assert started.start_url.startswith("http://localhost:5000/lti/register?")
    other = start_registration(devlms)
    assert other.registration_token != started.registration_token
    assert other.start_url is None


# -- registration endpoint -----------------------------------------------------------
def test_registration_round_trip(client: FlaskClient) -> None:
    started = start(client)
    body = tool_request()
    response = register(client, started["registration_token"], body)
    assert response.status_code == 200, response.text
    reply = response.get_json()
    client_id = reply["client_id"]
    assert client_id.startswith("devlms-")
    config = reply[TOOL_CONFIG]
    assert config["deployment_id"]
    assert config["domain"] == "newtool.example"
    assert config["target_link_uri"] == f"{NEW_TOOL}/lti/home"
    # echoed request, unsupported message types left out
    assert reply["client_name"] == "New Tool"
    assert reply["redirect_uris"] == body["redirect_uris"]
    assert reply["logo_uri"] == body["logo_uri"]
    assert [m["type"] for m in config["messages"]] == [
        "LtiResourceLinkRequest",
        "LtiDeepLinkingRequest",
        "LtiSubmissionReviewRequest",
    ]
    assert set(reply["scope"].split()) == {SCOPE_SCORE, SCOPE_RESULT}

    status = client.get(f"/api/dynamic-registration/{started['registration_id']}")
    status_body = status.get_json()
    assert status_body["status"] == "registered"
    assert status_body["client_id"] == client_id
    assert status_body["deployment_id"] == config["deployment_id"]
    assert status_body["tool"]["initiate_login_uri"] == f"{NEW_TOOL}/lti/login"

    state = client.get("/api/state").get_json()
    assert [t["client_id"] for t in state["tools"]] == ["tierpath-dev", client_id]
    (link,) = [li for li in state["links"] if li["tool"] == client_id]
    assert link["id"] == status_body["resource_link_id"]
    assert link["title"] == "New Tool activity"
    assert link["url"] == f"{NEW_TOOL}/lti/home"

    # the token is single use
    again = register(client, started["registration_token"], body)
    assert again.status_code == 401
    assert again.get_json()["error"] == "invalid_token"
    assert "already used" in again.get_json()["error_description"]
    assert 'error="invalid_token"' in again.headers["WWW-Authenticate"]


def test_expired_registration_token_is_refused(tool_keys: ToolKeys) -> None:
    config = DevLmsConfig(
        base_url=BASE, tool_url=TOOL, tool_jwks_fetcher=tool_keys.jwks
    )
    config.registration_token_ttl = 0.05
    client = create_platform(config).test_client()
    started = start(client)
    time.sleep(0.1)
    response = register(client, started["registration_token"], tool_request())
    assert response.status_code == 401
    assert "expired" in response.get_json()["error_description"]
    status = client.get(f"/api/dynamic-registration/{started['registration_id']}")
    assert status.get_json()["status"] == "expired"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer made-up"}, {"Authorization": "Basic abc"}],
)
def test_registration_without_a_valid_token_is_refused(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    response = client.post("/lti/registrations", json=tool_request(), headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"


def _without(key: str) -> dict[str, Any]:
    body = tool_request()
    del body[key]
    return body


def _config(**changes: Any) -> dict[str, Any]:
    body = tool_request()
    config = copy.deepcopy(body[TOOL_CONFIG])
    config.update(changes)
    body[TOOL_CONFIG] = {k: v for k, v in config.items() if v is not None}
    return body


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        (["not", "an", "object"], "invalid_client_metadata", "JSON object"),
        (
            tool_request(application_type="native"),
            "invalid_client_metadata",
            "application_type",
        ),
        (
            tool_request(grant_types=["implicit"]),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            tool_request(response_types=["code"]),
            "invalid_client_metadata",
            "response_types",
        ),
        (
            tool_request(token_endpoint_auth_method="client_secret_basic"),
            "invalid_client_metadata",
            "private_key_jwt",
        ),
        (_without("client_name"), "invalid_client_metadata", "client_name"),
        (_without(TOOL_CONFIG), "invalid_client_metadata", TOOL_CONFIG),
        (_config(domain=None), "invalid_client_metadata", "domain"),
        (
            _config(domain="https://newtool.example/"),
            "invalid_client_metadata",
            "domain",
        ),
        (_config(target_link_uri=None), "invalid_client_metadata", "target_link_uri"),
        (
            _config(target_link_uri="https://elsewhere.example/home"),
            "invalid_client_metadata",
            "domain",
        ),
        (
            _without("initiate_login_uri"),
            "invalid_client_metadata",
            "initiate_login_uri",
        ),
        (
            tool_request(initiate_login_uri="http://newtool.example/lti/login"),
            "invalid_client_metadata",
            "https",
        ),
        (_without("redirect_uris"), "invalid_redirect_uri", "redirect_uris"),
        (tool_request(redirect_uris=[]), "invalid_redirect_uri", "redirect_uris"),
        (
            tool_request(redirect_uris=["http://newtool.example/lti/launch"]),
            "invalid_redirect_uri",
            "https",
        ),
        (
            tool_request(redirect_uris=["https://evil.example/lti/launch"]),
            "invalid_redirect_uri",
            "domain",
        ),
        (
            tool_request(redirect_uris=["https://newtool.example/launch#frag"]),
            "invalid_redirect_uri",
            "fragment",
        ),
        (_without("jwks_uri"), "invalid_client_metadata", "jwks_uri"),
        (
            tool_request(jwks_uri="http://keys.example/jwks.json"),
            "invalid_client_metadata",
            "https",
        ),
        (
            tool_request(scope=f"{SCOPE_SCORE} https://example.com/admin"),
            "invalid_client_metadata",
            "scope",
        ),
        (
            _config(
                messages=[
                    {
                        "type": "LtiDeepLinkingRequest",
                        "target_link_uri": "https://evil.example/dl",
                    }
                ]
            ),
            "invalid_client_metadata",
            "domain",
        ),
        (_config(messages=[{"label": "no type"}]), "invalid_client_metadata", "type"),
        (_config(claims="email"), "invalid_client_metadata", "claims"),
    ],
)
def test_bad_registration_requests_are_refused(
    client: FlaskClient, body: Any, error: str, words: str
) -> None:
    started = start(client)
    response = register(client, started["registration_token"], body)
    assert response.status_code == 400, response.text
    assert response.get_json()["error"] == error
    assert words in response.get_json()["error_description"]
    # a refused request does not use up the token
    assert (
        register(client, started["registration_token"], tool_request()).status_code
        == 200
    )


def test_registration_needs_a_json_body(client: FlaskClient) -> None:
    started = start(client)
    response = client.post(
        "/lti/registrations",
        data="client_name=x",
        headers={"Authorization": f"Bearer {started['registration_token']}"},
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "application/json" in response.get_json()["error_description"]


def test_loopback_tool_may_use_plain_http(client: FlaskClient) -> None:
    local = "http://localhost:5001"
    body = tool_request(
        initiate_login_uri=f"{local}/lti/login",
        redirect_uris=[f"{local}/lti/launch"],
        jwks_uri=f"{local}/.well-known/jwks.json",
    )
    body[TOOL_CONFIG] = {
        **body[TOOL_CONFIG],
        "domain": "localhost:5001",
        "target_link_uri": f"{local}/home",
        "messages": [],
    }
    started = start(client)
    response = register(client, started["registration_token"], body)
    assert response.status_code == 200, response.text
    # port is part of the declared domain
    started = start(client)
    body["redirect_uris"] = ["http://localhost:5002/lti/launch"]
    assert register(client, started["registration_token"], body).status_code == 400


# -- the registered tool is launchable -----------------------------------------------
def _login(client: FlaskClient, path: str, user: str) -> dict[str, str]:
    if "?" not in path:
        path = f"{path}?user={user}"
    response = client.get(path)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(f"{NEW_TOOL}/lti/login?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _auth(client: FlaskClient, login: dict[str, str], **overrides: str) -> Any:
    params = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": login["client_id"],
        "redirect_uri": f"{NEW_TOOL}/lti/launch2",
        "login_hint": login["login_hint"],
        "lti_message_hint": login["lti_message_hint"],
        "nonce": uuid.uuid4().hex,
        "state": uuid.uuid4().hex,
    }
    params.update(overrides)
    return client.post("/auth", data=params)


def _decode(client: FlaskClient, html: str, client_id: str) -> dict[str, Any]:
    token = form_field(html, "id_token")
    jwks = client.get("/.well-known/jwks.json").get_json()
    key = jwt.PyJWK(jwks["keys"][0]).key
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=["RS256"], audience=client_id, issuer=BASE
    )
    return claims


def test_registered_tool_can_be_launched_from_the_course(client: FlaskClient) -> None:
    reply, status = registered_tool(client)
    client_id = reply["client_id"]
    deployment_id = reply[TOOL_CONFIG]["deployment_id"]
    link_id = status["resource_link_id"]

    client.post("/switch-user", data={"user": "learner1"})
    home = client.get("/").text
    assert f'id="link-{link_id}"' in home
    frame = client.get(f"/course/launch/{link_id}").text
    assert "https://newtool.example" in frame  # the storage handler's tool origin

    login = _login(client, f"/launch/{link_id}", "learner1")
    assert login["client_id"] == client_id
    assert login["lti_deployment_id"] == deployment_id
    assert login["target_link_uri"] == f"{NEW_TOOL}/lti/home"
    assert login["iss"] == BASE

    response = _auth(client, login)
    assert response.status_code == 200, response.text
    assert f'action="{NEW_TOOL}/lti/launch2"' in response.text
    claims = _decode(client, response.text, client_id)
    assert claims["aud"] == client_id
    assert claims[f"{LTI}/deployment_id"] == deployment_id
    assert claims[f"{LTI}/message_type"] == "LtiResourceLinkRequest"
    assert claims[f"{LTI}/resource_link"]["id"] == link_id
    assert claims[f"{LTI}/custom"] == {"origin": "dr"}
    # only the identity claims the tool asked for
    assert claims["name"] == "Ana Morales"
    assert claims["given_name"] == "Ana"
    assert "email" not in claims
    assert "family_name" not in claims
    # only the services it registered scopes for
    assert claims[AGS_CLAIM]["scope"] == [SCOPE_RESULT, SCOPE_SCORE]
    assert NRPS_CLAIM not in claims


def test_auth_refuses_crossed_registrations(client: FlaskClient) -> None:
    _reply, status = registered_tool(client)
    link = f"/launch/{status['resource_link_id']}"
    # a redirect_uri the tool did not register
    response = _auth(
        client, _login(client, link, "learner1"), redirect_uri=f"{NEW_TOOL}/other"
    )
    assert response.status_code == 400
    assert "redirect_uri" in response.text
    # the built-in tool's launch URL is not this tool's
    response = _auth(
        client, _login(client, link, "learner1"), redirect_uri=f"{TOOL}/lti/launch"
    )
    assert response.status_code == 400
    # a hint issued for the new tool cannot be redeemed by the built-in client
    response = _auth(
        client,
        _login(client, link, "learner1"),
        client_id="tierpath-dev",
        redirect_uri=f"{TOOL}/lti/launch",
    )
    assert response.status_code == 400
    assert "another client_id" in response.text


def test_registered_tool_deep_links_to_its_own_endpoint(
    client: FlaskClient, tool_keys: ToolKeys
) -> None:
    reply, _ = registered_tool(client)
    client_id = reply["client_id"]
    client.post("/switch-user", data={"user": "instructor"})
    home = client.get("/").text
    assert f'id="deep-link-{client_id}"' in home
    assert "Add content from New Tool (Deep Linking)" in home
    page = client.get(f"/course/deep-link?tool={client_id}").text
    src = re.search(r'<iframe id="tool-frame" src="([^"]*)"', page)
    assert src
    login = _login(client, src.group(1).replace("&amp;", "&"), "instructor")
    assert login["target_link_uri"] == f"{NEW_TOOL}/lti/dl"
    response = _auth(client, login)
    claims = _decode(client, response.text, client_id)
    assert claims[f"{LTI}/message_type"] == "LtiDeepLinkingRequest"
    settings = claims[
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
    ]

    now = int(time.time())
    item = {
        "type": "ltiResourceLink",
        "title": "Chapter 1",
        "url": f"{NEW_TOOL}/lti/chapter/1",
        "lineItem": {"scoreMaximum": 5, "label": "Chapter 1"},
    }
    jwt_claims = {
        "iss": client_id,
        "aud": [BASE],
        "iat": now,
        "exp": now + 300,
        "nonce": uuid.uuid4().hex,
        f"{LTI}/deployment_id": reply[TOOL_CONFIG]["deployment_id"],
        f"{LTI}/message_type": "LtiDeepLinkingResponse",
        f"{LTI}/version": "1.3.0",
        "https://purl.imsglobal.org/spec/lti-dl/claim/content_items": [item],
        "https://purl.imsglobal.org/spec/lti-dl/claim/data": settings["data"],
    }
    returned = client.post(
        "/deep_link_return", data={"JWT": tool_keys.sign(jwt_claims)}
    )
    assert returned.status_code == 200, returned.text
    assert "Added from New Tool: Chapter 1" in returned.text
    state = client.get("/api/state").get_json()
    (placed,) = [li for li in state["links"] if li["title"] == "Chapter 1"]
    assert placed["tool"] == client_id
    # fetched from the registered tool's jwks_uri
    assert tool_keys.fetched[-1] == f"{NEW_TOOL}/.well-known/jwks.json"


def test_registered_tool_gets_tokens_for_its_scopes_only(
    client: FlaskClient, tool_keys: ToolKeys
) -> None:
    reply, _ = registered_tool(client)
    client_id = reply["client_id"]

    def assertion(**overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": f"{BASE}/token",
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return tool_keys.sign(claims)

    ok = token_request(client, assertion(), [SCOPE_SCORE])
    assert ok.status_code == 200, ok.text
    refused = token_request(client, assertion(), [SCOPE_SCORE, SCOPE_LINEITEM])
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_scope"
    crossed = token_request(client, assertion(sub="tierpath-dev"), [SCOPE_SCORE])
    assert crossed.status_code == 401


def test_registered_tools_survive_a_restart(
    tmp_path: Path, tool_keys: ToolKeys
) -> None:
    def make() -> FlaskClient:
        config = DevLmsConfig(
            base_url=BASE,
            tool_url=TOOL,
            data_dir=tmp_path,
            tool_jwks_fetcher=tool_keys.jwks,
        )
        return create_platform(config).test_client()

    reply, status = registered_tool(make())
    again = make()
    login = _login(again, f"/launch/{status['resource_link_id']}", "learner2")
    assert login["client_id"] == reply["client_id"]


# -- admin pages ----------------------------------------------------------------------
def test_admin_page_needs_the_admin_user(client: FlaskClient) -> None:
    assert client.get("/admin/tools").status_code == 403
    client.post("/switch-user", data={"user": "instructor"})
    assert client.get("/admin/tools").status_code == 403
    assert (
        client.post(
            "/admin/tools/register", data={"registration_url": f"{NEW_TOOL}/r"}
        ).status_code
        == 403
    )


def test_admin_registers_a_tool_by_url(client: FlaskClient) -> None:
    client.post("/switch-user", data={"user": "admin"})
    assert 'id="admin-tools-link"' in client.get("/").text
    page = client.get("/admin/tools").text
    assert 'id="dr-form"' in page
    assert 'id="tool-tierpath-dev"' in page

    response = client.post(
        "/admin/tools/register", data={"registration_url": f"{NEW_TOOL}/register"}
    )
    assert response.status_code == 200
    html = response.text
    src = re.search(r'<iframe id="dr-frame" src="([^"]*)"', html)
    assert src
    query = parse_qs(urlsplit(src.group(1).replace("&amp;", "&")).query)
    assert query["openid_configuration"] == [f"{BASE}/.well-known/openid-configuration"]
    (token,) = query["registration_token"]
    assert '"tool_origin": "https://newtool.example"' in html
    assert '"close_subject": "org.imsglobal.lti.close"' in html
    assert 'id="dr-result"' in html

    # the tool registers with the token it was given; the page's status URL says so
    assert register(client, token, tool_request()).status_code == 200
    status_url = re.search(r'"status_url": "([^"]*)"', html)
    assert status_url
    assert client.get(status_url.group(1)).get_json()["status"] == "registered"
    assert "New Tool" in client.get("/admin/tools").text

    refused = client.post(
        "/admin/tools/register", data={"registration_url": "http://x.example/r"}
    )
    assert refused.status_code == 400
    assert "https" in refused.text
