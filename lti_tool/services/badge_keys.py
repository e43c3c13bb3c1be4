"""The issuer's Ed25519 badge keys: kept sealed, rotated, published in did.json.

Badges are signed with the current key. Rotation makes a new current key and
keeps every earlier one in the DID document, so badges signed before still
verify; a key is only dropped by removing it on purpose.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import orm

from badges.keys import did_document, public_multibase, verification_method
from lti_tool.db.models import SigningKey
from lti_tool.keys import KeyEncryptor

BADGE = "badge"


@dataclass(frozen=True)
class BadgeSigner:
    """The current badge key, decrypted for signing."""

    verification_method: str  # did#fragment
    private_key: Ed25519PrivateKey


def did_for(origin: str) -> str:
    """The did:web DID of the deployment's origin (`did:web:host%3Aport`)."""
    netloc = urlsplit(origin).netloc
    if not netloc:
        raise ValueError(f"{origin!r} is not an origin")
    return "did:web:" + quote(netloc, safe="")


def _new_key(encryptor: KeyEncryptor, now: datetime) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    fragment = f"key-{now:%Y-%m-%d}-{secrets.token_hex(3)}"
    raw = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return SigningKey(
        purpose=BADGE,
        kid=fragment,
        algorithm="Ed25519",
        public_jwk={
            "type": "Multikey",
            "publicKeyMultibase": public_multibase(private.public_key()),
        },
        private_key_encrypted=encryptor.seal(raw, fragment),
        state="current",
        created_at=now,
        activated_at=now,
    )


def badge_keys(session: orm.Session) -> list[SigningKey]:
    """Every badge key, oldest first (the current one last)."""
    return list(
        session.scalars(
            sa.select(SigningKey)
            .where(SigningKey.purpose == BADGE)
            .order_by(SigningKey.created_at, SigningKey.id)
        )
    )


def ensure_badge_key(
    session: orm.Session, encryptor: KeyEncryptor, now: datetime
) -> bool:
    """Make sure a current badge key exists; return True if one was created."""
    if any(key.state == "current" for key in badge_keys(session)):
        return False
    session.add(_new_key(encryptor, now))
    session.flush()
    return True


def rotate_badge_key(
    session: orm.Session, encryptor: KeyEncryptor, now: datetime
) -> tuple[str, list[str]]:
    """Make a new current key; earlier keys stay published. Returns (new, earlier)."""
    earlier = []
    for key in badge_keys(session):
        if key.state == "current":
            key.state = "retired"
            key.retired_at = now
        earlier.append(key.kid)
    fresh = _new_key(encryptor, now)
    session.add(fresh)
    session.flush()
    return fresh.kid, earlier


def badge_did_document(session: orm.Session, did: str) -> dict[str, Any]:
    """The DID document: every badge key as a Multikey assertion method."""
    methods = [
        {
            "id": f"{did}#{key.kid}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.public_jwk["publicKeyMultibase"],
        }
        for key in badge_keys(session)
    ]
    return did_document(did, methods)


def current_badge_signer(
    session: orm.Session, encryptor: KeyEncryptor, did: str
) -> BadgeSigner:
    """The decrypted current key (run `ensure_badge_key` first)."""
    current = [key for key in badge_keys(session) if key.state == "current"]
    if not current:
        raise LookupError("no current badge key: run `tierpath keys ensure`")
    key = current[-1]
    raw = encryptor.open(key.private_key_encrypted, key.kid)
    private = Ed25519PrivateKey.from_private_bytes(raw)
    method = verification_method(did, key.kid, private.public_key())
    return BadgeSigner(str(method["id"]), private)
