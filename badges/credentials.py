"""Open Badges 3.0 ``OpenBadgeCredential`` and Bitstring Status List documents.

Shapes follow OB 3.0 (1EdTech, May 2024) ``AchievementCredential`` and W3C
Bitstring Status List v1.0. Builders return unsigned JSON; sign with
``badges.proofs.add_proof``.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from badges.jsonld import JsonObject
from badges.multibase import decode_base64url, encode_base64url
from badges.proofs import xml_datetime

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
# Order matters: VCDM 2.0 first, then the OB context, then the 1EdTech extensions.
OB_CONTEXTS = (CREDENTIALS_V2, OB_CONTEXT, OB_EXTENSIONS)

# Bitstring Status List v1.0 §6.1: at least 131,072 entries (16 KiB) for herd privacy.
MIN_STATUS_LIST_BITS = 131_072


@dataclass(frozen=True)
class IssuerProfile:
    """The issuing organisation: a did:web DID plus display name and home page."""

    did: str
    name: str
    url: str


@dataclass(frozen=True)
class Alignment:
    """A skill or competency an achievement aligns to (OB 3.0 ``Alignment``).

    ``target_type`` is an ``AlignmentTargetType`` such as ``"ceasn:Competency"``.
    """

    target_name: str
    target_url: str
    target_type: str | None = None
    target_code: str | None = None
    target_description: str | None = None


@dataclass(frozen=True)
class AchievementDefinition:
    """What a tier badge certifies (OB 3.0 ``Achievement``)."""

    id: str
    name: str
    description: str
    criteria_narrative: str
    image_url: str
    alignments: tuple[Alignment, ...] = ()
    achievement_type: str = "Badge"


@dataclass(frozen=True)
class EvidenceItem:
    """A minimal-disclosure piece of evidence: what was done, not the raw data."""

    name: str
    narrative: str
    description: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class StatusAllocation:
    """A credential's slot in a revocation Bitstring Status List credential."""

    list_url: str
    index: int


def normalise_email(email: str) -> str:
    """Trim and lowercase an email address (no spec rule does it for us)."""
    return email.strip().lower()


def hash_email(email: str, salt: str) -> str:
    """Return the OB 3.0 ``identityHash`` of a normalised email: ``sha256$<hex>``."""
    digest = hashlib.sha256((normalise_email(email) + salt).encode("utf-8"))
    return "sha256$" + digest.hexdigest()


def email_identity(email: str, salt: str) -> JsonObject:
    """Build a hashed, salted ``emailAddress`` ``IdentityObject``."""
    return {
        "type": "IdentityObject",
        "identityType": "emailAddress",
        "hashed": True,
        "identityHash": hash_email(email, salt),
        "salt": salt,
    }


def recipient_matches(credential: Mapping[str, Any], email: str) -> bool:
    """Tell whether an email is the recipient named by the credential's identifiers.

    Follows OB 3.0 verification "Verify the Recipient Using an Identifier":
    other identity types are skipped; hashed ones are recomputed with their salt.
    """
    subject = credential.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    candidate = normalise_email(email)
    for item in subjects:
        if not isinstance(item, Mapping):
            continue
        for identity in item.get("identifier", []):
            if not isinstance(identity, Mapping):
                continue
            if identity.get("identityType") != "emailAddress":
                continue
            expected = str(identity.get("identityHash", ""))
            if identity.get("hashed") is True:
                actual = _identity_hash(
                    candidate, str(identity.get("salt", "")), expected
                )
            else:
                actual = candidate
                expected = normalise_email(expected)
            if actual is not None and hmac.compare_digest(actual, expected):
                return True
    return False


def _identity_hash(value: str, salt: str, expected: str) -> str | None:
    algorithm, _, _ = expected.partition("$")
    if algorithm == "sha256":
        return "sha256$" + hashlib.sha256((value + salt).encode("utf-8")).hexdigest()
    if algorithm == "md5":  # OB 3.0 still allows md5 identity hashes from other issuers
        digest = hashlib.md5((value + salt).encode("utf-8"), usedforsecurity=False)
        return "md5$" + digest.hexdigest()
    return None


def open_badge_credential(
    *,
    credential_id: str,
    issuer: IssuerProfile,
    achievement: AchievementDefinition,
    recipient_email: str,
    salt: str,
    valid_from: datetime,
    valid_until: datetime | None = None,
    evidence: Iterable[EvidenceItem] = (),
    status: StatusAllocation | None = None,
) -> JsonObject:
    """Build an unsigned OB 3.0 ``OpenBadgeCredential`` for one tier achievement."""
    credential: JsonObject = {
        "@context": list(OB_CONTEXTS),
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": issuer.did,
            "type": ["Profile"],
            "name": issuer.name,
            "url": issuer.url,
        },
        "validFrom": xml_datetime(valid_from),
        "name": achievement.name,
        "description": achievement.description,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [email_identity(recipient_email, salt)],
            "achievement": _achievement(achievement),
        },
    }
    if valid_until is not None:
        credential["validUntil"] = xml_datetime(valid_until)
    evidence_items = [_evidence(item) for item in evidence]
    if evidence_items:
        credential["evidence"] = evidence_items
    if status is not None:
        credential["credentialStatus"] = status_entry(status)
    return credential


