"""Tool registrations: the built-in tierpath tool and dynamically registered ones.

devlms started with exactly one tool, described by :class:`DevLmsConfig`
(``tool_url``, ``client_id``, ``deployment_id``).  That tool is still derived
from the config on every request (so a test may retarget it), and tools added
through LTI Dynamic Registration 1.0 sit next to it in the store.  Every
launch, token request and deep-linking response is resolved to one
:class:`ToolRegistration` by its ``client_id``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
SUBMISSION_REVIEW_REQUEST = "LtiSubmissionReviewRequest"
SUPPORTED_MESSAGES = (
    RESOURCE_LINK_REQUEST,
    DEEP_LINKING_REQUEST,
    SUBMISSION_REVIEW_REQUEST,
)

LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an absolute URL (lower-cased)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_secure_or_loopback(url: str) -> bool:
    """An absolute https URL, or http on a loopback host."""
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and is_loopback_host(parts.hostname)


def add_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` appended to its query string."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def host_matches(url: str, domain: str) -> bool:
    """True if ``url`` is on ``domain`` (``host`` or ``host:port``)."""
    parts = urlsplit(url)
    domain = domain.lower()
    if ":" in domain and not domain.startswith("["):
        return parts.netloc.lower() == domain
    return (parts.hostname or "") == domain.strip("[]")


@dataclass
class ToolRegistration:
    """What devlms knows about one tool (one client_id, one deployment)."""

    client_id: str
    deployment_id: str
    name: str
    initiate_login_uri: str
    redirect_uris: list[str]
    jwks_uri: str
    target_link_uri: str
    domains: list[str]
    deep_link_uri: str | None = None
    submission_review_uri: str | None = None
    scopes: list[str] = field(default_factory=list)
    # OIDC claims the tool asked for; None = every claim devlms has.
    claims: list[str] | None = None
    custom: dict[str, str] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    # Exact origins accepted in addition to the domains (the built-in tool
    # may live on plain http at a non-loopback host in a demo).
    extra_origins: list[str] = field(default_factory=list)
    dynamic: bool = False
    registered_at: float = 0.0

    @property
    def origins(self) -> list[str]:
        """Origins the tool's pages are served from (login and launch)."""
        seen: list[str] = []
        for url in (self.initiate_login_uri, *self.redirect_uris):
            origin = origin_of(url)
            if origin not in seen:
                seen.append(origin)
        return seen

    def is_tool_url(self, url: str) -> bool:
        """True if ``url`` belongs to this tool (its domains or origins)."""
        if not isinstance(url, str) or not urlsplit(url).hostname:
            return False
        if origin_of(url) in self.extra_origins:
            return True
        return is_secure_or_loopback(url) and any(
            host_matches(url, domain) for domain in self.domains
        )

    def supports(self, message_type: str) -> bool:
        if not self.dynamic:
            return True
        return any(m.get("type") == message_type for m in self.messages)

    def wants_claim(self, claim: str) -> bool:
        return self.claims is None or claim in self.claims

    def summary(self) -> dict[str, Any]:
        """JSON for ``/api/state`` and the admin page."""
        return {
            "client_id": self.client_id,
            "deployment_id": self.deployment_id,
            "name": self.name,
            "initiate_login_uri": self.initiate_login_uri,
            "redirect_uris": list(self.redirect_uris),
            "jwks_uri": self.jwks_uri,
            "target_link_uri": self.target_link_uri,
            "deep_link_uri": self.deep_link_uri,
            "submission_review_uri": self.submission_review_uri,
            "domains": list(self.domains),
            "scopes": list(self.scopes),
            "claims": self.claims,
            "messages": [m.get("type") for m in self.messages],
            "dynamic": self.dynamic,
        }


def tool_from_json(data: dict[str, Any]) -> ToolRegistration:
    """Rebuild a stored registration (``state.json``)."""
    return ToolRegistration(**data)
