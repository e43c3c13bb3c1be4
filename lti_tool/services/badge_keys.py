"""The issuer's Ed25519 badge keys: kept sealed, rotated, published in did.json.

Badges are signed with the current key. Rotation makes a new current key and
keeps every earlier one in the DID document, so badges signed before still
verify; a key is only dropped by removing it on purpose.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import orm

from badges.keys import did_document, public_multibase, verification_method
from lti_tool.db.models import SigningKey
from lti_tool.keys import KeyEncryptor
from lti_tool.services.keys import new_rsa_key

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


# --- Open Badges 2.0: one RSA key, named by the hosted issuer profile -------------

OB2 = "badge-ob2"


@dataclass(frozen=True)
class Ob2Signer:
    """The current OB 2.0 key (RS256), decrypted for signing."""

    kid: str
    private_key: rsa.RSAPrivateKey


def _ob2_keys(session: orm.Session) -> list[SigningKey]:
    return list(
        session.scalars(
            sa.select(SigningKey)
            .where(SigningKey.purpose == OB2)
            .order_by(SigningKey.created_at, SigningKey.id)
        )
    )


def ensure_ob2_key(
    session: orm.Session, encryptor: KeyEncryptor, now: datetime
) -> bool:
    """Make sure a current OB 2.0 key exists; return True if one was created."""
    if any(key.state == "current" for key in _ob2_keys(session)):
        return False
    session.add(new_rsa_key(encryptor, "current", now, purpose=OB2))
    session.flush()
    return True


def ob2_public_key(session: orm.Session, kid: str) -> rsa.RSAPublicKey | None:
    """Any OB 2.0 key by id, current or retired (its hosted CryptographicKey)."""
    key = session.scalar(
        sa.select(SigningKey).where(SigningKey.purpose == OB2, SigningKey.kid == kid)
    )
    if key is None:
        return None
    numbers = rsa.RSAPublicNumbers(
        _b64url_int(key.public_jwk["e"]), _b64url_int(key.public_jwk["n"])
    )
    return numbers.public_key()


def current_ob2_signer(session: orm.Session, encryptor: KeyEncryptor) -> Ob2Signer:
    """The decrypted current OB 2.0 key (run `ensure_ob2_key` first)."""
    current = [key for key in _ob2_keys(session) if key.state == "current"]
    if not current:
        raise LookupError("no current Open Badges 2.0 key: run `tierpath keys ensure`")
    key = current[-1]
    private = serialization.load_pem_private_key(
        encryptor.open(key.private_key_encrypted, key.kid), password=None
    )
    if not isinstance(private, rsa.RSAPrivateKey):  # pragma: no cover - we stored it
        raise TypeError(f"key {key.kid} is not an RSA key")
    return Ob2Signer(key.kid, private)


def rotate_ob2_key(session: orm.Session, encryptor: KeyEncryptor, now: datetime) -> str:
    """Replace the OB 2.0 key. OB 2.0 issuers name one key, so 2.0 assertions
    signed before stop verifying; tierpath signs them afresh on each download."""
    for key in _ob2_keys(session):
        if key.state == "current":
            key.state = "retired"
            key.retired_at = now
    session.flush()
    ensure_ob2_key(session, encryptor, now)
    return current_ob2_signer(session, encryptor).kid


def _b64url_int(value: str) -> int:
    return int.from_bytes(
        base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big"
    )
