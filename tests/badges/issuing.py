"""Test issuer: throwaway Ed25519 keys, DID documents and signed tier badges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from badges.credentials import (
    AchievementDefinition,
    Alignment,
    EvidenceItem,
    IssuerProfile,
    StatusAllocation,
    bitstring_status_list_credential,
    open_badge_credential,
)
from badges.keys import did_document, verification_method
from badges.proofs import add_proof

ISSUER_DID = "did:web:badges.example.org"
OTHER_DID = "did:web:impostor.example.net"
ISSUED_AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
CHECKED_AT = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
STATUS_LIST_URL = "https://badges.example.org/status/1"
RECIPIENT = "Dana.Agent@Example.com"
SALT = "c2FsdC1mb3ItdGVzdHM"

TIER_ONE = AchievementDefinition(
    id="https://badges.example.org/achievements/tier-1",
    name="Tier 1 Customer Care Specialist",
    description="Completed all Tier 1 modules and one job rotation.",
    criteria_narrative="Complete modules 1-6; post-assessment >= 80%.",
    image_url="https://badges.example.org/achievements/tier-1.png",
    alignments=(
        Alignment(
            target_name="Active listening",
            target_url="https://badges.example.org/skills/active-listening",
            target_type="ceasn:Competency",
        ),
    ),
)


@dataclass(frozen=True)
class IssuerKey:
    """A throwaway signing key and its Multikey verification method."""

    did: str
    fragment: str
    private_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def method_id(self) -> str:
        return f"{self.did}#{self.fragment}"

    @property
    def method(self) -> dict[str, Any]:
        return verification_method(
            self.did, self.fragment, self.private_key.public_key()
        )


def make_key(fragment: str = "key-2026-01", did: str = ISSUER_DID) -> IssuerKey:
    return IssuerKey(did=did, fragment=fragment)


def document_for(
    *keys: IssuerKey, authorised: list[str] | None = None
) -> dict[str, Any]:
    """Return the DID document of the keys' DID listing every key."""
    return did_document(keys[0].did, [key.method for key in keys], authorised)


def tier_badge(
    *,
    issuer_did: str = ISSUER_DID,
    status_index: int | None = 7,
    valid_from: datetime = ISSUED_AT,
    valid_until: datetime | None = ISSUED_AT + timedelta(days=730),
) -> dict[str, Any]:
    """Return an unsigned Tier 1 badge for RECIPIENT."""
    return open_badge_credential(
        credential_id="urn:uuid:7f1d8a52-3c1e-4f5b-9a0e-2b7c6d5e4f3a",
        issuer=IssuerProfile(
            did=issuer_did,
            name="Contact Center Academy",
            url="https://badges.example.org",
        ),
        achievement=TIER_ONE,
        recipient_email=RECIPIENT,
        salt=SALT,
        valid_from=valid_from,
        valid_until=valid_until,
        evidence=[EvidenceItem(name="Post-assessment", narrative="Scored 87%.")],
        status=(
            None
            if status_index is None
            else StatusAllocation(list_url=STATUS_LIST_URL, index=status_index)
        ),
    )


def sign(document: dict[str, Any], key: IssuerKey) -> dict[str, Any]:
    return add_proof(document, key.private_key, key.method_id, ISSUED_AT)


def status_list(key: IssuerKey, revoked: list[int]) -> dict[str, Any]:
    """Return a revocation status list signed by ``key``."""
    unsigned = bitstring_status_list_credential(
        list_url=STATUS_LIST_URL,
        issuer_id=key.did,
        revoked_indices=revoked,
        valid_from=ISSUED_AT - timedelta(days=1),
    )
    return add_proof(unsigned, key.private_key, key.method_id, ISSUED_AT)
