"""OIDC third-party login initiation (LTI 1.3 Core §4.1, Security Framework §5.1.1)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy import orm

from lti_tool.db.models import Launch, LoginState, Platform, ToolSession
from lti_tool.errors import Refused
from lti_tool.lti.origin import is_on_origin, origin_of
from lti_tool.services.platforms import find_deployment, find_platform

# Login parameters we keep so a login can be restarted in a new window.
LOGIN_PARAMS = (
    "iss",
    "login_hint",
    "target_link_uri",
    "lti_message_hint",
    "client_id",
    "lti_deployment_id",
)


# LTI Platform Storage: "_parent" or the name of a frame of the LMS page.
_STORAGE_TARGET = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


@dataclass(frozen=True)
class LoginStarted:
    """A login we recorded, and where the browser goes next."""

    state: str
    auth_url: str
    storage_target: str | None = None
    platform_origin: str = ""


def _required(params: Mapping[str, str], name: str, what: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise Refused(
            400,
            f"missing_{name}",
            f"The LMS started the sign-in without {what} ({name}).",
            hint="Launch tierpath again from your LMS. If this keeps happening, your"
            " LMS administrator should check the tool's configuration.",
        )
    return value


def check_approved(platform: Platform) -> None:
    """Refuse a platform whose (dynamic) registration no administrator approved yet."""
    if platform.approved_at is None:
        raise Refused(
            403,
            "registration_pending",
            "This LMS registered itself with tierpath, but a tierpath administrator"
            " must approve the registration before it can be used.",
            hint="Ask your tierpath administrator to approve it on tierpath's admin"
            " page (or with `tierpath platform approve`), then launch again.",
            detail=f"platform_id={platform.id} iss={platform.issuer!r}"
            f" client_id={platform.client_id!r}",
        )


def _find_platform(session: orm.Session, iss: str, client_id: str | None) -> Platform:
    if client_id:
        platform = find_platform(session, iss, client_id)
    else:
        found = list(session.scalars(sa.select(Platform).where(Platform.issuer == iss)))
        # A registration waiting for approval does not make the issuer ambiguous.
        candidates = [p for p in found if p.approved_at is not None] or found
        if len(candidates) > 1:
            raise Refused(
                400,
                "client_id_required",
                "Several registrations share this LMS; it must send client_id.",
                detail=f"iss={iss!r} has {len(candidates)} registrations",
            )
        platform = candidates[0] if candidates else None
    if platform is None:
        raise Refused(
            400,
            "unknown_platform",
            "This LMS is not registered with tierpath.",
            hint="An administrator registers it with `tierpath platform add` or on the"
            " admin page.",
            detail=f"iss={iss!r} client_id={client_id!r}",
        )
    check_approved(platform)
    return platform


def prune_expired(session: orm.Session, now: datetime) -> None:
    """Delete logins, launches and sessions whose time is up."""
    session.execute(sa.delete(LoginState).where(LoginState.expires_at < now))
    session.execute(sa.delete(Launch).where(Launch.expires_at < now))
    session.execute(sa.delete(ToolSession).where(ToolSession.expires_at < now))


def start_login(
    session: orm.Session,
    params: Mapping[str, str],
    *,
    origin: str,
    login_ttl: int,
    now: datetime,
) -> LoginStarted:
    """Check a login initiation request, record state and nonce, build the auth URL."""
    iss = _required(params, "iss", "saying which LMS it is")
    login_hint = _required(params, "login_hint", "a login hint")
    target = _required(params, "target_link_uri", "the page to open")
    if not is_on_origin(target, origin):
        raise Refused(
            400,
            "foreign_target_link_uri",
            "The LMS asked tierpath to open a page that is not part of tierpath.",
            detail=f"target_link_uri={target!r} origin={origin!r}",
        )
    client_id = params.get("client_id", "").strip() or None
    platform = _find_platform(session, iss, client_id)
    deployment_id = params.get("lti_deployment_id", "").strip()
    if deployment_id and find_deployment(session, platform, deployment_id) is None:
        raise Refused(
            400,
            "unknown_deployment",
            "This LMS deployment of tierpath is not registered.",
            detail=f"iss={iss!r} deployment_id={deployment_id!r}",
        )
    storage_target = params.get("lti_storage_target", "").strip() or None
    if storage_target is not None and not _STORAGE_TARGET.match(storage_target):
        raise Refused(
            400,
            "bad_storage_target",
            "The LMS sent an unusable lti_storage_target.",
            detail=f"lti_storage_target={storage_target[:120]!r}",
        )
    prune_expired(session, now)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    session.add(
        LoginState(
            state=state,
            nonce=nonce,
            platform_id=platform.id,
            target_link_uri=target,
            login_params={k: params[k] for k in LOGIN_PARAMS if params.get(k)},
            storage_target=storage_target,
            created_at=now,
            expires_at=now + timedelta(seconds=login_ttl),
        )
    )
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": origin.rstrip("/") + "/lti/launch",
        "login_hint": login_hint,
        "state": state,
        "nonce": nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in platform.auth_login_url else "?"
    return LoginStarted(
        state=state,
        auth_url=platform.auth_login_url + separator + urlencode(query),
        storage_target=storage_target,
        platform_origin=origin_of(platform.auth_login_url) or "",
    )
