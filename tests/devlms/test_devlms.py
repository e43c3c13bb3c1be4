"""Unit tests of devlms (the development LTI 1.3 platform), no tool needed.

The tool's JWKS is served by an injected fetcher holding a throwaway RSA key,
so client assertions and deep-linking responses can be signed here.
"""

from __future__ import annotations

import re
import stat
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from devlms.app import DevLmsConfig, create_platform, get_devlms, set_base_url

BASE = "http://127.0.0.1:9100"
TOOL = "http://localhost:5000"
CLIENT_ID = "tierpath-dev"
DEPLOYMENT_ID = "devlms-deployment-1"
LTI = "https://purl.imsglobal.org/spec/lti/claim"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ALL_SCOPES = [SCOPE_LINEITEM, SCOPE_RESULT, SCOPE_SCORE, SCOPE_NRPS]
LINEITEMS = "/api/contexts/course-ccc-101/lineitems"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MEMBERSHIPS = "/api/contexts/course-ccc-101/memberships"


class ToolKeys:
    """A throwaway tool key pair and the JWKS the fake fetcher serves."""

    def __init__(self) -> None:
        self.keys: list[tuple[str, rsa.RSAPrivateKey]] = []
        self.fetched: list[str] = []
        self.rotate()

    def rotate(self) -> str:
        kid = f"tool-key-{len(self.keys) + 1}"
        self.keys.append(
            (kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        )
        return kid

    def jwks(self, url: str) -> dict[str, Any]:
        self.fetched.append(url)
        out = []
        for kid, key in self.keys:
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            out.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": out}

    def sign(self, claims: dict[str, Any], kid: str | None = None) -> str:
        kid = kid or self.keys[-1][0]
        key = dict(self.keys)[kid]
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="module")
def tool_keys() -> ToolKeys:
    return ToolKeys()


@pytest.fixture
def app(tool_keys: ToolKeys) -> Flask:
    tool_keys.fetched.clear()
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


# -- helpers ------------------------------------------------------------------
def start_login(
    client: FlaskClient, path: str = "/launch/rl-career-path", user: str = "learner1"
) -> dict[str, str]:
    response = client.get(path, query_string={"user": user})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{TOOL}/lti/login?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def auth_params(login: dict[str, str], **overrides: str) -> dict[str, str]:
    params = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": login["client_id"],
        "redirect_uri": f"{TOOL}/lti/launch",
        "login_hint": login["login_hint"],
        "lti_message_hint": login["lti_message_hint"],
        "nonce": uuid.uuid4().hex,
        "state": "state-" + uuid.uuid4().hex,
    }
    params.update(overrides)
    return params


def form_field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} in form"
    return match.group(1)


def verify_id_token(client: FlaskClient, token: str) -> dict[str, Any]:
    jwks = client.get("/.well-known/jwks.json").get_json()
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    assert jwk["use"] == "sig"
    assert jwk["alg"] == "RS256"
    key = jwt.PyJWK(jwk).key
    return jwt.decode(token, key, algorithms=["RS256"], audience=CLIENT_ID, issuer=BASE)


def launch(
    client: FlaskClient, path: str = "/launch/rl-career-path", user: str = "learner1"
) -> tuple[dict[str, Any], dict[str, str]]:
    params = auth_params(start_login(client, path, user))
    response = client.post("/auth", data=params)
    assert response.status_code == 200, response.text
    html = response.text
    assert f'action="{TOOL}/lti/launch"' in html
    assert form_field(html, "state") == params["state"]
    return verify_id_token(client, form_field(html, "id_token")), params


def assertion(tool_keys: ToolKeys, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": f"{BASE}/token",
        "iat": now,
        "exp": now + 60,
        "jti": "jti-" + uuid.uuid4().hex,
    }
    claims.update(overrides)
    return tool_keys.sign({k: v for k, v in claims.items() if v is not None})


def token_request(
    client: FlaskClient, client_assertion: str, scopes: list[str] = ALL_SCOPES
) -> Any:
    return client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": client_assertion,
            "scope": " ".join(scopes),
        },
    )


