"""Use cases for platform registrations and their deployments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy import orm

from lti_tool.db.models import Deployment, Platform


class RegistrationError(ValueError):
    """Raised when a platform registration is incomplete, malformed or a duplicate."""


@dataclass(frozen=True)
class PlatformInput:
    """What an admin supplies to register a platform."""

    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    auth_login_url: str
    token_url: str
    jwks_url: str
    audience: str | None = None
    name: str = ""


def _check_url(label: str, value: str, *, allow_plain_http: bool) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise RegistrationError(f"{label} must be an https:// URL (got {value!r})")
    if parts.scheme == "http" and not allow_plain_http:
        raise RegistrationError(
            f"{label} must use https:// (plain http is only allowed for localhost)"
        )
    return value


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def validate_input(data: PlatformInput) -> PlatformInput:
    """Trim and check a registration, raising RegistrationError with what is wrong."""
    issuer = data.issuer.strip()
    client_id = data.client_id.strip()
    if not issuer:
        raise RegistrationError("issuer is required")
    if not client_id:
        raise RegistrationError("client id is required")
    deployments = tuple(d.strip() for d in data.deployment_ids if d.strip())
    if not deployments:
        raise RegistrationError("at least one deployment id is required")
    if any(len(d) > 255 for d in deployments):
        raise RegistrationError("a deployment id is at most 255 characters")
    local = _is_loopback(issuer) or _is_loopback(data.auth_login_url)
    return PlatformInput(
        issuer=_check_url("issuer", issuer, allow_plain_http=local),
        client_id=client_id,
        deployment_ids=deployments,
        auth_login_url=_check_url(
            "auth login URL", data.auth_login_url, allow_plain_http=local
        ),
        token_url=_check_url("token URL", data.token_url, allow_plain_http=local),
        jwks_url=_check_url("JWKS URL", data.jwks_url, allow_plain_http=local),
        audience=(data.audience or "").strip() or None,
        name=data.name.strip()[:200],
    )


def find_platform(session: orm.Session, issuer: str, client_id: str) -> Platform | None:
    """Return the registration for (issuer, client_id), if any."""
    return session.scalar(
        sa.select(Platform).where(
            Platform.issuer == issuer, Platform.client_id == client_id
        )
    )


def add_platform(
    session: orm.Session,
    data: PlatformInput,
    now: datetime,
    *,
    if_missing: bool = False,
) -> tuple[Platform, bool]:
    """Register a platform with its deployments; return (platform, created).

    With `if_missing`, an existing registration with the same issuer and client id
    gains any new deployment ids and is otherwise left alone.
    """
    data = validate_input(data)
    existing = find_platform(session, data.issuer, data.client_id)
    if existing is not None and not if_missing:
        raise RegistrationError(
            f"{data.issuer} with client id {data.client_id} is already registered"
        )
    platform = existing or Platform(
        issuer=data.issuer,
        client_id=data.client_id,
        auth_login_url=data.auth_login_url,
        token_url=data.token_url,
        jwks_url=data.jwks_url,
        audience=data.audience,
        name=data.name or urlsplit(data.issuer).netloc,
        created_at=now,
        # Registered by an administrator: usable at once.
        approved_at=now,
    )
    if existing is None:
        session.add(platform)
    known = {d.deployment_id for d in platform.deployments}
    for deployment_id in data.deployment_ids:
        if deployment_id not in known:
            platform.deployments.append(
                Deployment(deployment_id=deployment_id, created_at=now)
            )
    session.flush()
    return platform, existing is None


def add_registered_platform(
    session: orm.Session,
    data: PlatformInput,
    *,
    registration_json: dict[str, Any],
    now: datetime,
) -> Platform:
    """Store a platform that registered itself (Dynamic Registration), pending.

    It stays unusable (logins and launches are refused) until an administrator
    approves it. `data` must already have passed the registration's URL policy.
    """
    if find_platform(session, data.issuer, data.client_id) is not None:
        raise RegistrationError(
            f"{data.issuer} with client id {data.client_id} is already registered"
        )
    platform = Platform(
        issuer=data.issuer,
        client_id=data.client_id,
        auth_login_url=data.auth_login_url,
        token_url=data.token_url,
        jwks_url=data.jwks_url,
        audience=data.audience,
        name=data.name or urlsplit(data.issuer).netloc,
        created_at=now,
        approved_at=None,
        registered_via="dynamic",
        registration_json=registration_json,
    )
    platform.deployments.extend(
        Deployment(deployment_id=d, created_at=now) for d in data.deployment_ids
    )
    session.add(platform)
    session.flush()
    return platform


def count_pending(session: orm.Session) -> int:
    """How many registrations wait for an administrator's approval."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Platform)
            .where(Platform.approved_at.is_(None))
        )
        or 0
    )


def approve_platform(session: orm.Session, platform_id: int, now: datetime) -> Platform:
    """Make a pending registration usable; raise RegistrationError if there is none."""
    platform = session.get(Platform, platform_id)
    if platform is None:
        raise RegistrationError(f"no platform with id {platform_id}")
    if platform.approved_at is not None:
        raise RegistrationError(
            f"platform #{platform_id} ({platform.issuer}) is already approved"
        )
    platform.approved_at = now
    session.flush()
    return platform


def reject_platform(session: orm.Session, platform_id: int) -> Platform:
    """Delete a registration that is still pending (approved ones are removed instead)."""
    platform = session.get(Platform, platform_id)
    if platform is None:
        raise RegistrationError(f"no platform with id {platform_id}")
    if platform.approved_at is not None:
        raise RegistrationError(
            f"platform #{platform_id} ({platform.issuer}) is approved, not pending;"
            " remove it instead"
        )
    session.delete(platform)
    session.flush()
    return platform


def list_platforms(session: orm.Session) -> list[Platform]:
    """Return every registration, by issuer."""
    return list(
        session.scalars(
            sa.select(Platform).order_by(Platform.issuer, Platform.client_id)
        )
    )


def remove_platform(session: orm.Session, platform_id: int) -> Platform:
    """Delete a registration with its deployments, users and launches."""
    platform = session.get(Platform, platform_id)
    if platform is None:
        raise RegistrationError(f"no platform with id {platform_id}")
    session.delete(platform)
    session.flush()
    return platform


def find_deployment(
    session: orm.Session, platform: Platform, deployment_id: str
) -> Deployment | None:
    """Return the platform's deployment with that id, if registered."""
    return session.scalar(
        sa.select(Deployment).where(
            Deployment.platform_id == platform.id,
            Deployment.deployment_id == deployment_id,
        )
    )
