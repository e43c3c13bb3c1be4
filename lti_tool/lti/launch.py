"""Launch validation, stricter than pylti1p3 (reference/lti.md §1.3 and §5).

Order: state (ours, bound to this browser) → header (RS256 only, kid) → issuer,
audience and azp against the registration the login chose → signature with the
platform key (refetched once on an unknown kid) → exp / iat / nbf with leeway
and a maximum age → nonce consumed atomically, bound to the state → deployment
→ LTI claims (pylti1p3's message validators plus our own) → target_link_uri on
our origin. Every failure is a `Refused` with a reason a person can read.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
import sqlalchemy as sa
from pylti1p3.exception import LtiException
from pylti1p3.message_validators import get_validators
from sqlalchemy import orm

from lti_tool.db.models import Deployment, LoginState, Platform
from lti_tool.errors import Refused
from lti_tool.lti.keyset import PlatformKeySets
from lti_tool.lti.login import check_approved
from lti_tool.lti.origin import is_on_origin
from lti_tool.services.platforms import find_deployment

log = logging.getLogger(__name__)

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"
SUBMISSION_REVIEW = "LtiSubmissionReviewRequest"
SUPPORTED_MESSAGES = (RESOURCE_LINK, DEEP_LINKING, SUBMISSION_REVIEW)
ALLOWED_ALGORITHM = "RS256"

_RESTART = "Launch tierpath again from your LMS."


@dataclass(frozen=True)
class LaunchPolicy:
    """The limits a launch is checked against."""

    origin: str
    clock_leeway: int
    max_launch_age: int


@dataclass(frozen=True)
class ValidatedLaunch:
    """A launch that passed every check, with the registration it belongs to."""

    claims: dict[str, Any]
    platform: Platform
    deployment: Deployment
    login: LoginState
    # No state cookie came back, but the LMS offered Platform Storage: the
    # browser must prove (from the storage frame) that it started the login
    # before the session is handed to it.
    needs_storage_check: bool = False

    @property
    def message_type(self) -> str:
        return str(self.claims[CLAIM + "message_type"])

    @property
    def target_link_uri(self) -> str:
        return str(self.claims[CLAIM + "target_link_uri"])

    @property
    def roles(self) -> list[str]:
        return list(self.claims[CLAIM + "roles"])


def _refuse(code: str, message: str, detail: str | None = None) -> Refused:
    return Refused(400, code, message, hint=_RESTART, detail=detail)


def _check_state(
    session: orm.Session, state: str, state_cookie: str | None, now: datetime
) -> LoginState:
    login = session.get(LoginState, state)
    if login is None:
        raise _refuse(
            "unknown_state",
            "This launch does not match any sign-in tierpath started.",
            detail=f"state={state[:12]}…",
        )
    if login.expires_at <= now:
        raise _refuse(
            "login_expired",
            "The sign-in took too long and expired.",
            detail="state expired",
        )
    if state_cookie != state and login.storage_target is None:
        # The browser did not send back the cookie we set at login: either the
        # LMS frame blocks cookies, or this POST did not come from the browser
        # that started the sign-in (login CSRF). Offer the new-window restart.
        raise Refused(
            400,
            "state_cookie_missing",
            "Your browser did not keep tierpath's sign-in cookie, so this launch"
            " cannot be trusted.",
            hint="Browsers often block cookies inside an LMS page. Open tierpath in a"
            " new window to continue.",
            detail="state cookie absent or different",
        )
    return login


def _header(id_token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.InvalidTokenError as exc:  # DecodeError, bad kid type, bad crit
        raise _refuse(
            "malformed_token", "The LMS sent an id_token that is not a valid JWT."
        ) from exc
    alg = header.get("alg")
    if alg != ALLOWED_ALGORITHM:
        raise _refuse(
            "algorithm_not_allowed",
            f"The launch is signed with {alg!r}; tierpath accepts only RS256.",
        )
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise _refuse(
            "missing_kid", "The launch does not say which LMS key signed it (kid)."
        )
    return header


def _check_audience(claims: dict[str, Any], platform: Platform) -> None:
    iss = claims.get("iss")
    if iss != platform.issuer:
        raise _refuse(
            "issuer_mismatch",
            "The launch comes from a different LMS than the one that started the"
            " sign-in.",
            detail=f"iss={iss!r} expected={platform.issuer!r}",
        )
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or not all(
        isinstance(a, str) for a in audiences
    ):
        raise _refuse("missing_aud", "The launch does not name its audience (aud).")
    if platform.client_id not in audiences:
        raise _refuse(
            "wrong_audience",
            "The launch was issued for another tool, not for tierpath.",
            detail=f"aud={audiences!r} client_id={platform.client_id!r}",
        )
    azp = claims.get("azp")
    # Security Framework §5.1.3 step 4-5 (OIDC Core §3.1.3.7): with several
    # audiences azp is required; when present it must be our client id.
    if (len(audiences) > 1 or azp is not None) and azp != platform.client_id:
        raise _refuse(
            "azp_mismatch",
            "The launch names several audiences but is not authorised for tierpath"
            " (azp).",
            detail=f"aud={audiences!r} azp={azp!r}",
        )


def _verify_signature(id_token: str, key: Any, platform: Platform) -> dict[str, Any]:
    try:
        return jwt.decode(
            id_token,
            key,
            algorithms=[ALLOWED_ALGORITHM],
            audience=platform.client_id,
            issuer=platform.issuer,
            # Times are checked below against the clock passed in, with leeway.
            options={
                "require": ["exp", "iat"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.MissingRequiredClaimError as exc:
        raise _refuse(
            f"missing_{exc.claim}",
            f"The launch has no '{exc.claim}' time, so its age cannot be checked.",
        ) from exc
    except jwt.InvalidSignatureError as exc:
        raise _refuse(
            "bad_signature", "The launch's signature does not match the LMS's key."
        ) from exc
    except jwt.InvalidTokenError as exc:
        raise _refuse(
            "invalid_token", "The launch token is not valid.", detail=str(exc)
        ) from exc


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    # json.loads accepts NaN and Infinity; they would pass every comparison.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
    ):
        raise _refuse(f"missing_{name}", f"The launch's '{name}' is not a time.")
    return float(value)


def _check_times(claims: dict[str, Any], policy: LaunchPolicy, now: datetime) -> None:
    t = now.timestamp()
    leeway = policy.clock_leeway
    if _number(claims, "exp") + leeway < t:
        raise _refuse("token_expired", "The launch has expired.")
    iat = _number(claims, "iat")
    if iat - leeway > t:
        raise _refuse(
            "issued_in_future",
            "The launch is dated in the future; the LMS's clock may be wrong.",
            detail=f"iat is {iat - t:.0f}s ahead",
        )
    if t - iat > policy.max_launch_age:
        raise _refuse(
            "launch_too_old",
            "The launch was issued too long ago.",
            detail=f"iat is {t - iat:.0f}s old, limit {policy.max_launch_age}s",
        )
    if "nbf" in claims and _number(claims, "nbf") - leeway > t:
        raise _refuse("not_yet_valid", "The launch is not valid yet.")


def _consume_nonce(
    session: orm.Session, login: LoginState, claims: dict[str, Any], now: datetime
) -> None:
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise _refuse("missing_nonce", "The launch has no nonce.")
    # One atomic UPDATE: only the first request for this state+nonce wins, on
    # SQLite (writes serialise) and PostgreSQL (row lock, WHERE re-checked).
    result = session.execute(
        sa.update(LoginState)
        .where(
            LoginState.state == login.state,
            LoginState.nonce == nonce,
            LoginState.consumed_at.is_(None),
            LoginState.expires_at > now,
        )
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        if nonce != login.nonce:
            raise _refuse(
                "nonce_mismatch",
                "The launch's nonce does not belong to this sign-in.",
            )
        raise _refuse(
            "replayed_launch",
            "This launch has already been used. Each launch works once.",
        )


def _check_claims(claims: dict[str, Any], policy: LaunchPolicy) -> None:
    message_type = claims.get(CLAIM + "message_type")
    if not message_type:
        raise _refuse("missing_message_type", "The launch does not say what it is for.")
    if message_type not in SUPPORTED_MESSAGES:
        raise _refuse(
            "unsupported_message_type",
            f"tierpath does not handle {message_type!r} launches.",
        )
    version = claims.get(CLAIM + "version")
    if version != "1.3.0":
        raise _refuse(
            "wrong_version", f"tierpath needs LTI 1.3.0 launches (got {version!r})."
        )
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise _refuse("missing_sub", "The launch does not identify the user (sub).")
    if len(sub) > 255:  # OIDC Core §2 / LTI Core §5.3.6: at most 255 characters
        raise _refuse("invalid_sub", "The launch's user id (sub) is too long.")
    context = claims.get(CLAIM + "context")
    if context is not None and (
        not isinstance(context, dict)
        or not isinstance(context.get("id"), str)
        or not 0 < len(context["id"]) <= 255
    ):
        raise _refuse(
            "invalid_context", "The launch's course (context) has no usable id."
        )
    roles = claims.get(CLAIM + "roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise _refuse("missing_roles", "The launch does not list the user's roles.")
    try:
        for validator in get_validators():
            if validator.can_validate(claims):
                validator.validate(claims)
    except LtiException as exc:
        raise _refuse("invalid_message", f"The launch is incomplete: {exc}.") from exc
    target = claims.get(CLAIM + "target_link_uri")
    if not isinstance(target, str) or not target:
        raise _refuse(
            "missing_target_link_uri", "The launch does not say which page to open."
        )
    if not is_on_origin(target, policy.origin):
        raise _refuse(
            "foreign_target_link_uri",
            "The launch asks to open a page outside tierpath.",
            detail=f"target_link_uri={target!r} origin={policy.origin!r}",
        )


def validate_launch(
    session: orm.Session,
    *,
    id_token: str | None,
    state: str | None,
    state_cookie: str | None,
    keys: PlatformKeySets,
    policy: LaunchPolicy,
    now: datetime,
) -> ValidatedLaunch:
    """Check a launch POST end to end; return it validated or raise Refused."""
    if not state:
        raise _refuse("missing_state", "The launch has no state parameter.")
    if not id_token:
        raise _refuse("missing_id_token", "The LMS did not send an id_token.")
    login = _check_state(session, state, state_cookie, now)
    header = _header(id_token)
    try:
        unverified = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.DecodeError as exc:
        raise _refuse("malformed_token", "The id_token cannot be decoded.") from exc
    platform = session.get(Platform, login.platform_id)
    if platform is None:
        raise _refuse("unknown_platform", "This LMS is no longer registered.")
    check_approved(platform)
    _check_audience(unverified, platform)
    key = keys.key_for(platform.id, header["kid"], now)
    claims = _verify_signature(id_token, key, platform)
    _check_times(claims, policy, now)
    _consume_nonce(session, login, claims, now)
    deployment_id = claims.get(CLAIM + "deployment_id")
    deployment = (
        find_deployment(session, platform, deployment_id)
        if isinstance(deployment_id, str) and deployment_id
        else None
    )
    if deployment is None:
        raise _refuse(
            "unknown_deployment",
            "This LMS deployment of tierpath is not registered.",
            detail=f"deployment_id={deployment_id!r}",
        )
    _check_claims(claims, policy)
    return ValidatedLaunch(
        claims=claims,
        platform=platform,
        deployment=deployment,
        login=login,
        needs_storage_check=state_cookie != state,
    )