def bearer(
    client: FlaskClient, tool_keys: ToolKeys, scopes: list[str] = ALL_SCOPES
) -> dict[str, str]:
    response = token_request(client, assertion(tool_keys), scopes)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def score(user: str = "devlms-user-learner1", **overrides: Any) -> dict[str, Any]:
    body = {
        "userId": user,
        "scoreGiven": 8,
        "scoreMaximum": 10,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": "2026-01-10T10:00:00.123+00:00",
        "comment": "Good work",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


# -- registration, keys, config -----------------------------------------------
def test_registration_json(client: FlaskClient) -> None:
    assert client.get("/registration.json").get_json() == {
        "issuer": BASE,
        "client_id": CLIENT_ID,
        "deployment_id": DEPLOYMENT_ID,
        "auth_login_url": f"{BASE}/auth",
        "token_url": f"{BASE}/token",
        "jwks_url": f"{BASE}/.well-known/jwks.json",
    }


def test_base_url_is_read_lazily(app: Flask) -> None:
    set_base_url(app, "http://127.0.0.1:12345/")
    body = app.test_client().get("/registration.json").get_json()
    assert body["issuer"] == "http://127.0.0.1:12345"
    assert body["token_url"] == "http://127.0.0.1:12345/token"


def test_platform_key_persisted_with_0600(tmp_path: Any) -> None:
    data_dir = tmp_path / "devlms"
    first = create_platform(DevLmsConfig(data_dir=data_dir))
    key_file = data_dir / "platform_private_key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = create_platform(DevLmsConfig(data_dir=data_dir))
    assert get_devlms(first).key.kid == get_devlms(second).key.kid


def test_gradebook_survives_restart_with_data_dir(tmp_path: Any) -> None:
    first = get_devlms(create_platform(DevLmsConfig(data_dir=tmp_path)))
    item_id = first.store.create_lineitem({"label": "Kept", "scoreMaximum": 5})
    first.store.put_score(item_id, score())
    second = get_devlms(create_platform(DevLmsConfig(data_dir=tmp_path)))
    assert second.store.get_lineitem(item_id)["label"] == "Kept"
    assert "devlms-user-learner1" in second.store.scores_for(item_id)


def test_real_server_on_port_zero(tool_keys: ToolKeys) -> None:
    config = DevLmsConfig(
        base_url="http://127.0.0.1", tool_url=TOOL, tool_jwks_fetcher=tool_keys.jwks
    )
    server = make_server("127.0.0.1", 0, create_platform(config), threaded=True)
    config.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body = requests.get(f"{config.base_url}/registration.json", timeout=5).json()
        assert body["issuer"] == config.base_url
        page = requests.get(f"{config.base_url}/", timeout=5)
        assert "Contact Centre Careers 101" in page.text
    finally:
        server.shutdown()
        thread.join(timeout=5)


# -- OIDC launch --------------------------------------------------------------
def test_launch_redirects_to_tool_login(client: FlaskClient) -> None:
    login = start_login(client)
    assert login["iss"] == BASE
    assert login["login_hint"] == "learner1"
    assert login["target_link_uri"] == f"{TOOL}/home"
    assert login["client_id"] == CLIENT_ID
    assert login["lti_deployment_id"] == DEPLOYMENT_ID
    assert login["lti_message_hint"]


def test_id_token_claims(client: FlaskClient) -> None:
    claims, params = launch(client)
    assert claims["aud"] == CLIENT_ID
    assert claims["azp"] == CLIENT_ID
    assert claims["sub"] == "devlms-user-learner1"
    assert claims["nonce"] == params["nonce"]
    assert claims["exp"] - claims["iat"] == 300
    assert claims["name"] == "Ana Morales"
    assert claims["given_name"] == "Ana"
    assert claims["family_name"] == "Morales"
    assert claims["email"] == "ana.morales@example.com"
    assert claims[f"{LTI}/message_type"] == "LtiResourceLinkRequest"
    assert claims[f"{LTI}/version"] == "1.3.0"
    assert claims[f"{LTI}/deployment_id"] == DEPLOYMENT_ID
    assert claims[f"{LTI}/target_link_uri"] == f"{TOOL}/home"
    assert claims[f"{LTI}/resource_link"] == {
        "id": "rl-career-path",
        "title": "My career path (tierpath)",
    }
    assert claims[f"{LTI}/roles"] == [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
    ]
    assert claims[f"{LTI}/context"]["id"] == "course-ccc-101"
    assert claims[f"{LTI}/context"]["label"] == "CCC101"
    assert claims[f"{LTI}/context"]["title"] == "Contact Centre Careers 101"
    assert claims[f"{LTI}/tool_platform"]["product_family_code"] == "devlms"
    assert claims[f"{LTI}/launch_presentation"]["document_target"] == "iframe"
    assert claims[f"{LTI}/custom"] == {}
    ags = claims[AGS_CLAIM]
    assert ags["lineitems"] == f"{BASE}{LINEITEMS}"
    assert set(ags["scope"]) == {SCOPE_LINEITEM, SCOPE_RESULT, SCOPE_SCORE}
    assert "lineitem" not in ags
    assert claims[NRPS_CLAIM] == {
        "context_memberships_url": f"{BASE}{MEMBERSHIPS}",
        "service_versions": ["2.0"],
    }
    assert DL_SETTINGS not in claims


def test_admin_launch_has_institution_roles_only(client: FlaskClient) -> None:
    claims, _ = launch(client, user="admin")
    assert claims[f"{LTI}/roles"] == [
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
        "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
    ]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"redirect_uri": f"{TOOL}/lti/launch/"}, "redirect_uri"),
        ({"redirect_uri": "https://evil.example/lti/launch"}, "redirect_uri"),
        ({"response_type": "code"}, "response_type"),
        ({"response_mode": "query"}, "response_mode"),
        ({"scope": "profile"}, "scope"),
        ({"prompt": "login"}, "prompt"),
        ({"client_id": "someone-else"}, "client_id"),
        ({"login_hint": "mallory"}, "login_hint"),
        ({"login_hint": "learner2"}, "another user"),
        ({"lti_message_hint": "forged"}, "lti_message_hint"),
        ({"nonce": ""}, "nonce"),
        ({"state": ""}, "state"),
    ],
)
def test_auth_rejects_bad_requests(
    client: FlaskClient, override: dict[str, str], message: str
) -> None:
    response = client.post("/auth", data=auth_params(start_login(client), **override))
    assert response.status_code == 400
    assert message in response.text
    assert 'name="id_token"' not in response.text


