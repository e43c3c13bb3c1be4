"""Credentials for the statement read API: one key and secret per reading client.

Only the SHA-256 of a secret is stored: the secret is 32 random bytes, so a
fast hash is enough (there is nothing to guess), and a copy of the database
does not let anyone read statements. A client is revoked, never deleted, so
`list` still shows who had access and when it was last used.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import orm

from lti_tool.db.models import XapiReadClient

TOUCH_EVERY = timedelta(minutes=1)
"""`last_used_at` is rewritten at most this often: not one write per request."""

NAME_MAX = 100

# Compared against when the key is unknown, so a wrong key costs the same time
# as a wrong secret.
_NO_SUCH_CLIENT = hashlib.sha256(b"tierpath: no such client").hexdigest()


class ClientError(ValueError):
    """A client cannot be created or revoked; the message says why."""


@dataclass(frozen=True)
class NewClient:
    """A created client and its secret, which exists only here (never stored)."""

    client: XapiReadClient
    secret: str


def hash_secret(secret: str) -> str:
    """The stored form of a secret: SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _find(session: orm.Session, name: str) -> XapiReadClient | None:
    return session.scalars(
        sa.select(XapiReadClient).where(XapiReadClient.name == name)
    ).one_or_none()


def create_client(session: orm.Session, name: str, now: datetime) -> NewClient:
    """Add a client with a new random key and secret (flush only; caller commits)."""
    name = name.strip()
    if not name:
        raise ClientError("a client needs a name (who or what will read statements)")
    if len(name) > NAME_MAX:
        raise ClientError(f"a client name is at most {NAME_MAX} characters")
    existing = _find(session, name)
    if existing is not None:
        state = (
            f"revoked {existing.revoked_at:%Y-%m-%d}"
            if existing.revoked_at
            else "active"
        )
        raise ClientError(
            f"a client named {name!r} already exists ({state}); choose another name"
        )
    secret = secrets.token_urlsafe(32)
    client = XapiReadClient(
        name=name,
        key=secrets.token_urlsafe(18),
        secret_hash=hash_secret(secret),
        created_at=now,
    )
    session.add(client)
    try:
        with session.begin_nested():
            session.flush()
    except sa.exc.IntegrityError:
        # Another process added the same name between our check and insert.
        raise ClientError(
            f"a client named {name!r} already exists; choose another name"
        ) from None
    return NewClient(client, secret)


def list_clients(session: orm.Session) -> list[XapiReadClient]:
    """Every client, active and revoked, oldest first."""
    return list(
        session.scalars(
            sa.select(XapiReadClient).order_by(
                XapiReadClient.created_at, XapiReadClient.id
            )
        )
    )


def revoke_client(session: orm.Session, name: str, now: datetime) -> XapiReadClient:
    """Revoke a client by name; revoking twice keeps the first date."""
    client = _find(session, name)
    if client is None:
        raise ClientError(f"there is no client named {name!r} (see `xapi client list`)")
    if client.revoked_at is None:
        client.revoked_at = now
    return client


def authenticate(
    session: orm.Session, key: str, secret: str, now: datetime
) -> XapiReadClient | None:
    """The active client these credentials belong to, else None.

    Marks the client used (at most once per TOUCH_EVERY); the caller commits.
    """
    client = session.scalars(
        sa.select(XapiReadClient).where(XapiReadClient.key == key)
    ).one_or_none()
    expected = client.secret_hash if client is not None else _NO_SUCH_CLIENT
    if not hmac.compare_digest(hash_secret(secret), expected):
        return None
    if client is None or client.revoked_at is not None:
        return None
    if client.last_used_at is None or now - client.last_used_at >= TOUCH_EVERY:
        client.last_used_at = now
    return client
