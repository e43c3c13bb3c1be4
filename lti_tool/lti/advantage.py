"""LTI Advantage services (AGS, NRPS, Deep Linking) through pylti1p3, made safe.

pylti1p3 supplies the message shapes; we supply the registration from the
database, the current tool key, an HTTP session with timeouts, and an access
token cache shared across requests and keyed by issuer, client id, token URL and
scopes (pylti1p3 caches per connector object only, #89).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.registration import Registration
from pylti1p3.service_connector import ServiceConnector

from lti_tool.db.models import Launch, Platform
from lti_tool.errors import Refused
from lti_tool.services.keys import ActiveKey

CLAIM_AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLAIM_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
CLAIM_DL = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
NRPS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
_TOKEN_MARGIN = 30  # seconds before expiry that a cached token is dropped


class ToolRegistration(Registration):
    """A pylti1p3 registration whose key id is our stored thumbprint."""

    def __init__(self, kid: str) -> None:
        super().__init__()
        self._kid = kid

    def get_kid(self) -> str | None:
        return self._kid


def registration_for(platform: Platform, key: ActiveKey) -> ToolRegistration:
    """Build the pylti1p3 registration for a platform, signing with `key`."""
    registration = ToolRegistration(key.kid)
    registration.set_issuer(platform.issuer)
    registration.set_client_id(platform.client_id)
    registration.set_auth_login_url(platform.auth_login_url)
    registration.set_auth_token_url(platform.token_url)
    if platform.audience:
        registration.set_auth_audience(platform.audience)
    registration.set_key_set_url(platform.jwks_url)
    registration.set_tool_private_key(key.private_pem.decode())
    return registration


@dataclass
class _Token:
    value: str
    expires_at: float


class TokenCache:
    """Access tokens by (issuer, client id, token URL, scopes) until shortly before expiry."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str, str, str], _Token] = {}
        self._lock = threading.Lock()
        self.requests_made = 0

    def get(self, key: tuple[str, str, str, str], now: float) -> str | None:
        with self._lock:
            token = self._tokens.get(key)
            if token is None or token.expires_at - _TOKEN_MARGIN <= now:
                return None
            return token.value

    def drop(self, key: tuple[str, str, str, str]) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def put(
        self, key: tuple[str, str, str, str], value: str, expires_at: float
    ) -> None:
        with self._lock:
            self._tokens[key] = _Token(value, expires_at)
            self.requests_made += 1


class CachedTokenConnector(ServiceConnector):
    """pylti1p3's service connector with a shared, expiry-aware token cache."""

    def __init__(
        self, registration: Registration, http: requests.Session, cache: TokenCache
    ) -> None:
        super().__init__(registration, requests_session=http)
        self._cache = cache

    def _key(self, scopes: Any) -> tuple[str, str, str, str]:
        registration = self._registration
        return (
            registration.get_issuer() or "",
            registration.get_client_id() or "",
            registration.get_auth_token_url() or "",
            " ".join(sorted(scopes)),
        )

    def forget_token(self, scopes: Any) -> None:
        """Drop the cached token for `scopes` (the platform said 401)."""
        self._cache.drop(self._key(scopes))

    def get_access_token(self, scopes: Any) -> str:
        registration = self._registration
        key = self._key(scopes)
        _, client_id, token_url, scope = key
        now = time.time()
        cached = self._cache.get(key, now)
        if cached is not None:
            return cached
        # Client assertion: LTI Security Framework §4.1.1 (RFC 7523).
        assertion = jwt.encode(
            {
                "iss": client_id,
                "sub": client_id,
                "aud": registration.get_auth_audience() or token_url,
                "iat": int(now) - 5,
                "exp": int(now) + 60,
                "jti": str(uuid.uuid4()),
            },
            registration.get_tool_private_key() or "",
            algorithm="RS256",
            headers={"kid": registration.get_kid() or ""},
        )
        response = self._requests_session.post(
            token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": (
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                ),
                "client_assertion": assertion,
                "scope": scope,
            },
        )
        if not response.ok:
            raise LtiServiceException(response)
        body = response.json()
        expires_in = body.get("expires_in", 3600)
        value = str(body["access_token"])
        self._cache.put(key, value, now + float(expires_in))
        return value


@dataclass(frozen=True)
class Member:
    """A course member as NRPS reports them."""

    user_id: str
    name: str
    email: str | None
    roles: tuple[str, ...]
    status: str
    given_name: str | None = None
    family_name: str | None = None


