"""Use cases for the tool's own signing keys: ensure, rotate, publish, load."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from lti_tool.db.models import SigningKey
from lti_tool.keys import KeyEncryptor, generate_rsa_key

LTI = "lti"
# Tokens we sign live at most a few minutes; a retired key stays published this
# long so a platform that cached our JWKS can still check what we just signed.
RETIRED_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class ActiveKey:
    """The current signing key, decrypted for use."""

    kid: str
    private_pem: bytes
    public_jwk: dict[str, Any]


def new_rsa_key(
    encryptor: KeyEncryptor, state: str, now: datetime, purpose: str = LTI
) -> SigningKey:
    """A fresh RS256 key row, its private half sealed with the key-encryption key."""
    generated = generate_rsa_key()
    return SigningKey(
        purpose=purpose,
        kid=generated.kid,
        algorithm="RS256",
        public_jwk=generated.public_jwk,
        private_key_encrypted=encryptor.seal(generated.private_pem, generated.kid),
        state=state,
        created_at=now,
        activated_at=now if state == "current" else None,
    )


def _keys(session: orm.Session, state: str) -> list[SigningKey]:
    return list(
        session.scalars(
            sa.select(SigningKey)
            .where(SigningKey.purpose == LTI, SigningKey.state == state)
            .order_by(SigningKey.created_at, SigningKey.id)  # ties: insertion order
        )
    )


def ensure_keys(session: orm.Session, encryptor: KeyEncryptor, now: datetime) -> bool:
    """Make sure a current and a next key exist; return True if any was created."""
    created = False
    if not _keys(session, "current"):
        session.add(new_rsa_key(encryptor, "current", now))
        created = True
    if not _keys(session, "next"):
        session.add(new_rsa_key(encryptor, "next", now))
        created = True
    session.flush()
    return created


def rotate_keys(
    session: orm.Session, encryptor: KeyEncryptor, now: datetime
) -> tuple[str, str]:
    """Promote the next key to current, retire the old current, make a new next.

    Returns (new current kid, new next kid). Platforms already know the promoted
    key because the JWKS published it as "next".
    """
    ensure_keys(session, encryptor, now)
    for old in _keys(session, "current"):
        old.state = "retired"
        old.retired_at = now
    promoted = _keys(session, "next")[0]
    promoted.state = "current"
    promoted.activated_at = now
    fresh = new_rsa_key(encryptor, "next", now)
    session.add(fresh)
    session.flush()
    return promoted.kid, fresh.kid


def published_jwks(
    session: orm.Session, now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Return the JWKS: current and next keys, plus keys retired moments ago."""
    rows = session.scalars(
        sa.select(SigningKey)
        .where(
            SigningKey.purpose == LTI,
            sa.or_(
                SigningKey.state.in_(("current", "next")),
                SigningKey.retired_at > now - RETIRED_GRACE,
            ),
        )
        .order_by(SigningKey.created_at, SigningKey.id)  # ties: insertion order
    )
    return {"keys": [dict(row.public_jwk) for row in rows]}


def current_key(session: orm.Session, encryptor: KeyEncryptor) -> ActiveKey:
    """Return the decrypted current key (run `ensure_keys` first)."""
    rows = _keys(session, "current")
    if not rows:
        raise LookupError("no current LTI key: run `tierpath keys ensure`")
    row = rows[-1]
    return ActiveKey(
        kid=row.kid,
        private_pem=encryptor.open(row.private_key_encrypted, row.kid),
        public_jwk=dict(row.public_jwk),
    )


def list_keys(session: orm.Session) -> list[SigningKey]:
    """Return every LTI key, oldest first."""
    return list(
        session.scalars(
            sa.select(SigningKey)
            .where(SigningKey.purpose == LTI)
            .order_by(SigningKey.created_at, SigningKey.id)  # ties: insertion order
        )
    )