def test_auth_rejects_reused_nonce(client: FlaskClient) -> None:
    login = start_login(client)
    params = auth_params(login)
    assert client.get("/auth", query_string=params).status_code == 200
    again = auth_params(start_login(client), nonce=params["nonce"])
    response = client.get("/auth", query_string=again)
    assert response.status_code == 400
    assert "nonce was already used" in response.text


def test_roster_only_user_cannot_launch(client: FlaskClient) -> None:
    assert (
        client.get(
            "/launch/rl-career-path", query_string={"user": "learner3"}
        ).status_code
        == 400
    )


# -- deep linking -------------------------------------------------------------
def deep_link_launch(client: FlaskClient) -> dict[str, Any]:
    claims, _ = launch(client, path="/launch-deep-link", user="instructor")
    return claims


def dl_response(
    tool_keys: ToolKeys,
    settings: dict[str, Any],
    items: list[dict[str, Any]],
    **overrides: Any,
) -> str:
    now = int(time.time())
    claims = {
        "iss": CLIENT_ID,
        "aud": [BASE],
        "iat": now,
        "exp": now + 600,
        "nonce": "nonce-" + uuid.uuid4().hex,
        f"{LTI}/deployment_id": DEPLOYMENT_ID,
        f"{LTI}/message_type": "LtiDeepLinkingResponse",
        f"{LTI}/version": "1.3.0",
        "https://purl.imsglobal.org/spec/lti-dl/claim/content_items": items,
        "https://purl.imsglobal.org/spec/lti-dl/claim/data": settings.get("data"),
    }
    claims.update(overrides)
    return tool_keys.sign({k: v for k, v in claims.items() if v is not None})


