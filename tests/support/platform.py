"""An in-process simulated LTI 1.3 platform that signs fresh tokens per test.

It registers itself with the tool, serves its JWKS to the tool's HTTP session
through a requests adapter (counting fetches), and builds login and launch
requests that a test can bend one claim at a time.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from requests.adapters import BaseAdapter

from lti_tool.keys import rsa_public_jwk
from lti_tool.runtime import runtime
from lti_tool.services.platforms import PlatformInput, add_platform

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
LEARNER = [ROLE + "Learner"]
INSTRUCTOR = [ROLE + "Instructor"]
ADMIN = ["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"]

_KEY_POOL: list[rsa.RSAPrivateKey] = []


def pooled_key(index: int) -> rsa.RSAPrivateKey:
    """Return the index-th RSA key of a per-process pool (key generation is slow)."""
    while len(_KEY_POOL) <= index:
        _KEY_POOL.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _KEY_POOL[index]


def register_platform(
    app: Flask, data: PlatformInput, *, if_missing: bool = False
) -> None:
    """Register a platform with the tool in one committed unit of work."""
    rt = runtime(app)
    with rt.session_factory() as session:
        add_platform(session, data, rt.clock(), if_missing=if_missing)
        session.commit()


class _JwksAdapter(BaseAdapter):
    """Serves the platform's JWKS to the tool's requests session."""

    def __init__(self, platform: SimulatedPlatform) -> None:
        super().__init__()
        self.platform = platform

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
        self.platform.jwks_fetches += 1
        response = requests.Response()
        response.url = request.url or ""
        response.request = request
        if self.platform.jwks_down:
            response.status_code = 503
            response._content = b"down"
            return response
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response.headers["Cache-Control"] = self.platform.jwks_cache_control
        response._content = json.dumps(self.platform.jwks()).encode()
        return response

    def close(self) -> None:
        pass


@dataclass
class Login:
    """What the tool's /lti/login handed the platform."""

    state: str
    nonce: str
    redirect_uri: str
    query: dict[str, str]


@dataclass
class SimulatedPlatform:
    """A platform registration plus keys, able to sign launches for the tool."""

    issuer: str = "https://lms.test"
    client_id: str = "tierpath-client"
    deployment_id: str = "deployment-1"
    tool_origin: str = "https://tool.test"
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    jwks_fetches: int = 0
    jwks_down: bool = False
    jwks_cache_control: str = "max-age=300"
    active_kid: str = "platform-key-1"

    def __post_init__(self) -> None:
        if not self.keys:
            self.keys["platform-key-1"] = pooled_key(0)
            self.published.append("platform-key-1")

    @property
    def jwks_url(self) -> str:
        return self.issuer + "/jwks"

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {
            "keys": [
                {
                    **rsa_public_jwk(self.keys[kid].public_key()),
                    "kid": kid,
                    "alg": "RS256",
                    "use": "sig",
                }
                for kid in self.published
            ]
        }

    def rotate(self, kid: str = "platform-key-2", *, publish: bool = True) -> str:
        """Start signing with a new key (published in the JWKS unless told not to)."""
        self.keys[kid] = pooled_key(len(self.keys))
        if publish:
            self.published.append(kid)
        self.active_kid = kid
        return kid

    def install(self, app: Flask) -> None:
        """Register with the tool and serve the JWKS to its HTTP session."""
        register_platform(
            app,
            PlatformInput(
                issuer=self.issuer,
                client_id=self.client_id,
                deployment_ids=(self.deployment_id,),
                auth_login_url=self.issuer + "/auth",
                token_url=self.issuer + "/token",
                jwks_url=self.jwks_url,
            ),
        )
        runtime(app).http.mount(self.issuer + "/", _JwksAdapter(self))

    # -- login -------------------------------------------------------------
    def login_params(self, **overrides: str) -> dict[str, str]:
        params = {
            "iss": self.issuer,
            "login_hint": "user-123",
            "target_link_uri": self.tool_origin + "/home",
            "lti_message_hint": "rl-1",
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def login(self, client: FlaskClient, **overrides: str) -> Login:
        response = client.get("/lti/login", query_string=self.login_params(**overrides))
        assert response.status_code == 302, response.get_data(as_text=True)
        location = response.headers["Location"]
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        return Login(query["state"], query["nonce"], query["redirect_uri"], query)

    # -- launch ------------------------------------------------------------
    def claims(self, nonce: str, now: datetime, **overrides: Any) -> dict[str, Any]:
        iat = int(now.timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "azp": self.client_id,
            "sub": "user-123",
            "iat": iat,
            "exp": iat + 300,
            "nonce": nonce,
            "name": "Ana Morales",
            "given_name": "Ana",
            "family_name": "Morales",
            "email": "ana.morales@example.com",
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": self.deployment_id,
            CLAIM + "target_link_uri": self.tool_origin + "/home",
            CLAIM + "resource_link": {"id": "rl-1", "title": "My career path"},
            CLAIM + "roles": LEARNER,
            CLAIM + "context": {
                "id": "course-1",
                "label": "CCC101",
                "title": "Contact Centre Careers 101",
            },
        }
        for key, value in overrides.items():
            # Short LTI claim names ("roles") stand for their full URIs.
            name = (
                key if key in claims or ":" in key or key in _JWT_NAMES else CLAIM + key
            )
            if value is _DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def sign(
        self,
        claims: dict[str, Any],
        *,
        kid: str | None = None,
        alg: str = "RS256",
        headers: dict[str, Any] | None = None,
    ) -> str:
        kid = kid or self.active_kid
        header = {"kid": kid, **(headers or {})}
        return jwt.encode(claims, self.keys[kid], algorithm=alg, headers=header)

    def launch(
        self, client: FlaskClient, login: Login, id_token: str, **form: str
    ) -> Any:
        data = {"id_token": id_token, "state": login.state, **form}
        return client.post("/lti/launch", data=data)

    def full_launch(
        self, client: FlaskClient, now: datetime, **claim_overrides: Any
    ) -> tuple[Any, Login]:
        login = self.login(client)
        token = self.sign(self.claims(login.nonce, now, **claim_overrides))
        return self.launch(client, login, token), login


_JWT_NAMES = {"iss", "aud", "azp", "sub", "iat", "exp", "nbf", "nonce", "jti"}
_DROP = object()
DROP: Any = _DROP  # pass as a claim value to leave that claim out


def unsigned_token(claims: dict[str, Any], header: dict[str, Any]) -> str:
    """Build an alg=none style token (header.payload.) without a signature."""

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64(header)}.{b64(claims)}."


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    """Return the PEM of a key's public half (for the HS256 confusion attack)."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def launch_id_from(location: str) -> str:
    """Pull the launch id out of the post-launch redirect."""
    return parse_qs(urlsplit(location).query)["launch"][0]
