"""Ed25519 issuer keys as Multikey, ``did:web`` documents and key resolution.

Multikey encodings follow W3C Controlled Identifiers 1.0 §2.2.2: public key =
``z`` + base58btc(0xed01 ‖ 32 raw bytes), secret key = ``z`` +
base58btc(0x8026 ‖ 32 raw bytes). Rotation = add a verification method and keep
the retired ones: removing one makes every badge it signed fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from badges.multibase import MultibaseError, decode_base58btc, encode_base58btc

JsonObject = dict[str, Any]

ED25519_PUBLIC_HEADER = b"\xed\x01"
ED25519_SECRET_HEADER = b"\x80\x26"
DID_CONTEXTS = ("https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1")


class KeyFormatError(ValueError):
    """Raised when a Multikey value is not an Ed25519 key."""


class DidWebError(ValueError):
    """Raised when a string is not a did:web DID or a did.json URL."""


@dataclass(frozen=True)
class ResolvedMethod:
    """A verification method looked up in its controller document.

    ``authorised`` is true when the controller lists the method under
    ``assertionMethod`` (the only proof purpose Open Badges uses).
    """

    key: Ed25519PublicKey
    controller: str
    authorised: bool


Resolver = Callable[[str], ResolvedMethod | None]


def public_multibase(key: Ed25519PublicKey) -> str:
    """Encode an Ed25519 public key as a Multikey ``publicKeyMultibase``."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return encode_base58btc(ED25519_PUBLIC_HEADER + raw)


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    """Decode a Multikey ``publicKeyMultibase`` into an Ed25519 public key."""
    raw = _decode_with_header(value, ED25519_PUBLIC_HEADER, "public")
    return Ed25519PublicKey.from_public_bytes(raw)


def secret_multibase(key: Ed25519PrivateKey) -> str:
    """Encode an Ed25519 private key as a Multikey ``secretKeyMultibase``."""
    raw = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return encode_base58btc(ED25519_SECRET_HEADER + raw)


def private_key_from_multibase(value: str) -> Ed25519PrivateKey:
    """Decode a Multikey ``secretKeyMultibase`` into an Ed25519 private key."""
    raw = _decode_with_header(value, ED25519_SECRET_HEADER, "secret")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _decode_with_header(value: str, header: bytes, kind: str) -> bytes:
    try:
        decoded = decode_base58btc(value)
    except MultibaseError as exc:
        raise KeyFormatError(f"not a multibase Ed25519 {kind} key: {exc}") from exc
    if not decoded.startswith(header) or len(decoded) != len(header) + 32:
        raise KeyFormatError(f"not a multibase Ed25519 {kind} key")
    return decoded[len(header) :]


def verification_method(did: str, fragment: str, key: Ed25519PublicKey) -> JsonObject:
    """Build a Multikey verification method ``{did}#{fragment}`` controlled by ``did``."""
    return {
        "id": f"{did}#{fragment}",
        "type": "Multikey",
        "controller": did,
        "publicKeyMultibase": public_multibase(key),
    }


def did_document(
    did: str,
    methods: Sequence[JsonObject],
    assertion_method_ids: Iterable[str] | None = None,
) -> JsonObject:
    """Build a DID document listing ``methods``, by default all in ``assertionMethod``.

    List the current key and every retired key that signed live badges.
    The did/v1 context must come first: with another first context the npm
    verifiers ask for ``https://w3id.org/security/v2``.
    """
    authorised = (
        [method["id"] for method in methods]
        if assertion_method_ids is None
        else list(assertion_method_ids)
    )
    return {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": [dict(method) for method in methods],
        "assertionMethod": authorised,
    }


def resolve_in(document: Mapping[str, Any], method_id: str) -> ResolvedMethod | None:
    """Find a Multikey verification method in a DID document, or return None."""
    methods = document.get("verificationMethod", [])
    for method in methods if isinstance(methods, list) else [methods]:
        if not isinstance(method, Mapping) or method.get("id") != method_id:
            continue
        if method.get("type") != "Multikey":
            return None
        try:
            key = public_key_from_multibase(str(method.get("publicKeyMultibase", "")))
        except KeyFormatError:
            return None
        assertion = document.get("assertionMethod", [])
        authorised = any(
            entry == method_id
            or (isinstance(entry, Mapping) and entry.get("id") == method_id)
            for entry in (assertion if isinstance(assertion, list) else [assertion])
        )
        return ResolvedMethod(
            key=key, controller=str(method.get("controller", "")), authorised=authorised
        )
    return None


def resolver_for(documents: Mapping[str, Mapping[str, Any]]) -> Resolver:
    """Return a resolver over DID documents keyed by DID (no network)."""

    def resolve(method_id: str) -> ResolvedMethod | None:
        document = documents.get(method_id.split("#", 1)[0])
        return None if document is None else resolve_in(document, method_id)

    return resolve


def did_web_to_url(did: str) -> str:
    """Map ``did:web:host[:path…]`` to the URL of its ``did.json`` (did:web §3.2)."""
    parts = did.split(":")
    if len(parts) < 3 or parts[:2] != ["did", "web"] or not parts[2]:
        raise DidWebError(f"{did!r} is not a did:web DID")
    host = unquote(parts[2])
    path = "/".join(unquote(part) for part in parts[3:]) or ".well-known"
    return f"https://{host}/{path}/did.json"


def url_to_did_web(url: str) -> str:
    """Map a ``did.json`` URL (or a bare https origin) to its ``did:web`` DID."""
    parsed = urlsplit(url)
    if parsed.scheme != "https" or not parsed.netloc or parsed.query or parsed.fragment:
        raise DidWebError(f"{url!r} is not an https did.json URL")
    path = parsed.path.strip("/")
    if path.endswith("did.json"):
        path = path.removesuffix("did.json").strip("/")
    elif path:
        raise DidWebError(f"{url!r} does not end in did.json")
    if path == ".well-known":
        path = ""
    segments = [quote(parsed.netloc, safe="")]
    segments += [quote(segment, safe="") for segment in path.split("/") if segment]
    return "did:web:" + ":".join(segments)