def test_deep_linking_request_claims(client: FlaskClient) -> None:
    claims = deep_link_launch(client)
    assert claims[f"{LTI}/message_type"] == "LtiDeepLinkingRequest"
    assert claims[f"{LTI}/target_link_uri"] == f"{TOOL}/lti/deep-link"
    assert f"{LTI}/resource_link" not in claims
    settings = claims[DL_SETTINGS]
    assert settings["deep_link_return_url"] == f"{BASE}/deep_link_return"
    assert settings["accept_types"] == ["ltiResourceLink"]
    assert settings["accept_presentation_document_targets"] == ["iframe", "window"]
    assert settings["accept_multiple"] is True
    assert settings["auto_create"] is True
    assert isinstance(settings["data"], str)


def test_learner_cannot_start_deep_linking(client: FlaskClient) -> None:
    response = client.get("/launch-deep-link", query_string={"user": "learner1"})
    assert response.status_code == 403


def test_deep_link_return_places_link_with_line_item(
    client: FlaskClient, tool_keys: ToolKeys
) -> None:
    settings = deep_link_launch(client)[DL_SETTINGS]
    item = {
        "type": "ltiResourceLink",
        "title": "Tier 2 pre-assessment",
        "url": f"{TOOL}/home?module=tier2",
        "custom": {"module": "tier2"},
        "lineItem": {
            "scoreMaximum": 20,
            "label": "Tier 2 pre",
            "tag": "pre",
            "resourceId": "tier2",
        },
    }
    token = dl_response(tool_keys, settings, [item])
    response = client.post("/deep_link_return", data={"JWT": token})
    assert response.status_code == 200, response.text
    assert "Added from tierpath: Tier 2 pre-assessment" in response.text
    state = client.get("/api/state").get_json()
    (link,) = [
        link for link in state["links"] if link["title"] == "Tier 2 pre-assessment"
    ]
    assert link["custom"] == {"module": "tier2"}
    (lineitem,) = state["lineitems"]
    assert lineitem["resourceLinkId"] == link["id"]
    assert lineitem["tag"] == "pre"
    assert lineitem["scoreMaximum"] == 20

    # replaying the same response is rejected (data and nonce are single use)
    replay = client.post("/deep_link_return", data={"JWT": token})
    assert replay.status_code == 400

    # the new link's launch carries its line item and custom params
    claims, _ = launch(client, path=f"/launch/{link['id']}", user="learner2")
    assert claims[AGS_CLAIM]["lineitem"] == lineitem["id"]
    assert claims[f"{LTI}/custom"] == {"module": "tier2"}
    assert claims[f"{LTI}/target_link_uri"] == f"{TOOL}/home?module=tier2"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"aud": ["http://other.example"]}, "Audience"),
        ({"iss": "someone-else"}, "iss"),
        ({f"{LTI}/deployment_id": "other"}, "deployment_id"),
        ({"nonce": None}, "nonce"),
        ({"exp": None}, "exp"),
        ({"https://purl.imsglobal.org/spec/lti-dl/claim/data": "made-up"}, "data"),
    ],
)
def test_deep_link_return_rejects(
    client: FlaskClient, tool_keys: ToolKeys, override: dict[str, Any], message: str
) -> None:
    settings = deep_link_launch(client)[DL_SETTINGS]
    items = [{"type": "ltiResourceLink", "title": "x", "url": f"{TOOL}/home"}]
    response = client.post(
        "/deep_link_return",
        data={"JWT": dl_response(tool_keys, settings, items, **override)},
    )
    assert response.status_code == 400
    assert message in response.text


def test_deep_link_return_rejects_foreign_url_and_types(
    client: FlaskClient, tool_keys: ToolKeys
) -> None:
    settings = deep_link_launch(client)[DL_SETTINGS]
    foreign = [
        {"type": "ltiResourceLink", "title": "x", "url": "https://evil.example/"}
    ]
    response = client.post(
        "/deep_link_return", data={"JWT": dl_response(tool_keys, settings, foreign)}
    )
    assert response.status_code == 400
    settings = deep_link_launch(client)[DL_SETTINGS]
    html = [{"type": "html", "html": "<b>x</b>"}]
    response = client.post(
        "/deep_link_return", data={"JWT": dl_response(tool_keys, settings, html)}
    )
    assert response.status_code == 400


