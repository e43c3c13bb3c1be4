"""LTI Dynamic Registration 1.0, tool side, held for an administrator's approval.

An LMS administrator pastes tierpath's registration URL (/lti/register) into
the LMS; the LMS opens it with `openid_configuration` (where its configuration
is) and `registration_token` (a one-time bearer token). tierpath then:

1. fetches the configuration through the SSRF guard (netguard) and checks it:
   required endpoints, every URL public https, and the configuration URL on
   the issuer's origin (DR §3.5.1);
2. POSTs its own client registration to the LMS's `registration_endpoint`;
3. stores the platform, with the client id and deployment id the LMS gave,
   *pending*: logins and launches are refused until an administrator approves.

Every failure is a Refused: 400 for what the link or the LMS's configuration
gets wrong, 502 when the LMS cannot be reached or answers unusably. Nothing is
stored unless the LMS accepted the registration.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import orm

from lti_tool.db.models import Platform
from lti_tool.errors import Refused
from lti_tool.lti.launch import DEEP_LINKING, RESOURCE_LINK, SUBMISSION_REVIEW
from lti_tool.lti.origin import origin_of
from lti_tool.netguard import (
    Fetched,
    FetchError,
    GuardedSession,
    UnsafeDestination,
    check_url,
)
from lti_tool.services import platforms as platform_service

PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
CLOSE_SUBJECT = "org.imsglobal.lti.close"
MAX_ANSWER_BYTES = 256 * 1024

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
TOOL_SCOPES = (SCOPE_LINEITEM, SCOPE_SCORE, SCOPE_RESULT, SCOPE_NRPS)
TOOL_CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "email")
CLIENT_NAME = "tierpath"

_REQUIRED_ENDPOINTS = (
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "registration_endpoint",
)
# A bearer token goes into an HTTP header: visible ASCII only.
_TOKEN = re.compile(r"^[\x21-\x7e]{1,4096}$")
_RESTART = (
    "Start the registration again from your LMS. If it keeps failing, register"
    " tierpath by hand on tierpath's admin page."
)


@dataclass(frozen=True)
class PlatformConfiguration:
    """The parts of an LMS's OpenID configuration tierpath uses (DR §3.4)."""

    url: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    # Audience of client assertions at the token endpoint, when it is not its URL.
    authorization_server: str | None
    name: str
    # None: the LMS did not say, so tierpath asks for everything it uses.
    messages_supported: frozenset[str] | None
    scopes_supported: frozenset[str] | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class Registered:
    """What the LMS answered to the registration (DR §3.6)."""

    client_id: str
    deployment_id: str | None
    raw: dict[str, Any]


def _bad(code: str, message: str, detail: str | None = None) -> Refused:
    return Refused(400, code, message, hint=_RESTART, detail=detail)


def _broken(code: str, message: str, detail: str | None = None) -> Refused:
    return Refused(502, code, message, hint=_RESTART, detail=detail)


def _host(url: str) -> str:
    return urlsplit(url).netloc or url[:100]


def _fetch(
    http: GuardedSession,
    method: str,
    url: str,
    what: str,
    *,
    headers: dict[str, str],
    json_body: Any = None,
) -> Fetched:
    try:
        return http.fetch(
            method,
            url,
            max_bytes=MAX_ANSWER_BYTES,
            headers=headers,
            json_body=json_body,
        )
    except UnsafeDestination as exc:
        raise _bad(
            "unsafe_platform_address",
            f"tierpath will not contact the LMS's {what}: {exc}.",
            detail=f"url={url[:300]!r}",
        ) from exc
    except FetchError as exc:
        raise _broken(
            "platform_unreachable",
            f"tierpath could not get the LMS's {what} from {_host(url)}: {exc}.",
            detail=f"url={url[:300]!r}",
        ) from exc


