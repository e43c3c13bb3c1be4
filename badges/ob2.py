"""Open Badges 2.0 signed assertions (``SignedBadge``): build, sign, verify.

Shapes follow OB 2.0 (``ob_v2p0/index.md``): a hosted ``Issuer`` profile lists
its ``CryptographicKey`` documents under ``publicKey`` and names a
``RevocationList``; a hosted ``BadgeClass`` points at the issuer; the
``Assertion`` names the badge class and, in ``verification.creator``, the key
that signed it. The signed form is a compact JWS (RS256, RSA PKCS#1 v1.5 with
SHA-256) whose payload is the assertion JSON.

No network: the verifier is handed the documents (url -> JSON) the caller
fetched. No clock: ``now`` is passed in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from badges.credentials import Alignment, hash_email, normalise_email
from badges.proofs import parse_xml_datetime

JsonObject = dict[str, Any]

OB2_CONTEXT = "https://w3id.org/openbadges/v2"
JWS_ALGORITHM = "RS256"
RSA_KEY_SIZE = 2048
MIN_RSA_KEY_SIZE = 2048
# Tolerated clock difference between issuer and verifier for issuedOn/expires.
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)


class Ob2Error(ValueError):
    """Raised when an OB 2.0 document cannot be built or a JWS cannot be made."""


@dataclass(frozen=True)
class RevokedAssertion:
    """One ``revokedAssertions`` entry: the assertion id and an optional reason."""

    id: str
    reason: str | None = None


@dataclass(frozen=True)
class SignedAssertionCheck:
    """The verdict on an OB 2.0 signed assertion.

    ``errors`` are plain English, empty when ``verified``. ``revoked`` is None
    when the issuer profile or its revocation list could not be retrieved;
    ``expired`` is true only for a past ``expires``. ``assertion`` is the
    payload (unverified unless ``verified``), for display; None if unreadable.
    """

    verified: bool
    errors: tuple[str, ...]
    revoked: bool | None
    expired: bool
    assertion: JsonObject | None


# --- keys ------------------------------------------------------------------------


def generate_rsa_key(key_size: int = RSA_KEY_SIZE) -> rsa.RSAPrivateKey:
    """Generate an RSA signing key (2048 bits by default, e = 65537)."""
    if key_size < MIN_RSA_KEY_SIZE:
        raise Ob2Error(f"RSA keys are at least {MIN_RSA_KEY_SIZE} bits, not {key_size}")
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


def public_key_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    """Return the SubjectPublicKeyInfo PEM of an RSA key (``publicKeyPem``)."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key_pem(pem: str) -> rsa.RSAPublicKey:
    """Load a ``publicKeyPem``; raise :class:`Ob2Error` unless it is an RSA key."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError, TypeError) as exc:
        raise Ob2Error(f"publicKeyPem is not a PEM public key: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise Ob2Error("publicKeyPem is not an RSA public key (RS256 needs RSA)")
    return key


# --- documents -------------------------------------------------------------------


def issuer_profile(
    *,
    issuer_id: str,
    name: str,
    url: str,
    public_key_id: str,
    revocation_list_url: str | None,
    email: str | None = None,
    description: str | None = None,
    image: str | None = None,
) -> JsonObject:
    """Build the hosted ``Issuer`` profile that vouches for its signing key.

    One key only: the spec says "key(s)", but the 1EdTech validator (PyPI
    ``openbadges``) rejects a profile whose ``publicKey`` has several values.
    So an OB 2.0 key cannot be rotated softly: assertions signed by a key the
    profile no longer lists fail everywhere and must be re-signed.
    """
    if not public_key_id:
        raise Ob2Error("an issuer of signed badges names its public key")
    profile: JsonObject = {
        "@context": OB2_CONTEXT,
        "id": issuer_id,
        "type": "Issuer",
        "name": name,
        "url": url,
    }
    optional = {"email": email, "description": description, "image": image}
    profile.update({key: value for key, value in optional.items() if value})
    profile["publicKey"] = public_key_id
    if revocation_list_url is not None:
        profile["revocationList"] = revocation_list_url
    return profile


def cryptographic_key(
    *, key_id: str, owner: str, public_key: rsa.RSAPublicKey | rsa.RSAPrivateKey
) -> JsonObject:
    """Build the hosted ``CryptographicKey`` document (``owner`` = the issuer id)."""
    return {
        "@context": OB2_CONTEXT,
        "type": "CryptographicKey",
        "id": key_id,
        "owner": owner,
        "publicKeyPem": public_key_pem(public_key),
    }


def badge_class(
    *,
    badge_id: str,
    issuer_id: str,
    name: str,
    description: str,
    image: str,
    criteria_url: str | None = None,
    criteria_narrative: str | None = None,
    alignments: Iterable[Alignment] = (),
    tags: Iterable[str] = (),
) -> JsonObject:
    """Build a hosted ``BadgeClass``; criteria need a URL, a narrative or both.

    Alignments reuse :class:`badges.credentials.Alignment`; its OB 3.0-only
    ``target_type`` has no OB 2.0 counterpart and is left out.
    """
    if criteria_url is None and not criteria_narrative:
        raise Ob2Error("a BadgeClass needs criteria: a URL, a narrative or both")
    criteria: JsonObject = {}
    if criteria_url is not None:
        criteria["id"] = criteria_url
    if criteria_narrative:
        criteria["narrative"] = criteria_narrative
    badge: JsonObject = {
        "@context": OB2_CONTEXT,
        "id": badge_id,
        "type": "BadgeClass",
        "name": name,
        "description": description,
        "image": image,
        "criteria": criteria,
        "issuer": issuer_id,
    }
    alignment = [_alignment(item) for item in alignments]
    if alignment:
        badge["alignment"] = alignment
    tag_list = list(tags)
    if tag_list:
        badge["tags"] = tag_list
    return badge


def _alignment(alignment: Alignment) -> JsonObject:
    result: JsonObject = {
        "targetName": alignment.target_name,
        "targetUrl": alignment.target_url,
    }
    if alignment.target_description is not None:
        result["targetDescription"] = alignment.target_description
    if alignment.target_code is not None:
        result["targetCode"] = alignment.target_code
    return result


def revocation_list(
    *, list_id: str, issuer_id: str, revoked: Iterable[RevokedAssertion]
) -> JsonObject:
    """Build the issuer's ``RevocationList``; ``revokedAssertions`` is always a list."""
    entries: list[JsonObject] = []
    for item in revoked:
        entry: JsonObject = {"id": item.id}
        if item.reason:
            entry["revocationReason"] = item.reason
        entries.append(entry)
    return {
        "@context": OB2_CONTEXT,
        "id": list_id,
        "type": "RevocationList",
        "issuer": issuer_id,
        "revokedAssertions": entries,
    }