# -- token endpoint -----------------------------------------------------------
def test_token_issued_and_counted(client: FlaskClient, tool_keys: ToolKeys) -> None:
    response = token_request(client, assertion(tool_keys))
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert set(body["scope"].split()) == set(ALL_SCOPES)
    state = client.get("/api/state").get_json()
    assert state["token_requests"] == 1
    assert state["tokens_issued"] == 1


def test_token_rejects_wrong_aud(client: FlaskClient, tool_keys: ToolKeys) -> None:
    response = token_request(client, assertion(tool_keys, aud=f"{BASE}/other"))
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_token_accepts_aud_list_containing_token_url(
    client: FlaskClient, tool_keys: ToolKeys
) -> None:
    response = token_request(client, assertion(tool_keys, aud=[f"{BASE}/token", BASE]))
    assert response.status_code == 200


def test_token_rejects_replayed_jti(client: FlaskClient, tool_keys: ToolKeys) -> None:
    signed = assertion(tool_keys)
    assert token_request(client, signed).status_code == 200
    replay = token_request(client, signed)
    assert replay.status_code == 401
    assert "jti" in replay.get_json()["error_description"]
    assert client.get("/api/state").get_json()["token_requests"] == 2


@pytest.mark.parametrize(
    ("override", "status"),
    [
        ({"iss": "other"}, 401),
        ({"sub": "other"}, 401),
        ({"exp": None}, 401),
        ({"jti": None}, 401),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 3660}, 401),
    ],
)
def test_token_rejects_bad_assertions(
    client: FlaskClient, tool_keys: ToolKeys, override: dict[str, Any], status: int
) -> None:
    assert token_request(client, assertion(tool_keys, **override)).status_code == status


