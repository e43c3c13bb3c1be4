"""lti1p3platform glue: platform keys, the tool's JWKS, JWT checks and launches.

``lti1p3platform`` does the platform-side LTI work (registration, id_token
building and RS256 signing with ``kid``, access-token issuing, deep-linking
response parsing).  It is lax about several checks, so this module makes it
stricter:

* tool JWTs (client assertions, deep-linking responses) are verified with
  RS256 only, a required ``kid``, required ``exp``/``iat`` and an explicit
  audience; the tool JWKS is fetched with timeouts, cached briefly and
  refetched once when an unknown ``kid`` shows up;
* the platform key is generated on first start and, when a data directory is
  configured, persisted there as a 0600 PEM file.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.registration import Registration

JwksFetcher = Callable[[str], dict[str, Any]]

HTTP_TIMEOUT = (3.05, 10.0)
JWKS_CACHE_SECONDS = 60.0
CLOCK_LEEWAY_SECONDS = 30
KEY_FILE_NAME = "platform_private_key.pem"
DEEP_LINKING_SETTINGS_CLAIM = (
    "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
)


class JwtValidationError(Exception):
    """A tool-signed JWT failed verification (message is safe to show)."""


# -- platform key ---------------------------------------------------------
def generate_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_pem_from_private(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), None)
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode("ascii")
    )


def load_or_create_private_key(data_dir: Path | None) -> str:
    """Return the platform key PEM, persisting a new one (0600) in data_dir."""
    if data_dir is None:
        return generate_private_key_pem()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        return path.read_text(encoding="ascii")
    pem = generate_private_key_pem()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(pem)
    return pem


class PlatformKey:
    """The platform signing key with its public JWK (computed once)."""

    def __init__(self, private_pem: str) -> None:
        self.private_pem = private_pem
        # Loaded once: parsing an RSA PEM costs ~35 ms (key checks), and PyJWT
        # signs with a key object as readily as with PEM text.
        self.private_key = serialization.load_pem_private_key(
            private_pem.encode("ascii"), None
        )
        self.public_pem = public_pem_from_private(private_pem)
        self.jwk: dict[str, Any] = Registration.get_jwk(self.public_pem)
        self.kid: str = self.jwk["kid"]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk]}


# -- tool JWKS --------------------------------------------------------------
def fetch_jwks_over_http(url: str) -> dict[str, Any]:
    """Default JWKS fetcher: GET with timeouts, JSON object required."""
    response = requests.get(url, timeout=HTTP_TIMEOUT)
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError("JWKS must be a JSON object with a 'keys' list")
    return data


class ToolJwksCache:
    """Briefly cached tool JWKS that refetches once on an unknown ``kid``."""

    def __init__(self, url: Callable[[], str], fetcher: JwksFetcher | None) -> None:
        self._url = url
        self._fetcher = fetcher or fetch_jwks_over_http
        self._lock = threading.Lock()
        self._jwks: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self.fetches = 0

    def _refresh(self) -> dict[str, Any]:
        url = self._url()
        try:
            jwks = self._fetcher(url)
        except (requests.RequestException, ValueError) as exc:
            raise JwtValidationError(
                f"could not fetch tool JWKS from {url}: {exc}"
            ) from exc
        self._jwks = jwks
        self._fetched_at = time.monotonic()
        self.fetches += 1
        return jwks

    @staticmethod
    def _find(jwks: dict[str, Any], kid: str) -> dict[str, Any] | None:
        for key in jwks.get("keys", []):
            if isinstance(key, dict) and key.get("kid") == kid:
                return key
        return None

    def key_set(self) -> dict[str, Any]:
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if self._jwks is None or age > JWKS_CACHE_SECONDS:
                return self._refresh()
            return self._jwks

    def get_key(self, kid: str) -> dict[str, Any]:
        """Key for ``kid``; refetch the JWKS once if the cached copy lacks it."""
        with self._lock:
            fresh = time.monotonic() - self._fetched_at <= JWKS_CACHE_SECONDS
            if self._jwks is not None and fresh:
                key = self._find(self._jwks, kid)
                if key is None:
                    key = self._find(self._refresh(), kid)
            else:
                key = self._find(self._refresh(), kid)
        if key is None:
            raise JwtValidationError(f"no key with kid {kid!r} in the tool JWKS")
        return key


def verify_tool_jwt(
    token: str,
    jwks: ToolJwksCache,
    *,
    audience: str,
    required: tuple[str, ...] = ("exp", "iat", "iss", "aud"),
) -> dict[str, Any]:
    """Verify a tool-signed JWT strictly and return its claims."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise JwtValidationError(f"malformed JWT: {exc}") from exc
    if header.get("alg") != "RS256":
        raise JwtValidationError("JWT alg must be RS256")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JwtValidationError("JWT header has no kid")
    jwk = jwks.get_key(kid)
    if jwk.get("alg", "RS256") != "RS256":
        raise JwtValidationError(f"tool key {kid!r} is not an RS256 key")
    try:
        key = jwt.PyJWK(jwk, algorithm="RS256").key
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=audience,
            leeway=CLOCK_LEEWAY_SECONDS,
            options={"require": list(required)},
        )
    except jwt.PyJWTError as exc:
        raise JwtValidationError(f"JWT rejected: {exc}") from exc
    return claims


# -- lti1p3platform subclasses -----------------------------------------------
class DevLmsRegistration(Registration):  # type: ignore[misc]
    """Registration whose ``kid`` is computed once, not per signature."""

    def __init__(self, key: PlatformKey) -> None:
        self._key = key

    def get_kid(self) -> str:
        return self._key.kid


class DevLmsPlatformConf(LTI1P3PlatformConfAbstract):  # type: ignore[misc]
    """Platform configuration for one request.

    Built per request (the library keeps per-call JWT state on the instance);
    tool JWTs are verified via :func:`verify_tool_jwt` against ``audience``.
    """

    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]
        self._tool_jwks: ToolJwksCache = kwargs["tool_jwks"]
        self.audience: str = kwargs["audience"]
        self.verified_claims: dict[str, Any] = {}

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration

    def get_tool_key_set(self) -> dict[str, Any]:
        return self._tool_jwks.key_set()

    def tool_validate_and_decode(self, jwt_token_string: str) -> dict[str, Any]:
        self.verified_claims = verify_tool_jwt(
            jwt_token_string, self._tool_jwks, audience=self.audience
        )
        return self.verified_claims


class DevLmsMessageLaunch(LTIAdvantageMessageLaunchAbstract):  # type: ignore[misc]
    """id_token builder; renders the auto-submitting form_post response."""

    def __init__(
        self,
        params: dict[str, Any],
        platform_config: DevLmsPlatformConf,
        render: Callable[[dict[str, Any]], str],
    ) -> None:
        super().__init__(_ParamsRequest(params), platform_config)
        self._render = render
        self.deep_linking_claim: dict[str, Any] | None = None

    def generate_launch_request(self) -> Any:
        if self.deep_linking_claim is not None:
            # The library's DL claim hard-codes presentation targets and a dict
            # `data`; send exactly the settings devlms promises instead.
            self.set_extra_claims(
                {
                    "https://purl.imsglobal.org/spec/lti/claim/message_type": (
                        "LtiDeepLinkingRequest"
                    ),
                    DEEP_LINKING_SETTINGS_CLAIM: self.deep_linking_claim,
                }
            )
        return super().generate_launch_request()

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> str:
        return self._render(launch_data)


class _ParamsRequest:
    """Minimal stand-in for lti1p3platform's Request (only get_data is read)."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.get_data = params
        self.form_data: dict[str, Any] = {}