def assertion(
    *,
    assertion_id: str,
    badge_class_id: str,
    recipient_email: str | None = None,
    salt: str,
    issued_on: datetime,
    key_id: str,
    expires: datetime | None = None,
    evidence_narrative: str | None = None,
    evidence_url: str | None = None,
    recipient_identity: str | None = None,
) -> JsonObject:
    """Build an unsigned ``Assertion`` with ``SignedBadge`` verification.

    The recipient is a salted SHA-256 hash of the trimmed, lowercased email;
    or ``recipient_identity``, a ``sha256$…`` hash made earlier with ``salt``
    (e.g. the OB 3.0 twin's ``identityHash``), when the email is not kept.
    """
    if not salt:
        raise Ob2Error("a hashed recipient needs a non-empty salt")
    if (recipient_email is None) == (recipient_identity is None):
        raise Ob2Error("give the recipient's email or its salted hash, not both")
    if recipient_identity is not None and not recipient_identity.startswith("sha256$"):
        raise Ob2Error("a recipient identity is a sha256$… hash")
    identity = (
        recipient_identity
        if recipient_identity is not None
        else hash_email(str(recipient_email), salt)
    )
    if expires is not None and expires <= issued_on:
        raise Ob2Error("expires must be after issuedOn")
    document: JsonObject = {
        "@context": OB2_CONTEXT,
        "type": "Assertion",
        "id": assertion_id,
        "recipient": {
            "type": "email",
            "hashed": True,
            "salt": salt,
            "identity": identity,
        },
        "badge": badge_class_id,
        "issuedOn": _timestamp(issued_on),
        "verification": {"type": "SignedBadge", "creator": key_id},
    }
    if expires is not None:
        document["expires"] = _timestamp(expires)
    if evidence_narrative or evidence_url:
        evidence: JsonObject = {"type": "Evidence"}
        if evidence_url:
            evidence["id"] = evidence_url
        if evidence_narrative:
            evidence["narrative"] = evidence_narrative
        document["evidence"] = [evidence]
    return document


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise Ob2Error("datetimes must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- JWS -------------------------------------------------------------------------


def sign_assertion(assertion: Mapping[str, Any], private_key: rsa.RSAPrivateKey) -> str:
    """Return the compact JWS (``{"alg":"RS256"}``) whose payload is ``assertion``."""
    if private_key.key_size < MIN_RSA_KEY_SIZE:
        raise Ob2Error(f"RSA keys are at least {MIN_RSA_KEY_SIZE} bits")
    header = _b64url(_json_bytes({"alg": JWS_ALGORITHM}))
    payload = _b64url(_json_bytes(dict(assertion)))
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64url(signature)}"