def test_token_rejects_unknown_scope_and_grant(
    client: FlaskClient, tool_keys: ToolKeys
) -> None:
    response = token_request(
        client, assertion(tool_keys), [SCOPE_SCORE, "https://example.com/admin"]
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_scope"
    response = client.post("/token", data={"grant_type": "password"})
    assert response.status_code == 400


def test_token_refetches_jwks_on_unknown_kid(
    client: FlaskClient, tool_keys: ToolKeys
) -> None:
    assert token_request(client, assertion(tool_keys)).status_code == 200
    fetches = len(tool_keys.fetched)
    tool_keys.rotate()
    assert token_request(client, assertion(tool_keys)).status_code == 200
    assert len(tool_keys.fetched) == fetches + 1
    assert tool_keys.fetched[-1] == f"{TOOL}/.well-known/jwks.json"


# -- AGS ----------------------------------------------------------------------
def test_ags_requires_valid_token_and_scope(
    client: FlaskClient, tool_keys: ToolKeys
) -> None:
    assert client.get(LINEITEMS).status_code == 401
    assert (
        client.get(LINEITEMS, headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    nrps_only = bearer(client, tool_keys, [SCOPE_NRPS])
    response = client.get(LINEITEMS, headers=nrps_only)
    assert response.status_code == 403
    score_only = bearer(client, tool_keys, [SCOPE_SCORE])
    response = client.post(
        LINEITEMS, json={"label": "x", "scoreMaximum": 1}, headers=score_only
    )
    assert response.status_code == 403


def test_ags_round_trip(client: FlaskClient, tool_keys: ToolKeys) -> None:
    auth = bearer(client, tool_keys)
    created = client.post(
        LINEITEMS,
        json={
            "label": "Tier 1 post",
            "scoreMaximum": 10,
            "tag": "post",
            "resourceId": "tier1",
            "resourceLinkId": "rl-career-path",
        },
        headers={**auth, "Content-Type": "application/vnd.ims.lis.v2.lineitem+json"},
    )
    assert created.status_code == 201, created.text
    assert created.mimetype == "application/vnd.ims.lis.v2.lineitem+json"
    item = created.get_json()
    assert item["id"].startswith(f"{BASE}{LINEITEMS}/")
    path = urlsplit(item["id"]).path

    other = client.post(
        LINEITEMS,
        json={"label": "Other", "scoreMaximum": 5, "tag": "pre"},
        headers=auth,
    )
    assert other.status_code == 201

    listed = client.get(LINEITEMS, query_string={"tag": "post"}, headers=auth)
    assert listed.mimetype == "application/vnd.ims.lis.v2.lineitemcontainer+json"
    assert [i["id"] for i in listed.get_json()] == [item["id"]]
    by_link = client.get(
        LINEITEMS, query_string={"resource_link_id": "rl-career-path"}, headers=auth
    )
    assert [i["label"] for i in by_link.get_json()] == ["Tier 1 post"]

    page1 = client.get(LINEITEMS, query_string={"limit": 1}, headers=auth)
    assert len(page1.get_json()) == 1
    match = re.match(r'<([^>]+)>; rel="next"', page1.headers["Link"])
    assert match
    page2 = client.get(match.group(1).removeprefix(BASE), headers=auth)
    assert [i["label"] for i in page2.get_json()] == ["Other"]
    assert "Link" not in page2.headers

    # the resource link launch now advertises this line item
    claims, _ = launch(client)
    assert claims[AGS_CLAIM]["lineitem"] == item["id"]

    posted = client.post(
        f"{path}/scores",
        json=score(),
        headers={**auth, "Content-Type": "application/vnd.ims.lis.v1.score+json"},
    )
    assert posted.status_code == 204, posted.text
    assert posted.headers["X-Devlms-Score"] == "stored"
    client.post(
        f"{path}/scores", json=score("devlms-user-learner2", scoreGiven=3), headers=auth
    )

    older = client.post(
        f"{path}/scores",
        json=score(scoreGiven=1, timestamp="2026-01-09T10:00:00+00:00"),
        headers=auth,
    )
    assert older.headers["X-Devlms-Score"] == "ignored-older-timestamp"

    results = client.get(f"{path}/results", headers=auth)
    assert results.mimetype == "application/vnd.ims.lis.v2.resultcontainer+json"
    by_user = {r["userId"]: r for r in results.get_json()}
    assert by_user["devlms-user-learner1"]["resultScore"] == 8
    assert by_user["devlms-user-learner1"]["resultMaximum"] == 10
    assert by_user["devlms-user-learner1"]["comment"] == "Good work"
    assert by_user["devlms-user-learner1"]["scoreOf"] == item["id"]
    filtered = client.get(
        f"{path}/results",
        query_string={"user_id": "devlms-user-learner2"},
        headers=auth,
    )
    assert [r["resultScore"] for r in filtered.get_json()] == [3]
    paged = client.get(f"{path}/results", query_string={"limit": 1}, headers=auth)
    assert len(paged.get_json()) == 1
    assert 'rel="next"' in paged.headers["Link"]

    updated = client.put(
        path, json={"label": "Tier 1 post (v2)", "scoreMaximum": 10}, headers=auth
    )
    assert updated.status_code == 200
    assert updated.get_json()["resourceLinkId"] == "rl-career-path"
    assert client.get(path, headers=auth).get_json()["label"] == "Tier 1 post (v2)"

    state = client.get("/api/state").get_json()
    (entry,) = [li for li in state["lineitems"] if li["id"] == item["id"]]
    assert {s["userId"] for s in entry["scores"]} == {
        "devlms-user-learner1",
        "devlms-user-learner2",
    }
    assert "Ana Morales" in client.get("/gradebook").text

    assert client.delete(path, headers=auth).status_code == 204
    assert client.get(path, headers=auth).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        score(userId="devlms-user-nobody"),
        score(scoreMaximum=None),
        score(activityProgress="Done"),
        score(gradingProgress="Graded"),
        score(timestamp="yesterday"),
        score(timestamp="2026-01-10T10:00:00"),
        score(timestamp=None),
        score(scoreGiven="eight"),
        score(scoreGiven=-1),
        ["not", "an", "object"],
    ],
)
def test_ags_rejects_malformed_scores(
    client: FlaskClient, tool_keys: ToolKeys, body: Any
) -> None:
    auth = bearer(client, tool_keys)
    item = client.post(
        LINEITEMS, json={"label": "x", "scoreMaximum": 10}, headers=auth
    ).get_json()
    response = client.post(
        f"{urlsplit(item['id']).path}/scores", json=body, headers=auth
    )
    assert response.status_code == 400
    assert response.get_json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        {"scoreMaximum": 10},
        {"label": "x"},
        {"label": "x", "scoreMaximum": 0},
        {"label": "x", "scoreMaximum": 1, "resourceLinkId": "rl-nope"},
    ],
)
def test_ags_rejects_malformed_lineitems(
    client: FlaskClient, tool_keys: ToolKeys, body: dict[str, Any]
) -> None:
    response = client.post(LINEITEMS, json=body, headers=bearer(client, tool_keys))
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_score_without_score_given_is_accepted(
    client: FlaskClient, tool_keys: ToolKeys
) -> None:
    auth = bearer(client, tool_keys)
    item = client.post(
        LINEITEMS, json={"label": "Evidence", "scoreMaximum": 10}, headers=auth
    ).get_json()
    body = score(
        scoreGiven=None,
        scoreMaximum=None,
        activityProgress="Submitted",
        gradingProgress="PendingManual",
    )
    response = client.post(
        f"{urlsplit(item['id']).path}/scores", json=body, headers=auth
    )
    assert response.status_code == 204


