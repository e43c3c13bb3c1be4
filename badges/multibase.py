"""Multibase encodings used by Data Integrity proofs and Bitstring Status Lists.

Only the two bases the specs need: base58btc (prefix ``z``, Multikey and
``proofValue``) and base64url without padding (prefix ``u``, ``encodedList``).
"""

from __future__ import annotations

import base64

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: value for value, char in enumerate(_B58_ALPHABET)}


class MultibaseError(ValueError):
    """Raised when a multibase string has the wrong prefix or invalid characters."""


def encode_base58btc(data: bytes) -> str:
    """Encode bytes as multibase base58btc (``z`` + Bitcoin base58)."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(_B58_ALPHABET[remainder])
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "z" + "1" * leading_zeros + "".join(reversed(digits))


def decode_base58btc(value: str) -> bytes:
    """Decode a multibase base58btc string (``z`` prefix) to bytes."""
    if not value.startswith("z"):
        raise MultibaseError("expected a multibase base58btc value starting with 'z'")
    body = value[1:]
    number = 0
    for char in body:
        try:
            number = number * 58 + _B58_INDEX[char]
        except KeyError:
            raise MultibaseError(f"invalid base58btc character {char!r}") from None
    leading_zeros = len(body) - len(body.lstrip("1"))
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * leading_zeros + raw


def encode_base64url(data: bytes) -> str:
    """Encode bytes as multibase base64url without padding (``u`` prefix)."""
    return "u" + base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode_base64url(value: str) -> bytes:
    """Decode a multibase base64url string (``u`` prefix, padding optional)."""
    if not value.startswith("u"):
        raise MultibaseError("expected a multibase base64url value starting with 'u'")
    body = value[1:]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as exc:
        raise MultibaseError("invalid base64url data") from exc
