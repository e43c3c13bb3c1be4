"""The same badges as Open Badges 2.0 signed assertions, for 2.0-only backpacks.

Every OB 3.0 credential has a 2.0 twin: an ``Assertion`` (SignedBadge, a JWS
signed RS256 with the deployment's OB 2.0 key) pointing at a hosted
``BadgeClass`` and ``Issuer``; the issuer names its ``CryptographicKey`` and a
``RevocationList`` that lists every revoked credential. The recipient is the
very same salted hash as in the 3.0 credential (tierpath keeps no plain email
with a badge). Assertions are signed when asked for (RSA PKCS#1 v1.5 is
deterministic: the same key gives the same JWS), so rotating the 2.0 key needs
no re-signing job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from badges import ob2
from lti_tool.db.models import BadgeCredential
from lti_tool.domain.programs import Program, Tier
from lti_tool.keys import KeyEncryptor
from lti_tool.services.badge_keys import (
    current_ob2_signer,
    ensure_ob2_key,
    ob2_public_key,
)
from lti_tool.services.badges import Issuer, achievement_for


@dataclass(frozen=True)
class Ob2Urls:
    """Where the hosted OB 2.0 documents live, under the deployment's origin."""

    origin: str

    @property
    def issuer(self) -> str:
        return f"{self.origin}/ob2/issuer"

    @property
    def revocations(self) -> str:
        return f"{self.origin}/ob2/revocations"

    def key(self, kid: str) -> str:
        return f"{self.origin}/ob2/keys/{kid}"

    def badge_class(self, program_id: str, tier_id: str) -> str:
        return f"{self.origin}/ob2/badges/{program_id}/{tier_id}"

    def assertion(self, credential_id: str) -> str:
        return f"{self.origin}/ob2/assertions/{credential_id}"


def issuer_document(
    session: orm.Session, encryptor: KeyEncryptor, issuer: Issuer, now: datetime
) -> dict[str, Any]:
    """The hosted Issuer profile: it names the current key and the revocation list."""
    urls = Ob2Urls(issuer.origin)
    ensure_ob2_key(session, encryptor, now)
    signer = current_ob2_signer(session, encryptor)
    return ob2.issuer_profile(
        issuer_id=urls.issuer,
        name=issuer.name,
        url=issuer.origin,
        public_key_id=urls.key(signer.kid),
        revocation_list_url=urls.revocations,
    )


def key_document(
    session: orm.Session, issuer: Issuer, kid: str
) -> dict[str, Any] | None:
    """A hosted CryptographicKey (current or retired) owned by the issuer."""
    public = ob2_public_key(session, kid)
    if public is None:
        return None
    urls = Ob2Urls(issuer.origin)
    return ob2.cryptographic_key(
        key_id=urls.key(kid), owner=urls.issuer, public_key=public
    )


def badge_class_document(
    issuer: Issuer, program: Program, tier: Tier
) -> dict[str, Any]:
    """The tier as a hosted BadgeClass (same text and skills as the 3.0 Achievement)."""
    achievement = achievement_for(issuer, program, tier)
    return ob2.badge_class(
        badge_id=Ob2Urls(issuer.origin).badge_class(program.id, tier.id),
        issuer_id=Ob2Urls(issuer.origin).issuer,
        name=achievement.name,
        description=achievement.description,
        image=f"{achievement.id}/image.png",
        criteria_url=achievement.id,
        criteria_narrative=achievement.criteria_narrative,
        alignments=achievement.alignments,
        tags=(program.title,),
    )


def _recipient(credential: BadgeCredential) -> tuple[str, str]:
    """The 3.0 credential's (identityHash, salt): the 2.0 recipient is the same."""
    identifiers = credential.document["credentialSubject"]["identifier"]
    identity = next(i for i in identifiers if i.get("identityType") == "emailAddress")
    return str(identity["identityHash"]), str(identity["salt"])


def assertion_document(
    credential: BadgeCredential, issuer: Issuer, kid: str
) -> dict[str, Any]:
    """The unsigned OB 2.0 Assertion of a credential (the JWS payload)."""
    urls = Ob2Urls(issuer.origin)
    identity, salt = _recipient(credential)
    narratives = [
        f"{item.get('name')}: {item.get('narrative')}"
        for item in credential.document.get("evidence", [])
    ]
    document = ob2.assertion(
        assertion_id=urls.assertion(credential.id),
        badge_class_id=urls.badge_class(credential.program_id, credential.tier_id),
        recipient_identity=identity,  # the 3.0 twin's hash: no email is kept
        salt=salt,
        issued_on=credential.issued_at,
        key_id=urls.key(kid),
        expires=credential.valid_until,
        evidence_narrative=" ".join(narratives) or None,
    )
    return document


def signed_assertion(
    session: orm.Session,
    encryptor: KeyEncryptor,
    issuer: Issuer,
    credential: BadgeCredential,
    now: datetime,
) -> str:
    """The credential as a compact JWS (RS256) with the current OB 2.0 key."""
    ensure_ob2_key(session, encryptor, now)
    signer = current_ob2_signer(session, encryptor)
    payload = assertion_document(credential, issuer, signer.kid)
    return ob2.sign_assertion(payload, signer.private_key)


def revocation_list_document(session: orm.Session, issuer: Issuer) -> dict[str, Any]:
    """Every revoked credential's 2.0 assertion id, with the reason."""
    urls = Ob2Urls(issuer.origin)
    revoked = session.execute(
        sa.select(BadgeCredential.id, BadgeCredential.revoked_reason)
        .where(BadgeCredential.revoked_at.is_not(None))
        .order_by(BadgeCredential.revoked_at, BadgeCredential.id)
    ).all()
    return ob2.revocation_list(
        list_id=urls.revocations,
        issuer_id=urls.issuer,
        revoked=[
            ob2.RevokedAssertion(urls.assertion(cid), reason) for cid, reason in revoked
        ],
    )