# -- NRPS ---------------------------------------------------------------------
def test_nrps_lists_all_members(client: FlaskClient, tool_keys: ToolKeys) -> None:
    response = client.get(MEMBERSHIPS, headers=bearer(client, tool_keys, [SCOPE_NRPS]))
    assert response.status_code == 200
    assert (
        response.mimetype == "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
    )
    body = response.get_json()
    assert body["context"] == {
        "id": "course-ccc-101",
        "label": "CCC101",
        "title": "Contact Centre Careers 101",
    }
    members = {m["user_id"]: m for m in body["members"]}
    assert set(members) == {
        f"devlms-user-{u}"
        for u in ("learner1", "learner2", "learner3", "instructor", "admin")
    }
    carla = members["devlms-user-learner3"]
    assert carla["name"] == "Carla Nguyen"
    assert carla["status"] == "Active"
    assert carla["email"]
    assert carla["given_name"] == "Carla"


def test_nrps_role_filter_and_paging(client: FlaskClient, tool_keys: ToolKeys) -> None:
    auth = bearer(client, tool_keys, [SCOPE_NRPS])
    learners = client.get(
        MEMBERSHIPS, query_string={"role": "Learner"}, headers=auth
    ).get_json()
    assert len(learners["members"]) == 3
    page = client.get(MEMBERSHIPS, query_string={"limit": 2}, headers=auth)
    assert len(page.get_json()["members"]) == 2
    seen = [m["user_id"] for m in page.get_json()["members"]]
    while "Link" in page.headers:
        url = re.match(r'<([^>]+)>; rel="next"', page.headers["Link"]).group(1)  # type: ignore[union-attr]
        page = client.get(url.removeprefix(BASE), headers=auth)
        seen += [m["user_id"] for m in page.get_json()["members"]]
    assert len(seen) == 5
    assert len(set(seen)) == 5
    assert (
        client.get(
            MEMBERSHIPS, headers=bearer(client, tool_keys, [SCOPE_SCORE])
        ).status_code
        == 403
    )


# -- pages --------------------------------------------------------------------
def test_pages_render(client: FlaskClient) -> None:
    assert "My career path (tierpath)" in client.get("/").text
    client.post("/switch-user", data={"user": "instructor"})
    home = client.get("/").text
    assert "Add content from tierpath (Deep Linking)" in home
    frame = client.get("/course/launch/rl-career-path").text
    assert 'src="/launch/rl-career-path?user=instructor&amp;storage=parent"' in frame
    assert "Open in new window" in frame
    assert client.get("/course/deep-link").status_code == 200
    assert "Carla Nguyen" in client.get("/roster").text
    assert client.get("/gradebook").status_code == 200
