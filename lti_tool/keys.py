"""Tool key pairs: generation, JWK form, and encryption of private keys at rest.

Private keys are stored as PKCS#8 PEM sealed with AES-256-GCM under the
key-encryption key (TIERPATH_KEY_ENCRYPTION_KEY); the key id is the associated
data, so a ciphertext cannot be moved to another key's row.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"


class KeyDecryptionError(Exception):
    """Raised when a stored private key cannot be decrypted with the configured key."""


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rsa_public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    """Return the RFC 7517 JWK members of an RSA public key."""
    numbers = public_key.public_numbers()
    return {"kty": "RSA", "e": _b64url_uint(numbers.e), "n": _b64url_uint(numbers.n)}


def jwk_thumbprint(jwk: dict[str, str]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of an RSA JWK, base64url."""
    canonical = json.dumps(
        {"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]},
        separators=(",", ":"),
        sort_keys=True,
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class GeneratedKey:
    """A new RSA key pair: its id, public JWK and private PEM (never logged)."""

    kid: str
    public_jwk: dict[str, Any]
    private_pem: bytes


def generate_rsa_key(bits: int = 2048) -> GeneratedKey:
    """Generate an RS256 signing key pair with a thumbprint key id."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    jwk: dict[str, Any] = rsa_public_jwk(private.public_key())
    kid = jwk_thumbprint(jwk)
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return GeneratedKey(kid=kid, public_jwk=jwk, private_pem=pem)


class KeyEncryptor:
    """Seal and open private keys with AES-256-GCM under the key-encryption key."""

    def __init__(self, key_encryption_key: bytes) -> None:
        if len(key_encryption_key) != 32:
            raise ValueError("the key-encryption key must be 32 bytes")
        self._aead = AESGCM(key_encryption_key)

    def seal(self, plaintext: bytes, kid: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, kid.encode())

    def open(self, sealed: bytes, kid: str) -> bytes:
        if sealed[:1] != _VERSION:
            raise KeyDecryptionError(f"key {kid}: unknown encryption format")
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], kid.encode())
        except InvalidTag:
            raise KeyDecryptionError(
                f"key {kid} cannot be decrypted: TIERPATH_KEY_ENCRYPTION_KEY is not"
                " the key it was encrypted with"
            ) from None