class Advantage:
    """AGS, NRPS and Deep Linking for one stored launch."""

    def __init__(
        self, launch: Launch, key: ActiveKey, http: requests.Session, cache: TokenCache
    ) -> None:
        self._launch = launch
        self._registration = registration_for(launch.platform, key)
        self._connector = CachedTokenConnector(self._registration, http, cache)
        self._http = http

    def _claim(self, name: str, what: str) -> dict[str, Any]:
        claim = self._launch.claims.get(name)
        if not isinstance(claim, dict):
            raise Refused(
                409,
                "service_not_offered",
                f"The LMS did not offer {what} for this launch.",
            )
        return claim

    def members(self, *, page_size: int = 100, max_pages: int = 500) -> list[Member]:
        """Return every member of the launch's course, following NRPS paging.

        `Link: rel="next"` is followed as given (pylti1p3 lower-cases it,
        which breaks case-sensitive URLs); `limit` asks for pages of
        `page_size`. A failure on any page refuses the whole roster (502).
        """
        claim = self._claim(CLAIM_NRPS, "the course roster")
        url: str | None = str(claim.get("context_memberships_url") or "")
        if not url:
            raise Refused(
                409, "service_not_offered", "The LMS did not offer the course roster."
            )
        separator = "&" if "?" in url else "?"
        url = f"{url}{separator}limit={page_size}"
        scopes = [SCOPE_NRPS]
        members: list[Member] = []
        seen: set[str] = set()
        for _ in range(max_pages):
            if url is None:
                break
            try:
                token = self._connector.get_access_token(scopes)
                response = self._http.get(
                    url,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Accept": NRPS_TYPE,
                    },
                )
                if response.status_code == 401:
                    self._connector.forget_token(scopes)
                response.raise_for_status()
                body = response.json()
            except (LtiServiceException, requests.RequestException, ValueError) as exc:
                raise Refused(
                    502,
                    "roster_unavailable",
                    "The LMS did not return the course roster.",
                    detail=f"{url}: {exc}",
                ) from exc
            for m in body.get("members", []) if isinstance(body, dict) else []:
                user_id = str(m.get("user_id", ""))
                if not user_id or user_id in seen:
                    continue
                seen.add(user_id)
                members.append(
                    Member(
                        user_id=user_id,
                        name=str(
                            m.get("name")
                            or " ".join(
                                p
                                for p in (m.get("given_name"), m.get("family_name"))
                                if p
                            )
                            or user_id
                        ),
                        email=m.get("email"),
                        roles=tuple(m.get("roles", ())),
                        status=str(m.get("status", "Active")),
                        given_name=m.get("given_name"),
                        family_name=m.get("family_name"),
                    )
                )
            url = response.links.get("next", {}).get("url")
        return members

    def grades(self) -> AssignmentsGradesService:
        """Return pylti1p3's AGS service for this launch's endpoint claim."""
        return AssignmentsGradesService(
            self._connector,
            self._claim(CLAIM_AGS, "grade passback"),  # type: ignore[arg-type]
        )

    def post_score(
        self,
        *,
        user_id: str,
        score_given: float,
        score_maximum: float,
        line_item: LineItem,
        timestamp: str,
        activity_progress: str = "Completed",
        grading_progress: str = "FullyGraded",
        comment: str | None = None,
    ) -> LineItem:
        """Find or create the line item and post one score to it (AGS 2.0 §3.4)."""
        grade = (
            Grade()
            .set_score_given(score_given)
            .set_score_maximum(score_maximum)
            .set_timestamp(timestamp)
            .set_activity_progress(activity_progress)
            .set_grading_progress(grading_progress)
            .set_user_id(user_id)
        )
        if comment:
            grade.set_comment(comment)
        service = self.grades()
        item = service.find_or_create_lineitem(line_item)
        service.put_grade(grade, item)
        return item

    def deep_link_response(self, resources: list[DeepLinkResource]) -> tuple[str, str]:
        """Sign an LtiDeepLinkingResponse; return (JWT, return URL)."""
        settings = self._claim(CLAIM_DL, "deep linking")
        deployment = self._launch.deployment.deployment_id
        deep_link = DeepLink(self._registration, deployment, settings)  # type: ignore[arg-type]
        return deep_link.get_response_jwt(resources), str(
            settings["deep_link_return_url"]
        )
