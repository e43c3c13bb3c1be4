"""LTI Dynamic Registration 1.0, platform side.

Flow (as in Canvas and Moodle): an administrator gives devlms the tool's
*registration URL*; devlms opens it in an iframe with the query parameters
``openid_configuration`` (the platform's OpenID configuration URL) and
``registration_token`` (single use, short-lived).  The tool fetches the
configuration, POSTs its client metadata to ``registration_endpoint`` with
``Authorization: Bearer <registration_token>``, gets back its ``client_id`` and
``deployment_id``, and finally posts ``{subject: "org.imsglobal.lti.close"}``
to the parent window.  devlms then shows the new client id.

Routes:

``GET  /.well-known/openid-configuration``               platform configuration
``GET  /dynamic-registration/<id>/openid-configuration``  same, per registration
                                                          (used for faults)
``POST /lti/registrations``                              registration endpoint
``POST /api/dynamic-registration``                        start one (JSON, tests)
``GET  /api/dynamic-registration/<id>``                   its status (JSON)
``GET  /admin/tools``, ``POST /admin/tools/register``     admin pages

devlms is stricter than the specification where that catches tool bugs:
unknown scopes are refused instead of dropped, every URL must be https (plain
http only on loopback hosts), login/redirect/target URLs must be on the
declared ``domain``, and the tool only gets the optional identity claims
(``name``, ``given_name``, ``family_name``, ``email``) it lists in ``claims``.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, render_template, request, url_for

from .services import (
    ADVANTAGE_SCOPES,
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_NRPS,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    PendingRegistration,
    ResourceLink,
    ServiceError,
)
from .state import DevLms, DevLmsConfig, get_devlms
from .tools import (
    DEEP_LINKING_REQUEST,
    RESOURCE_LINK_REQUEST,
    SUBMISSION_REVIEW_REQUEST,
    SUPPORTED_MESSAGES,
    ToolRegistration,
    add_query,
    host_matches,
    is_secure_or_loopback,
    origin_of,
)
from .views import current_user

registration = Blueprint("devlms_registration", __name__)

PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
CLOSE_SUBJECT = "org.imsglobal.lti.close"
DEVLMS_VERSION = "0.1"
OPTIONAL_IDENTITY_CLAIMS = ("name", "given_name", "family_name", "email")
FAULTS = {
    # openid configuration whose issuer is not the devlms issuer (DR §3.5.1):
    # a tool must refuse to register.
    "issuer-mismatch": "https://issuer-mismatch.invalid",
}


class RegistrationError(Exception):
    """A refused registration request (RFC 7591 error code + description)."""

    def __init__(
        self, description: str, error: str = "invalid_client_metadata"
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class RegistrationStart:
    """What a test needs to drive a registration headlessly."""

    registration_id: str
    openid_configuration: str
    registration_token: str
    expires_in: float
    start_url: str | None

    def as_json(self, config: DevLmsConfig) -> dict[str, Any]:
        return {
            "registration_id": self.registration_id,
            "openid_configuration": self.openid_configuration,
            "registration_token": self.registration_token,
            "expires_in": self.expires_in,
            "registration_endpoint": config.registration_endpoint,
            "start_url": self.start_url,
            "status_url": f"{config.base}/api/dynamic-registration/"
            f"{self.registration_id}",
        }


# -- platform configuration -----------------------------------------------------
def openid_configuration(
    config: DevLmsConfig, issuer: str | None = None
) -> dict[str, Any]:
    """The platform's OpenID configuration (DR 1.0 §3.4)."""
    return {
        "issuer": issuer or config.issuer_url,
        "authorization_endpoint": config.auth_login_url,
        "token_endpoint": config.token_url,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "jwks_uri": config.jwks_url,
        "registration_endpoint": config.registration_endpoint,
        "scopes_supported": [
            "openid",
            SCOPE_LINEITEM,
            SCOPE_LINEITEM_READONLY,
            SCOPE_RESULT_READONLY,
            SCOPE_SCORE,
            SCOPE_NRPS,
        ],
        "response_types_supported": ["id_token"],
        "response_modes_supported": ["form_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": [
            "iss",
            "sub",
            "aud",
            "azp",
            "exp",
            "iat",
            "nonce",
            *OPTIONAL_IDENTITY_CLAIMS,
        ],
        PLATFORM_CONFIGURATION: {
            "product_family_code": "devlms",
            "version": DEVLMS_VERSION,
            "messages_supported": [
                {"type": RESOURCE_LINK_REQUEST},
                {"type": DEEP_LINKING_REQUEST, "placements": ["ContentArea"]},
                {"type": SUBMISSION_REVIEW_REQUEST},
            ],
            "variables": [],
        },
    }


# -- starting a registration ------------------------------------------------------
def check_registration_url(url: str) -> str:
    """The tool's registration URL: absolute, https (http only on loopback)."""
    url = url.strip()
    if not url or not is_secure_or_loopback(url):
        raise ServiceError(
            "registration URL must be an absolute https URL (http only on loopback)"
        )
    if urlsplit(url).fragment:
        raise ServiceError("registration URL must not have a fragment")
    return url


def start_registration(
    devlms: DevLms, registration_url: str | None = None, fault: str | None = None
) -> RegistrationStart:
    """Start a Dynamic Registration: new single-use token, config URL, start URL.

    In-process tests may call this directly (``get_devlms(app)``); over HTTP
    use ``POST /api/dynamic-registration``.
    """
    cfg = devlms.config
    if fault is not None and fault not in FAULTS:
        raise ServiceError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
    if registration_url is not None:
        registration_url = check_registration_url(registration_url)
    pending = devlms.store.new_registration(registration_url, fault)
    if fault is None:
        config_url = cfg.openid_configuration_url
    else:
        config_url = (
            f"{cfg.base}/dynamic-registration/{pending.id}/openid-configuration"
        )
    start_url = None
    if registration_url is not None:
        start_url = add_query(
            registration_url,
            {"openid_configuration": config_url, "registration_token": pending.token},
        )
    return RegistrationStart(
        registration_id=pending.id,
        openid_configuration=config_url,
        registration_token=pending.token,
        expires_in=cfg.registration_token_ttl,
        start_url=start_url,
    )


def registration_status(devlms: DevLms, pending: PendingRegistration) -> dict[str, Any]:
    if pending.client_id is not None:
        status = "registered"
    elif pending.expired(devlms.config.registration_token_ttl):
        status = "expired"
    else:
        status = "pending"
    tool = devlms.tool(pending.client_id) if pending.client_id else None
    return {
        "registration_id": pending.id,
        "status": status,
        "registration_url": pending.registration_url,
        "client_id": pending.client_id,
        "deployment_id": tool.deployment_id if tool else None,
        "resource_link_id": pending.resource_link_id,
        "tool": tool.summary() if tool else None,
    }


# -- validating a registration request ---------------------------------------------
def _string(data: dict[str, Any], key: str, what: str | None = None) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RegistrationError(f"{what or key} is required and must be a string")
    return value


def _string_list(data: dict[str, Any], key: str, what: str | None = None) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RegistrationError(f"{what or key} must be a list of strings")
    return list(value)


def _tool_url(value: Any, what: str, domains: list[str], error: str = "") -> str:
    code = error or "invalid_client_metadata"
    if not isinstance(value, str) or not value:
        raise RegistrationError(f"{what} is required and must be a URL", code)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RegistrationError(f"{what} must be an absolute URL: {value!r}", code)
    if not is_secure_or_loopback(value):
        raise RegistrationError(
            f"{what} must use https (http only on loopback): {value!r}", code
        )
    if parts.fragment:
        raise RegistrationError(f"{what} must not have a fragment: {value!r}", code)
    if domains and not any(host_matches(value, d) for d in domains):
        raise RegistrationError(
            f"{what} is not on the tool's domain {domains[0]!r}: {value!r}", code
        )
    return value


def _custom(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise RegistrationError(f"{what} must be an object of strings")
    return dict(value)


def _domain(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RegistrationError(f"{what} is required and must be a string")
    if "/" in value or "@" in value or value != value.strip():
        raise RegistrationError(f"{what} must be a host name (with optional port)")
    return value.lower()


def _messages(value: Any, domains: list[str]) -> list[dict[str, Any]]:
    """Supported messages of the request (unsupported types are left out)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        raise RegistrationError(
            f"{TOOL_CONFIGURATION}.messages must be a list of objects"
        )
    accepted = []
    for message in value:
        kind = message.get("type")
        if not isinstance(kind, str) or not kind:
            raise RegistrationError("every message needs a type")
        if kind not in SUPPORTED_MESSAGES:
            continue
        if message.get("target_link_uri") is not None:
            _tool_url(message["target_link_uri"], f"{kind} target_link_uri", domains)
        _custom(message.get("custom_parameters"), f"{kind} custom_parameters")
        if message.get("placements") is not None:
            _string_list(message, "placements", f"{kind} placements")
        if message.get("roles") is not None:
            _string_list(message, "roles", f"{kind} roles")
        accepted.append(message)
    return accepted


def validate_registration_request(
    body: Any, *, client_id: str, deployment_id: str
) -> tuple[ToolRegistration, ResourceLink, dict[str, Any]]:
    """Check a tool's registration request; return the tool, its link, the reply."""
    if not isinstance(body, dict):
        raise RegistrationError("the registration request must be a JSON object")
    if body.get("application_type") != "web":
        raise RegistrationError("application_type must be 'web'")
    if "id_token" not in (body.get("response_types") or []):
        raise RegistrationError("response_types must include 'id_token'")
    grant_types = body.get("grant_types") or []
    if not isinstance(grant_types, list) or not {
        "implicit",
        "client_credentials",
    }.issubset(grant_types):
        raise RegistrationError(
            "grant_types must include 'implicit' and 'client_credentials'"
        )
    if body.get("token_endpoint_auth_method") != "private_key_jwt":
        raise RegistrationError("token_endpoint_auth_method must be 'private_key_jwt'")
    client_name = _string(body, "client_name")

    config = body.get(TOOL_CONFIGURATION)
    if not isinstance(config, dict):
        raise RegistrationError(
            f"{TOOL_CONFIGURATION} is required and must be an object"
        )
    domains = [_domain(config.get("domain"), f"{TOOL_CONFIGURATION}.domain")]
    if config.get("secondary_domains") is not None:
        domains += [
            _domain(d, "secondary_domains")
            for d in _string_list(config, "secondary_domains")
        ]

    login = _tool_url(body.get("initiate_login_uri"), "initiate_login_uri", domains)
    redirect_uris = body.get("redirect_uris")
    if not isinstance(redirect_uris, list) or not redirect_uris:
        raise RegistrationError(
            "redirect_uris must be a non-empty list", "invalid_redirect_uri"
        )
    redirect_uris = [
        _tool_url(uri, "redirect_uri", domains, "invalid_redirect_uri")
        for uri in redirect_uris
    ]
    jwks_uri = _tool_url(body.get("jwks_uri"), "jwks_uri", [])
    target = _tool_url(
        config.get("target_link_uri"), f"{TOOL_CONFIGURATION}.target_link_uri", domains
    )

    scope = body.get("scope", "")
    if not isinstance(scope, str):
        raise RegistrationError("scope must be a space-separated string")
    scopes = scope.split()
    unknown = [s for s in scopes if s not in ADVANTAGE_SCOPES]
    if unknown:
        raise RegistrationError(f"unsupported scope(s): {' '.join(unknown)}")
    claims = _string_list(config, "claims") if "claims" in config else []
    custom = _custom(config.get("custom_parameters"), "custom_parameters")
    messages = _messages(config.get("messages"), domains)

    def message(kind: str) -> dict[str, Any] | None:
        return next((m for m in messages if m.get("type") == kind), None)

    deep_link = message(DEEP_LINKING_REQUEST)
    review = message(SUBMISSION_REVIEW_REQUEST)
    resource = message(RESOURCE_LINK_REQUEST)
    tool = ToolRegistration(
        client_id=client_id,
        deployment_id=deployment_id,
        name=client_name,
        initiate_login_uri=login,
        redirect_uris=redirect_uris,
        jwks_uri=jwks_uri,
        target_link_uri=target,
        domains=domains,
        deep_link_uri=(deep_link.get("target_link_uri") or target)
        if deep_link
        else None,
        submission_review_uri=(review.get("target_link_uri") or target)
        if review
        else None,
        scopes=sorted(set(scopes)),
        claims=claims,
        custom=custom,
        messages=messages,
        dynamic=True,
        registered_at=time.time(),
    )
    label = resource.get("label") if resource else None
    link = ResourceLink(
        id="rl-" + secrets.token_hex(6),
        title=label if isinstance(label, str) and label else client_name,
        url=(resource.get("target_link_uri") or "") if resource else "",
        custom=_custom(resource.get("custom_parameters"), "custom_parameters")
        if resource
        else {},
        tool=client_id,
    )
    reply = {
        **body,
        "client_id": client_id,
        "scope": " ".join(tool.scopes),
        TOOL_CONFIGURATION: {
            **config,
            "messages": messages,
            "deployment_id": deployment_id,
        },
    }
    return tool, link, reply


# -- HTTP -------------------------------------------------------------------------
def _json(data: Any, status: int = 200) -> Response:
    response = Response(json.dumps(data), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(error: str, description: str, status: int = 400) -> Response:
    response = _json({"error": error, "error_description": description}, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = (
            f'Bearer error="invalid_token", error_description="{description}"'
        )
    return response


@registration.get("/.well-known/openid-configuration")
def openid_configuration_document() -> Response:
    return _json(openid_configuration(get_devlms().config))


@registration.get("/dynamic-registration/<registration_id>/openid-configuration")
def registration_openid_configuration(registration_id: str) -> Response:
    devlms = get_devlms()
    pending = devlms.store.get_registration(registration_id)
    if pending is None:
        return _error("not_found", f"unknown registration {registration_id}", 404)
    issuer = FAULTS.get(pending.fault or "")
    return _json(openid_configuration(devlms.config, issuer))


@registration.post("/lti/registrations")
def register_tool() -> Response:
    """The registration endpoint: a tool POSTs its client metadata here."""
    devlms = get_devlms()
    ttl = devlms.config.registration_token_ttl
    parts = request.headers.get("Authorization", "").split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return _error("invalid_token", "a Bearer registration_token is required", 401)
    token = parts[1]
    try:
        devlms.store.check_registration_token(token, ttl)
    except ServiceError as exc:
        return _error("invalid_token", exc.message, 401)
    if not request.is_json:
        return _error(
            "invalid_client_metadata", "Content-Type must be application/json"
        )
    body = request.get_json(silent=True)
    client_id = "devlms-" + secrets.token_hex(8)
    deployment_id = "devlms-deployment-" + secrets.token_hex(4)
    try:
        tool, link, reply = validate_registration_request(
            body, client_id=client_id, deployment_id=deployment_id
        )
    except RegistrationError as exc:
        return _error(exc.error, exc.description)
    try:
        devlms.store.complete_registration(token, ttl, tool, link)
    except ServiceError as exc:  # used or expired meanwhile
        return _error("invalid_token", exc.message, 401)
    return _json(reply)


@registration.post("/api/dynamic-registration")
def api_start_registration() -> Response:
    """Start a registration without a browser (tests, scripts).

    Body (optional JSON): ``registration_url`` (gives ``start_url``) and
    ``fault`` (``issuer-mismatch``).
    """
    devlms = get_devlms()
    body = request.get_json(silent=True) if request.data else {}
    if not isinstance(body, dict):
        return _error("invalid_request", "body must be a JSON object")
    url = body.get("registration_url")
    fault = body.get("fault")
    if url is not None and not isinstance(url, str):
        return _error("invalid_request", "registration_url must be a string")
    if fault is not None and not isinstance(fault, str):
        return _error("invalid_request", "fault must be a string")
    try:
        started = start_registration(devlms, url, fault)
    except ServiceError as exc:
        return _error("invalid_request", exc.message, exc.status)
    return _json(started.as_json(devlms.config), 201)


@registration.get("/api/dynamic-registration/<registration_id>")
def api_registration_status(registration_id: str) -> Response:
    devlms = get_devlms()
    pending = devlms.store.get_registration(registration_id)
    if pending is None:
        return _error("not_found", f"unknown registration {registration_id}", 404)
    return _json(registration_status(devlms, pending))


# -- admin pages ------------------------------------------------------------------
def _admin_page(message: str | None = None, status: int = 200) -> Response:
    devlms = get_devlms()
    html = render_template(
        "admin_tools.html",
        title="Tools",
        tools=devlms.tools(),
        user=current_user(),
        message=message,
        openid_configuration_url=devlms.config.openid_configuration_url,
    )
    return Response(html, status=status, mimetype="text/html")


def _require_admin() -> Response | None:
    user = current_user()
    if user is None or not user.is_admin:
        return Response(
            "Only administrators manage tools: choose the admin user on the course page.\n",
            status=403,
            mimetype="text/plain",
        )
    return None


@registration.get("/admin/tools")
def admin_tools() -> Response:
    refused = _require_admin()
    return refused or _admin_page()


@registration.post("/admin/tools/register")
def admin_register_tool() -> Response:
    refused = _require_admin()
    if refused:
        return refused
    devlms = get_devlms()
    try:
        started = start_registration(
            devlms, request.form.get("registration_url", ""), None
        )
    except ServiceError as exc:
        return _admin_page(exc.message, 400)
    assert started.start_url is not None
    html = render_template(
        "dynamic_registration.html",
        title="Register a tool",
        user=current_user(),
        start_url=started.start_url,
        tool_origin=origin_of(started.start_url),
        registration_id=started.registration_id,
        status_url=url_for(
            "devlms_registration.api_registration_status",
            registration_id=started.registration_id,
        ),
        close_subject=CLOSE_SUBJECT,
    )
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response