def _json_object(fetched: Fetched, url: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(fetched.body)
    except ValueError as exc:  # also UnicodeDecodeError
        raise _broken(
            "malformed_platform_answer",
            f"The LMS's {what} from {_host(url)} is not valid JSON.",
            detail=f"url={url[:300]!r} body={fetched.body[:200]!r}",
        ) from exc
    if not isinstance(data, dict):
        raise _broken(
            "malformed_platform_answer",
            f"The LMS's {what} from {_host(url)} is not a JSON object.",
            detail=f"url={url[:300]!r} body={fetched.body[:200]!r}",
        )
    return data


def _redirect_refused(fetched: Fetched, url: str, what: str) -> Refused:
    location = fetched.headers.get("Location", "")
    return _broken(
        "platform_redirected",
        f"The LMS answered the request for its {what} with a redirect"
        f" (HTTP {fetched.status}{' to ' + location[:200] if location else ''});"
        " tierpath does not follow redirects here.",
        detail=f"url={url[:300]!r} location={location[:300]!r}",
    )


def _auth_headers(token: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def check_request(
    openid_configuration: str | None, registration_token: str | None
) -> tuple[str, str | None]:
    """Check the two query parameters the LMS opened the registration URL with."""
    url = (openid_configuration or "").strip()
    if not url:
        raise _bad(
            "missing_openid_configuration",
            "The registration link has no openid_configuration parameter. Open"
            " tierpath's registration URL from your LMS's tool registration page,"
            " not directly.",
        )
    if len(url) > 2000:
        raise _bad(
            "bad_openid_configuration",
            "The registration link's openid_configuration is too long.",
        )
    token = (registration_token or "").strip() or None
    if token is not None and not _TOKEN.match(token):
        raise _bad(
            "bad_registration_token",
            "The registration link's registration_token is not a usable token.",
        )
    return url, token


def _url_field(
    data: dict[str, Any], name: str, *, allow_loopback: bool, max_length: int = 1000
) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _broken(
            "incomplete_platform_configuration",
            f"The LMS's configuration does not give its {name}.",
        )
    value = value.strip()
    if len(value) > max_length:
        raise _broken(
            "incomplete_platform_configuration",
            f"The LMS's {name} is longer than {max_length} characters.",
        )
    try:
        check_url(value, allow_loopback=allow_loopback)
    except UnsafeDestination as exc:
        raise _bad(
            "unsafe_platform_url",
            f"The LMS's configuration gives an unusable {name}: {exc}.",
        ) from exc
    return value


def _types(value: Any) -> frozenset[str] | None:
    if not isinstance(value, list):
        return None
    types = {
        m["type"]
        for m in value
        if isinstance(m, dict) and isinstance(m.get("type"), str)
    }
    return frozenset(types)


def parse_configuration(
    url: str, data: dict[str, Any], *, allow_loopback: bool
) -> PlatformConfiguration:
    """Check an LMS's OpenID configuration (DR §3.4, §3.5.1) and keep what we use."""
    issuer = _url_field(data, "issuer", allow_loopback=allow_loopback, max_length=500)
    if origin_of(url) != origin_of(issuer):
        raise _bad(
            "issuer_mismatch",
            f"The LMS's configuration names the issuer {issuer[:200]}, but it was"
            f" fetched from {origin_of(url)}. The configuration URL must be on the"
            " issuer's own site (same scheme, host and port; LTI Dynamic"
            " Registration §3.5.1), so tierpath did not register.",
            detail=f"issuer={issuer[:300]!r} openid_configuration={url[:300]!r}",
        )
    endpoints = {
        name: _url_field(data, name, allow_loopback=allow_loopback)
        for name in _REQUIRED_ENDPOINTS
    }
    audience = data.get("authorization_server")
    if not isinstance(audience, str) or not audience.strip() or len(audience) > 1000:
        audience = None
    platform = data.get(PLATFORM_CONFIGURATION)
    platform = platform if isinstance(platform, dict) else {}
    product = platform.get("product_family_code")
    name = product.strip() if isinstance(product, str) and product.strip() else ""
    scopes = data.get("scopes_supported")
    scopes_supported = (
        frozenset(s for s in scopes if isinstance(s, str))
        if isinstance(scopes, list) and scopes
        else None
    )
    return PlatformConfiguration(
        url=url,
        issuer=issuer,
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        jwks_uri=endpoints["jwks_uri"],
        registration_endpoint=endpoints["registration_endpoint"],
        authorization_server=audience.strip() if audience else None,
        name=(name or _host(issuer))[:200],
        messages_supported=_types(platform.get("messages_supported")),
        scopes_supported=scopes_supported,
        raw=data,
    )


def fetch_configuration(
    http: GuardedSession, url: str, token: str | None
) -> PlatformConfiguration:
    """GET the LMS's OpenID configuration and check it."""
    fetched = _fetch(http, "GET", url, "configuration", headers=_auth_headers(token))
    if 300 <= fetched.status < 400:
        raise _redirect_refused(fetched, url, "configuration")
    if fetched.status != 200:
        raise _broken(
            "platform_configuration_unavailable",
            f"The LMS answered HTTP {fetched.status} when tierpath asked"
            f" {_host(url)} for its configuration.",
            detail=f"url={url[:300]!r} body={fetched.body[:200]!r}",
        )
    data = _json_object(fetched, url, "configuration")
    config = parse_configuration(url, data, allow_loopback=http.allow_loopback)
    # tierpath's server calls these (now or after approval): public addresses only.
    for name in _REQUIRED_ENDPOINTS:
        endpoint = getattr(config, name)
        try:
            http.check_destination(endpoint)
        except UnsafeDestination as exc:
            raise _bad(
                "unsafe_platform_address",
                f"The LMS's {name} is not usable: {exc}.",
                detail=f"{name}={endpoint[:300]!r}",
            ) from exc
        except FetchError as exc:
            raise _broken(
                "platform_unreachable",
                f"The LMS's {name} is not reachable: {exc}.",
                detail=f"{name}={endpoint[:300]!r}",
            ) from exc
    return config


def registration_request(origin: str, config: PlatformConfiguration) -> dict[str, Any]:
    """tierpath's client registration (DR §3.5.2), fitted to what the LMS supports."""
    home = origin + "/home"
    messages = [
        {"type": RESOURCE_LINK, "target_link_uri": home},
        # Launches go to the page of their message type, whatever the target.
        {"type": DEEP_LINKING, "target_link_uri": home},
        {"type": SUBMISSION_REVIEW, "target_link_uri": origin + "/grading/review"},
    ]
    if config.messages_supported:
        messages = [m for m in messages if m["type"] in config.messages_supported]
    scopes = [
        s
        for s in TOOL_SCOPES
        if config.scopes_supported is None or s in config.scopes_supported
    ]
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": origin + "/lti/login",
        "redirect_uris": [origin + "/lti/launch"],
        "client_name": CLIENT_NAME,
        "jwks_uri": origin + "/.well-known/jwks.json",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(scopes),
        TOOL_CONFIGURATION: {
            "domain": urlsplit(origin).netloc,
            "target_link_uri": home,
            "claims": list(TOOL_CLAIMS),
            "messages": messages,
        },
    }


def _platform_error(data: bytes) -> str:
    """The RFC 7591 error and description of a refusal, if the LMS sent them."""
    try:
        body = json.loads(data)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [
        str(body[k])[:300]
        for k in ("error", "error_description")
        if isinstance(body.get(k), str) and body[k]
    ]
    return ": ".join(parts)


def _identifier(value: Any, max_length: int) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.strip() and len(value.strip()) <= max_length:
        return value.strip()
    return None


def send_registration(
    http: GuardedSession,
    config: PlatformConfiguration,
    token: str | None,
    body: dict[str, Any],
) -> Registered:
    """POST the registration to the LMS and read its client id and deployment id."""
    url = config.registration_endpoint
    fetched = _fetch(
        http,
        "POST",
        url,
        "registration endpoint",
        headers=_auth_headers(token),
        json_body=body,
    )
    if 300 <= fetched.status < 400:
        raise _redirect_refused(fetched, url, "registration endpoint")
    if 400 <= fetched.status < 500:
        said = _platform_error(fetched.body)
        raise Refused(
            400,
            "registration_refused",
            f"{config.name} refused tierpath's registration (HTTP {fetched.status}"
            f"{': ' + said if said else ''}).",
            hint="A registration link works once and expires after a while: start"
            " the registration again from your LMS.",
            detail=f"url={url[:300]!r} body={fetched.body[:300]!r}",
        )
    if fetched.status not in (200, 201):
        raise _broken(
            "platform_error",
            f"{config.name} failed while registering tierpath (HTTP {fetched.status}).",
            detail=f"url={url[:300]!r} body={fetched.body[:300]!r}",
        )
    data = _json_object(fetched, url, "answer to the registration")
    client_id = _identifier(data.get("client_id"), 500)
    if client_id is None:
        raise _broken(
            "malformed_platform_answer",
            f"{config.name} accepted the registration but did not send a usable"
            " client_id.",
            detail=f"body={fetched.body[:300]!r}",
        )
    tool = data.get(TOOL_CONFIGURATION)
    deployment_id = (
        _identifier(tool.get("deployment_id"), 255) if isinstance(tool, dict) else None
    )
    return Registered(client_id=client_id, deployment_id=deployment_id, raw=data)


def register_tool(
    session: orm.Session,
    http: GuardedSession,
    *,
    openid_configuration: str | None,
    registration_token: str | None,
    origin: str,
    max_pending: int,
    now: datetime,
) -> Platform:
    """Run one Dynamic Registration; return the new platform, pending approval."""
    url, token = check_request(openid_configuration, registration_token)
    pending = platform_service.count_pending(session)
    if pending >= max_pending:
        raise Refused(
            429,
            "too_many_pending_registrations",
            f"{pending} LMS registrations already wait for a tierpath"
            " administrator's approval; no more are accepted until they are"
            " approved or rejected.",
            hint="Ask your tierpath administrator to review the pending"
            " registrations on the admin page, then start again.",
        )
    config = fetch_configuration(http, url, token)
    registered = send_registration(
        http, config, token, registration_request(origin, config)
    )
    if platform_service.find_platform(session, config.issuer, registered.client_id):
        raise Refused(
            409,
            "already_registered",
            f"{config.name} ({config.issuer}) already has a tierpath registration"
            f" with client id {registered.client_id}; tierpath kept the existing"
            " one and stored nothing new.",
            hint="If the LMS shows a second tool now, delete it there. To register"
            " again, remove the old registration in tierpath first.",
            detail=f"iss={config.issuer!r} client_id={registered.client_id!r}",
        )
    data = platform_service.PlatformInput(
        issuer=config.issuer,
        client_id=registered.client_id,
        deployment_ids=(registered.deployment_id,) if registered.deployment_id else (),
        auth_login_url=config.authorization_endpoint,
        token_url=config.token_endpoint,
        jwks_url=config.jwks_uri,
        audience=config.authorization_server,
        name=config.name,
    )
    try:
        return platform_service.add_registered_platform(
            session,
            data,
            registration_json={
                # Without the query: it may carry the one-time token.
                "openid_configuration_url": url.split("?", 1)[0],
                "openid_configuration": config.raw,
                "registration_response": registered.raw,
            },
            now=now,
        )
    except platform_service.RegistrationError as exc:  # lost a race to a twin
        raise Refused(409, "already_registered", str(exc)) from exc
