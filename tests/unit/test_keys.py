"""Private keys are sealed at rest and only open with the right key-encryption key."""

from __future__ import annotations

import base64
import os

import jwt
import pytest

from lti_tool.keys import KeyDecryptionError, KeyEncryptor, generate_rsa_key


def _kek() -> bytes:
    return os.urandom(32)


def test_sealed_private_key_round_trips_and_hides_the_pem() -> None:
    key = generate_rsa_key()
    encryptor = KeyEncryptor(_kek())
    sealed = encryptor.seal(key.private_pem, key.kid)
    assert b"PRIVATE KEY" not in sealed
    assert encryptor.open(sealed, key.kid) == key.private_pem


def test_wrong_key_encryption_key_is_a_clear_error() -> None:
    key = generate_rsa_key()
    sealed = KeyEncryptor(_kek()).seal(key.private_pem, key.kid)
    with pytest.raises(KeyDecryptionError, match="TIERPATH_KEY_ENCRYPTION_KEY"):
        KeyEncryptor(_kek()).open(sealed, key.kid)


def test_ciphertext_is_bound_to_its_key_id() -> None:
    key = generate_rsa_key()
    encryptor = KeyEncryptor(_kek())
    sealed = encryptor.seal(key.private_pem, key.kid)
    with pytest.raises(KeyDecryptionError):
        encryptor.open(sealed, "another-kid")


def test_generated_key_signs_tokens_its_jwk_verifies() -> None:
    key = generate_rsa_key()
    token = jwt.encode({"a": 1}, key.private_pem, algorithm="RS256")
    public = jwt.PyJWK(key.public_jwk).key
    assert jwt.decode(token, public, algorithms=["RS256"]) == {"a": 1}
    assert key.public_jwk["kid"] == key.kid
    assert "d" not in key.public_jwk
    assert len(base64.urlsafe_b64decode(key.public_jwk["n"] + "==")) == 256