def read_signed_assertion(jws: str) -> JsonObject:
    """Return the JWS payload (the assertion) WITHOUT checking the signature.

    For finding which documents to fetch before :func:`verify_signed_assertion`.

    :raises Ob2Error: if ``jws`` is not a compact JWS with a JSON object payload.
    """
    return _decode_jws(jws)[1]


def _decode_jws(jws: str) -> tuple[JsonObject, JsonObject, bytes, bytes]:
    parts = jws.strip().split(".")
    if len(parts) != 3 or not all(parts):
        raise Ob2Error("not a compact JWS (header.payload.signature)")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        payload = json.loads(_b64url_decode(parts[1]))
        signature = _b64url_decode(parts[2])
    except (ValueError, binascii.Error) as exc:
        raise Ob2Error(f"the JWS could not be decoded: {exc}") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise Ob2Error("the JWS header and payload must be JSON objects")
    return header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def _json_bytes(value: JsonObject) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64url_decode(text: str) -> bytes:
    if not text.isascii() or any(c in "+/=" for c in text):
        raise ValueError("not base64url without padding")
    return base64.b64decode(
        text + "=" * (-len(text) % 4), altchars=b"-_", validate=True
    )


# --- verification ----------------------------------------------------------------


def verify_signed_assertion(
    jws: str,
    *,
    documents: Mapping[str, Mapping[str, Any]],
    now: datetime,
    email: str | None = None,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> SignedAssertionCheck:
    """Verify an OB 2.0 signed assertion against documents the caller fetched.

    ``documents`` maps URLs to the JSON found there: the BadgeClass, the
    Issuer, the CryptographicKey and the RevocationList. Checks: RS256
    signature by ``verification.creator``; the key's ``owner`` is the issuer
    and the issuer lists the key under ``publicKey``; the badge class names
    the issuer; the assertion is not in ``revokedAssertions`` (a single
    entry given as an object, not a list, still counts); ``issuedOn`` is not in
    the future and ``expires`` has not passed at ``now``; when ``email`` is
    given, it (trimmed, lowercased) matches the hashed recipient.
    """
    try:
        header, payload, signing_input, signature = _decode_jws(jws)
    except Ob2Error as exc:
        return SignedAssertionCheck(False, (str(exc),), None, False, None)

    errors: list[str] = []
    if header.get("alg") != JWS_ALGORITHM:
        errors.append(
            f"the JWS algorithm is {header.get('alg')!r}; only {JWS_ALGORITHM} is accepted"
        )
    errors += _assertion_shape_errors(payload)

    badge = _node(payload.get("badge"), documents)
    if badge is None:
        errors.append(f"the badge class {payload.get('badge')} could not be retrieved")
    # Always the hosted profile: an issuer embedded in a badge class could list
    # any key, so it is not trusted to authorise one.
    issuer_url = _id_of(badge.get("issuer")) if badge is not None else None
    issuer = _document(documents, issuer_url)
    if badge is not None and issuer is None:
        errors.append(f"the issuer profile {issuer_url} could not be retrieved")
    if issuer is not None and issuer.get("id", issuer_url) != issuer_url:
        errors.append(
            f"the issuer profile at {issuer_url} has a different id ({issuer.get('id')})"
        )

    verification = payload.get("verification")
    creator = verification.get("creator") if isinstance(verification, Mapping) else None
    if not isinstance(creator, str) or not creator:
        errors.append("the assertion names no signing key (verification.creator)")
    else:
        errors += _signature_errors(
            creator, documents, issuer_url, issuer, signing_input, signature
        )

    revoked: bool | None = None
    if issuer is not None:
        revoked, revocation_errors = _revocation(payload.get("id"), issuer, documents)
        errors += revocation_errors
    expired, time_errors = _time_errors(payload, now, clock_skew)
    errors += time_errors
    if email is not None and not _recipient_matches(payload.get("recipient"), email):
        errors.append("the recipient email does not match the assertion's recipient")
    return SignedAssertionCheck(
        verified=not errors,
        errors=tuple(errors),
        revoked=revoked,
        expired=expired,
        assertion=payload,
    )


def _assertion_shape_errors(payload: Mapping[str, Any]) -> list[str]:
    errors = []
    if "Assertion" not in _types(payload.get("type")):
        errors.append("the JWS payload is not an OB 2.0 Assertion")
    if not isinstance(payload.get("id"), str) or not payload.get("id"):
        errors.append("the assertion has no id")
    verification = payload.get("verification")
    kind = verification.get("type") if isinstance(verification, Mapping) else None
    if "SignedBadge" not in _types(kind):
        errors.append("the assertion's verification type is not SignedBadge")
    return errors


def _signature_errors(
    creator: str,
    documents: Mapping[str, Mapping[str, Any]],
    issuer_url: str | None,
    issuer: Mapping[str, Any] | None,
    signing_input: bytes,
    signature: bytes,
) -> list[str]:
    key_document = _document(documents, creator)
    if key_document is None:
        return [f"the signing key {creator} could not be retrieved"]
    errors = []
    if "CryptographicKey" not in _types(key_document.get("type")):
        errors.append(f"the document at {creator} is not a CryptographicKey")
    if _id_of(key_document.get("owner")) != issuer_url:
        errors.append(
            f"the signing key {creator} is owned by {key_document.get('owner')}, "
            f"not by the issuer {issuer_url}"
        )
    if issuer is not None:
        listed = [_id_of(item) for item in _as_list(issuer.get("publicKey"))]
        if creator not in listed:
            errors.append(
                f"the issuer {issuer_url} does not list the signing key {creator} "
                "under publicKey"
            )
    try:
        key = load_public_key_pem(str(key_document.get("publicKeyPem", "")))
    except Ob2Error as exc:
        return [*errors, f"the signing key {creator}: {exc}"]
    try:
        key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        errors.append("the signature does not match the assertion (invalid signature)")
    return errors


def _revocation(
    assertion_id: Any,
    issuer: Mapping[str, Any],
    documents: Mapping[str, Mapping[str, Any]],
) -> tuple[bool | None, list[str]]:
    list_ref = issuer.get("revocationList")
    if list_ref is None:
        return False, []
    listing = _node(list_ref, documents)
    if listing is None:
        return None, [f"the revocation list {_id_of(list_ref)} could not be retrieved"]
    if "RevocationList" not in _types(listing.get("type")):
        return None, [f"the document at {_id_of(list_ref)} is not a RevocationList"]
    # JSON-LD compaction turns a one-entry list into a bare entry: accept both.
    for entry in _as_list(listing.get("revokedAssertions")):
        if _id_of(entry) != assertion_id:
            continue
        reason = entry.get("revocationReason") if isinstance(entry, Mapping) else None
        message = f"the assertion {assertion_id} has been revoked by its issuer"
        return True, [f"{message}: {reason}" if reason else message]
    return False, []


def _time_errors(
    payload: Mapping[str, Any], now: datetime, clock_skew: timedelta
) -> tuple[bool, list[str]]:
    errors = []
    issued_on = parse_xml_datetime(payload.get("issuedOn"))
    if issued_on is None:
        errors.append(
            "issuedOn is missing or not an ISO 8601 datetime with a time zone"
        )
    elif issued_on > now + clock_skew:
        errors.append(
            f"the assertion's issue date {payload['issuedOn']} is in the future"
        )
    expired = False
    if "expires" in payload:
        expires = parse_xml_datetime(payload.get("expires"))
        if expires is None:
            errors.append("expires is not an ISO 8601 datetime with a time zone")
        elif issued_on is not None and expires < issued_on:
            errors.append("the assertion expires before it was issued")
        elif expires < now - clock_skew:
            expired = True
            errors.append(f"the assertion expired at {payload['expires']}")
    return expired, errors


def _recipient_matches(recipient: Any, email: str) -> bool:
    if not isinstance(recipient, Mapping) or recipient.get("type") != "email":
        return False
    identity = recipient.get("identity")
    if not isinstance(identity, str):
        return False
    candidate = normalise_email(email)
    if recipient.get("hashed") is not True:
        return hmac.compare_digest(normalise_email(identity), candidate)
    algorithm, _, digest = identity.partition("$")
    data = (candidate + str(recipient.get("salt") or "")).encode("utf-8")
    if algorithm.lower() == "sha256":
        actual = hashlib.sha256(data).hexdigest()
    elif algorithm.lower() == "md5":  # OB 2.0 allows md5 hashes from other issuers
        actual = hashlib.md5(data, usedforsecurity=False).hexdigest()
    else:
        return False
    return hmac.compare_digest(actual, digest.lower())


def _node(
    reference: Any, documents: Mapping[str, Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """Resolve a reference: a URL looked up in ``documents`` or an embedded object."""
    if isinstance(reference, str):
        return _document(documents, reference)
    if isinstance(reference, Mapping):
        if set(reference) == {"id"}:  # a bare {"id": url} reference
            return _document(documents, _id_of(reference))
        return reference
    return None


def _document(
    documents: Mapping[str, Mapping[str, Any]], url: str | None
) -> Mapping[str, Any] | None:
    found = documents.get(url) if url is not None else None
    return found if isinstance(found, Mapping) else None


def _id_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _types(value: Any) -> list[str]:
    return [item for item in _as_list(value) if isinstance(item, str)]