def achievement_document(definition: AchievementDefinition) -> JsonObject:
    """The Achievement on its own, with the OB contexts: what its id serves."""
    return {"@context": list(OB_CONTEXTS), **_achievement(definition)}


def _achievement(definition: AchievementDefinition) -> JsonObject:
    achievement: JsonObject = {
        "id": definition.id,
        "type": ["Achievement"],
        "achievementType": definition.achievement_type,
        "name": definition.name,
        "description": definition.description,
        "criteria": {"narrative": definition.criteria_narrative},
        "image": {"id": definition.image_url, "type": "Image"},
    }
    if definition.alignments:
        achievement["alignment"] = [_alignment(item) for item in definition.alignments]
    return achievement


def _alignment(alignment: Alignment) -> JsonObject:
    result: JsonObject = {
        "type": ["Alignment"],
        "targetName": alignment.target_name,
        "targetUrl": alignment.target_url,
    }
    optional = {
        "targetType": alignment.target_type,
        "targetCode": alignment.target_code,
        "targetDescription": alignment.target_description,
    }
    result.update({key: value for key, value in optional.items() if value is not None})
    return result


def _evidence(item: EvidenceItem) -> JsonObject:
    result: JsonObject = {"type": ["Evidence"]}
    if item.id is not None:
        result["id"] = item.id
    result["name"] = item.name
    if item.description is not None:
        result["description"] = item.description
    result["narrative"] = item.narrative
    return result


def status_entry(status: StatusAllocation) -> JsonObject:
    """Build a ``BitstringStatusListEntry`` for revocation."""
    if status.index < 0:
        raise ValueError("status list index must not be negative")
    return {
        "id": f"{status.list_url}#{status.index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(status.index),
        "statusListCredential": status.list_url,
    }


def encode_status_list(set_indices: Iterable[int], size_bits: int) -> str:
    """Encode a bitstring as ``u`` + base64url(gzip(bits)); bit 0 is the MSB of byte 0."""
    if size_bits < MIN_STATUS_LIST_BITS or size_bits % 8:
        raise ValueError(
            f"status lists hold a multiple of 8 and at least {MIN_STATUS_LIST_BITS} bits"
        )
    bits = bytearray(size_bits // 8)
    for index in set_indices:
        if not 0 <= index < size_bits:
            raise ValueError(f"status index {index} is outside the list")
        bits[index // 8] |= 0x80 >> (index % 8)
    return encode_base64url(gzip.compress(bytes(bits), mtime=0))


# A status list of 16M entries is 2 MiB uncompressed; anything larger is refused
# rather than inflated (a gzip bomb from another issuer must not exhaust memory).
MAX_STATUS_LIST_BYTES = 2 * 1024 * 1024


def _inflate(compressed: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
    try:
        bits = inflater.decompress(compressed, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"the status list is not valid gzip data ({exc})") from None
    if len(bits) > limit:
        raise ValueError(f"the status list is larger than {limit} bytes")
    if not inflater.eof:
        raise ValueError("the status list is cut short")
    return bits


def status_bit(encoded_list: str, index: int) -> bool:
    """Read one bit of an ``encodedList`` (true = status set, e.g. revoked).

    Raises ValueError for a list that is not gzip, is cut short, inflates beyond
    ``MAX_STATUS_LIST_BYTES``, or does not hold ``index``.
    """
    bits = _inflate(decode_base64url(encoded_list), MAX_STATUS_LIST_BYTES)
    if not 0 <= index < len(bits) * 8:
        raise ValueError(f"status index {index} is outside the list")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def bitstring_status_list_credential(
    *,
    list_url: str,
    issuer_id: str,
    revoked_indices: Iterable[int],
    valid_from: datetime,
    valid_until: datetime | None = None,
    size_bits: int = MIN_STATUS_LIST_BITS,
) -> JsonObject:
    """Build an unsigned revocation ``BitstringStatusListCredential``.

    Sign it with the same issuer key as the badges it covers: verifiers require
    matching issuers.
    """
    credential: JsonObject = {
        "@context": [CREDENTIALS_V2],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id,
        "validFrom": xml_datetime(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_status_list(revoked_indices, size_bits),
        },
    }
    if valid_until is not None:
        credential["validUntil"] = xml_datetime(valid_until)
    return credential
