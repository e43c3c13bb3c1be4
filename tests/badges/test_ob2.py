"""Open Badges 2.0 signed assertions: documents, RS256 JWS, verification.

The helpers at the top (``Ob2Issuer``, ``documents_for``, ...) are also used
by ``test_ob2_oracle.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from badges import ob2
from badges.credentials import Alignment, normalise_email
from tests.badges.issuing import CHECKED_AT, ISSUED_AT, RECIPIENT, SALT

ORIGIN = "https://badges.example.org"
ISSUER_URL = f"{ORIGIN}/ob2/issuer"
KEY_URL = f"{ORIGIN}/ob2/keys/2026-01"
OTHER_KEY_URL = f"{ORIGIN}/ob2/keys/2026-02"
REVOCATIONS_URL = f"{ORIGIN}/ob2/revocations"
BADGE_URL = f"{ORIGIN}/ob2/badges/tier-1"
IMAGE_URL = f"{ORIGIN}/ob2/badges/tier-1.png"
ASSERTION_URL = f"{ORIGIN}/ob2/assertions/7f1d8a52-3c1e-4f5b-9a0e-2b7c6d5e4f3a"
OTHER_ASSERTIONS = (f"{ORIGIN}/ob2/assertions/1", f"{ORIGIN}/ob2/assertions/2")
IMPOSTOR_URL = "https://impostor.example.net/ob2/issuer"
FAR_FUTURE = datetime(2099, 1, 1, tzinfo=ISSUED_AT.tzinfo)
Documents = dict[str, Any]


@cache
def rsa_key(name: str = "issuer") -> rsa.RSAPrivateKey:
    """A 2048-bit key per name, generated once per test run."""
    return ob2.generate_rsa_key()


def make_assertion(
    *,
    expires: datetime | None = FAR_FUTURE,
    issued_on: datetime = ISSUED_AT,
    key_url: str = KEY_URL,
    badge: str = BADGE_URL,
    email: str = RECIPIENT,
) -> dict[str, Any]:
    return ob2.assertion(
        assertion_id=ASSERTION_URL,
        badge_class_id=badge,
        recipient_email=email,
        salt=SALT,
        issued_on=issued_on,
        key_id=key_url,
        expires=expires,
        evidence_narrative="Scored 87% on the post-assessment.",
        evidence_url=f"{ORIGIN}/evidence/abc",
    )


def documents_for(
    *,
    revoked: tuple[str, ...] = OTHER_ASSERTIONS,
    key: rsa.RSAPrivateKey | None = None,
    listed_key: str = KEY_URL,
    image: str | None = None,
) -> Documents:
    """The hosted documents of the test issuer: url -> JSON (or an image data URI)."""
    public = (key or rsa_key()).public_key()
    documents: Documents = {
        ISSUER_URL: ob2.issuer_profile(
            issuer_id=ISSUER_URL,
            name="Contact Center Academy",
            url=ORIGIN,
            email="badges@example.org",
            public_key_id=listed_key,
            revocation_list_url=REVOCATIONS_URL,
        ),
        KEY_URL: ob2.cryptographic_key(
            key_id=KEY_URL, owner=ISSUER_URL, public_key=public
        ),
        REVOCATIONS_URL: ob2.revocation_list(
            list_id=REVOCATIONS_URL,
            issuer_id=ISSUER_URL,
            revoked=[ob2.RevokedAssertion(item, "Issued in error") for item in revoked],
        ),
        BADGE_URL: ob2.badge_class(
            badge_id=BADGE_URL,
            issuer_id=ISSUER_URL,
            name="Tier 1 Customer Care Specialist",
            description="Completed all Tier 1 modules and one job rotation.",
            image=IMAGE_URL,
            criteria_url=f"{ORIGIN}/ob2/badges/tier-1/criteria",
            criteria_narrative="Complete modules 1-6; post-assessment >= 80%.",
            alignments=[
                Alignment(
                    target_name="Active listening",
                    target_url=f"{ORIGIN}/skills/active-listening",
                    target_type="ceasn:Competency",
                    target_code="AL-1",
                )
            ],
            tags=["contact-center", "tier-1"],
        ),
    }
    if image is not None:
        documents[IMAGE_URL] = image
    return documents


def verify(
    jws: str, documents: Documents, email: str | None = None, now: datetime = CHECKED_AT
) -> ob2.SignedAssertionCheck:
    return ob2.verify_signed_assertion(jws, documents=documents, now=now, email=email)


def tamper_payload(jws: str, **changes: Any) -> str:
    """Change assertion fields but keep the original header and signature."""
    header, payload, signature = jws.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{encoded}.{signature}"


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


# --- documents -------------------------------------------------------------------


def test_issuer_profile_lists_its_key_and_revocation_list() -> None:
    profile = documents_for()[ISSUER_URL]
    assert profile == {
        "@context": "https://w3id.org/openbadges/v2",
        "id": ISSUER_URL,
        "type": "Issuer",
        "name": "Contact Center Academy",
        "url": ORIGIN,
        "email": "badges@example.org",
        "publicKey": KEY_URL,
        "revocationList": REVOCATIONS_URL,
    }


def test_issuer_profile_optional_fields_and_its_key() -> None:
    profile = ob2.issuer_profile(
        issuer_id=ISSUER_URL,
        name="CCA",
        url=ORIGIN,
        public_key_id=KEY_URL,
        revocation_list_url=None,
    )
    assert profile["publicKey"] == KEY_URL
    assert "revocationList" not in profile
    assert "email" not in profile
    with pytest.raises(ob2.Ob2Error, match="names its public key"):
        ob2.issuer_profile(
            issuer_id=ISSUER_URL,
            name="CCA",
            url=ORIGIN,
            public_key_id="",
            revocation_list_url=None,
        )


def test_cryptographic_key_carries_the_public_pem_of_its_owner() -> None:
    key = documents_for()[KEY_URL]
    assert key["@context"] == ob2.OB2_CONTEXT
    assert key["type"] == "CryptographicKey"
    assert (key["id"], key["owner"]) == (KEY_URL, ISSUER_URL)
    assert key["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert "PRIVATE" not in key["publicKeyPem"]
    loaded = ob2.load_public_key_pem(key["publicKeyPem"])
    assert loaded.public_numbers() == rsa_key().public_key().public_numbers()


def test_badge_class_has_criteria_alignment_and_tags() -> None:
    badge = documents_for()[BADGE_URL]
    assert badge["type"] == "BadgeClass"
    assert badge["issuer"] == ISSUER_URL
    assert badge["image"] == IMAGE_URL
    assert badge["criteria"] == {
        "id": f"{ORIGIN}/ob2/badges/tier-1/criteria",
        "narrative": "Complete modules 1-6; post-assessment >= 80%.",
    }
    # OB 2.0 has no targetType: the OB 3.0-only field is left out.
    assert badge["alignment"] == [
        {
            "targetName": "Active listening",
            "targetUrl": f"{ORIGIN}/skills/active-listening",
            "targetCode": "AL-1",
        }
    ]
    assert badge["tags"] == ["contact-center", "tier-1"]


def test_badge_class_needs_criteria() -> None:
    with pytest.raises(ob2.Ob2Error, match="criteria"):
        ob2.badge_class(
            badge_id=BADGE_URL,
            issuer_id=ISSUER_URL,
            name="n",
            description="d",
            image=IMAGE_URL,
        )
    narrative_only = ob2.badge_class(
        badge_id=BADGE_URL,
        issuer_id=ISSUER_URL,
        name="n",
        description="d",
        image=IMAGE_URL,
        criteria_narrative="Do the work.",
    )
    assert narrative_only["criteria"] == {"narrative": "Do the work."}
    assert "alignment" not in narrative_only
    assert "tags" not in narrative_only


@pytest.mark.parametrize("count", [0, 1, 2])
def test_revocation_list_is_always_a_list(count: int) -> None:
    revoked = [ob2.RevokedAssertion(f"{ORIGIN}/a/{i}") for i in range(count)]
    revoked_with_reason = [ob2.RevokedAssertion(f"{ORIGIN}/r", "Issued in error")]
    listing = ob2.revocation_list(
        list_id=REVOCATIONS_URL, issuer_id=ISSUER_URL, revoked=revoked
    )
    assert listing["type"] == "RevocationList"
    assert listing["revokedAssertions"] == [{"id": item.id} for item in revoked]
    with_reason = ob2.revocation_list(
        list_id=REVOCATIONS_URL, issuer_id=ISSUER_URL, revoked=revoked_with_reason
    )
    assert with_reason["revokedAssertions"] == [
        {"id": f"{ORIGIN}/r", "revocationReason": "Issued in error"}
    ]


def test_assertion_hashes_the_normalised_email_with_the_salt() -> None:
    assertion = make_assertion(email="  Dana.Agent@EXAMPLE.com ")
    expected = hashlib.sha256(b"dana.agent@example.com" + SALT.encode()).hexdigest()
    assert assertion["recipient"] == {
        "type": "email",
        "hashed": True,
        "salt": SALT,
        "identity": f"sha256${expected}",
    }
    assert "dana" not in json.dumps(assertion).lower()


def test_assertion_fields() -> None:
    assertion = make_assertion()
    assert assertion["@context"] == ob2.OB2_CONTEXT
    assert assertion["type"] == "Assertion"
    assert assertion["id"] == ASSERTION_URL
    assert assertion["badge"] == BADGE_URL
    assert assertion["issuedOn"] == "2026-01-15T12:00:00Z"
    assert assertion["expires"] == "2099-01-01T00:00:00Z"
    assert assertion["verification"] == {"type": "SignedBadge", "creator": KEY_URL}
    assert assertion["evidence"] == [
        {
            "type": "Evidence",
            "id": f"{ORIGIN}/evidence/abc",
            "narrative": "Scored 87% on the post-assessment.",
        }
    ]
    assert "expires" not in make_assertion(expires=None)


def test_assertion_refuses_bad_dates_and_empty_salt() -> None:
    with pytest.raises(ob2.Ob2Error, match="after issuedOn"):
        make_assertion(expires=ISSUED_AT)
    with pytest.raises(ob2.Ob2Error, match="timezone-aware"):
        make_assertion(issued_on=datetime(2026, 1, 15), expires=None)  # noqa: DTZ001
    with pytest.raises(ob2.Ob2Error, match="salt"):
        ob2.assertion(
            assertion_id=ASSERTION_URL,
            badge_class_id=BADGE_URL,
            recipient_email=RECIPIENT,
            salt="",
            issued_on=ISSUED_AT,
            key_id=KEY_URL,
        )


# --- keys and JWS ----------------------------------------------------------------


def test_generated_keys_are_rsa_2048_and_small_keys_are_refused() -> None:
    assert rsa_key().key_size == 2048
    with pytest.raises(ob2.Ob2Error, match="2048"):
        ob2.generate_rsa_key(1024)
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    with pytest.raises(ob2.Ob2Error, match="2048"):
        ob2.sign_assertion(make_assertion(), small)


def test_load_public_key_pem_refuses_non_rsa_and_garbage() -> None:
    ed25519 = Ed25519PrivateKey.generate().public_key()
    pem = ed25519.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    with pytest.raises(ob2.Ob2Error, match="not an RSA"):
        ob2.load_public_key_pem(pem)
    with pytest.raises(ob2.Ob2Error, match="not a PEM"):
        ob2.load_public_key_pem("hello")
    assert ob2.public_key_pem(rsa_key()) == ob2.public_key_pem(rsa_key().public_key())


def test_signed_assertion_is_a_compact_rs256_jws() -> None:
    assertion = make_assertion()
    jws = ob2.sign_assertion(assertion, rsa_key())
    header, payload, signature = jws.split(".")
    assert json.loads(_b64decode(header)) == {"alg": "RS256"}
    assert json.loads(_b64decode(payload)) == assertion
    assert "=" not in jws
    assert len(_b64decode(signature)) == 256
    assert ob2.read_signed_assertion(jws) == assertion


def test_signature_verifies_with_pyjwt() -> None:
    """An independent JOSE library accepts the JWS and yields the same payload."""
    assertion = make_assertion()
    jws = ob2.sign_assertion(assertion, rsa_key())
    payload = jwt.PyJWS().decode(
        jws, key=ob2.public_key_pem(rsa_key()), algorithms=["RS256"]
    )
    assert json.loads(payload) == assertion


def test_signing_is_deterministic() -> None:
    """RSA PKCS#1 v1.5 has no randomness: the same assertion gives the same JWS."""
    assertion = make_assertion()
    assert ob2.sign_assertion(assertion, rsa_key()) == ob2.sign_assertion(
        assertion, rsa_key()
    )


@pytest.mark.parametrize(
    "text", ["", "abc", "a.b", "a.b.c.d", "!!.??.**", "e30.e30.", "W10.W10.c2ln"]
)
def test_read_signed_assertion_refuses_what_is_not_a_jws(text: str) -> None:
    with pytest.raises(ob2.Ob2Error):
        ob2.read_signed_assertion(text)


# --- verification ----------------------------------------------------------------


def test_a_valid_signed_assertion_verifies() -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    check = verify(jws, documents_for(), email=RECIPIENT)
    assert check.verified, check.errors
    assert check.errors == ()
    assert check.revoked is False
    assert check.expired is False
    assert check.assertion == make_assertion()


def test_the_recipient_email_is_normalised_before_comparing() -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    for typed in ["dana.agent@example.com", "  DANA.AGENT@EXAMPLE.COM\n"]:
        assert verify(jws, documents_for(), email=typed).verified


def test_a_wrong_recipient_email_fails() -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    check = verify(jws, documents_for(), email="someone.else@example.com")
    assert not check.verified
    assert check.errors == (
        "the recipient email does not match the assertion's recipient",
    )


def test_a_tampered_payload_fails_the_signature() -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    forged = tamper_payload(jws, expires="2199-01-01T00:00:00Z")
    check = verify(forged, documents_for())
    assert not check.verified
    assert check.errors == (
        "the signature does not match the assertion (invalid signature)",
    )


def test_a_tampered_signature_fails() -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    head, payload, signature = jws.split(".")
    raw = bytearray(_b64decode(signature))
    raw[10] ^= 1
    forged = f"{head}.{payload}.{base64.urlsafe_b64encode(raw).decode().rstrip('=')}"
    assert "invalid signature" in verify(forged, documents_for()).errors[0]


@pytest.mark.parametrize("alg", ["none", "HS256", "RS512", None])
def test_only_rs256_is_accepted(alg: str | None) -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    _, payload, signature = jws.split(".")
    header = {} if alg is None else {"alg": alg}
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).decode().rstrip("=")
    check = verify(f"{encoded}.{payload}.{signature}", documents_for())
    assert not check.verified
    assert any("only RS256 is accepted" in error for error in check.errors)


def test_garbage_is_reported_not_raised() -> None:
    check = verify("not a jws", documents_for())
    assert not check.verified
    assert check.assertion is None
    assert "not a compact JWS" in check.errors[0]


def test_a_key_the_issuer_does_not_list_fails() -> None:
    """Signed by a key the issuer owns but does not vouch for under publicKey."""
    jws = ob2.sign_assertion(make_assertion(key_url=OTHER_KEY_URL), rsa_key("other"))
    documents = documents_for()
    documents[OTHER_KEY_URL] = ob2.cryptographic_key(
        key_id=OTHER_KEY_URL, owner=ISSUER_URL, public_key=rsa_key("other")
    )
    check = verify(jws, documents)
    assert check.errors == (
        f"the issuer {ISSUER_URL} does not list the signing key {OTHER_KEY_URL} "
        "under publicKey",
    )


def test_other_issuers_profiles_may_list_several_keys() -> None:
    """Spec: "key(s)". We issue one (the 1EdTech validator allows one) but accept many."""
    jws = ob2.sign_assertion(make_assertion(key_url=OTHER_KEY_URL), rsa_key("other"))
    documents = documents_for()
    documents[ISSUER_URL]["publicKey"] = [KEY_URL, OTHER_KEY_URL]
    documents[OTHER_KEY_URL] = ob2.cryptographic_key(
        key_id=OTHER_KEY_URL, owner=ISSUER_URL, public_key=rsa_key("other")
    )
    assert verify(jws, documents).verified


def test_a_key_owned_by_someone_else_fails() -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    documents = documents_for()
    documents[KEY_URL] = ob2.cryptographic_key(
        key_id=KEY_URL, owner=IMPOSTOR_URL, public_key=rsa_key()
    )
    check = verify(jws, documents)
    assert check.errors == (
        f"the signing key {KEY_URL} is owned by {IMPOSTOR_URL}, not by the issuer "
        f"{ISSUER_URL}",
    )


def test_a_signature_by_another_key_fails() -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key("other"))
    check = verify(jws, documents_for())
    assert check.errors == (
        "the signature does not match the assertion (invalid signature)",
    )


def test_an_issuer_embedded_in_the_badge_class_is_not_trusted() -> None:
    """An impostor's badge class cannot vouch for the impostor's key by embedding a profile."""
    impostor_key_url = "https://impostor.example.net/ob2/key"
    impostor_badge_url = "https://impostor.example.net/ob2/badge"
    jws = ob2.sign_assertion(
        make_assertion(key_url=impostor_key_url, badge=impostor_badge_url),
        rsa_key("other"),
    )
    documents = documents_for()
    documents[impostor_key_url] = ob2.cryptographic_key(
        key_id=impostor_key_url, owner=ISSUER_URL, public_key=rsa_key("other")
    )
    badge = dict(documents[BADGE_URL], id=impostor_badge_url)
    badge["issuer"] = dict(documents[ISSUER_URL], publicKey=impostor_key_url)
    documents[impostor_badge_url] = badge
    check = verify(jws, documents)
    assert not check.verified
    assert any("does not list the signing key" in error for error in check.errors)


def test_an_embedded_badge_class_is_accepted() -> None:
    """The badge class may be embedded in the signed assertion (it is signed too)."""
    embedded = documents_for()[BADGE_URL]
    assertion = dict(make_assertion(), badge=embedded)
    jws = ob2.sign_assertion(assertion, rsa_key())
    documents = documents_for()
    del documents[BADGE_URL]
    assert verify(jws, documents).verified


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        (BADGE_URL, f"the badge class {BADGE_URL} could not be retrieved"),
        (ISSUER_URL, f"the issuer profile {ISSUER_URL} could not be retrieved"),
        (KEY_URL, f"the signing key {KEY_URL} could not be retrieved"),
        (
            REVOCATIONS_URL,
            f"the revocation list {REVOCATIONS_URL} could not be retrieved",
        ),
    ],
)
def test_missing_documents_fail(missing: str, message: str) -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    documents = documents_for()
    del documents[missing]
    check = verify(jws, documents)
    assert not check.verified
    assert message in check.errors


def test_a_revoked_assertion_fails_with_the_reason() -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    check = verify(jws, documents_for(revoked=(*OTHER_ASSERTIONS, ASSERTION_URL)))
    assert not check.verified
    assert check.revoked is True
    assert check.errors == (
        f"the assertion {ASSERTION_URL} has been revoked by its issuer: Issued in error",
    )


@pytest.mark.parametrize(
    "entries",
    [
        {
            "id": ASSERTION_URL,
            "revocationReason": "Issued in error",
        },  # compacted 1-entry list
        ASSERTION_URL,  # a bare id, also allowed by OB 2.0
        [ASSERTION_URL],
        [{"id": OTHER_ASSERTIONS[0]}, ASSERTION_URL],
    ],
)
def test_revocation_entries_in_every_shape_count(entries: Any) -> None:
    """The single-entry shape is the one PyPI openbadges 1.1.2 misses."""
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    documents = documents_for()
    documents[REVOCATIONS_URL] = dict(
        documents[REVOCATIONS_URL], revokedAssertions=entries
    )
    check = verify(jws, documents)
    assert check.revoked is True
    assert not check.verified


def test_an_issuer_without_a_revocation_list_revokes_nothing() -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    documents = documents_for()
    del documents[ISSUER_URL]["revocationList"]
    check = verify(jws, documents)
    assert check.verified, check.errors
    assert check.revoked is False


def test_an_expired_assertion_fails_as_expired() -> None:
    jws = ob2.sign_assertion(
        make_assertion(expires=ISSUED_AT + timedelta(days=30)), rsa_key()
    )
    check = verify(jws, documents_for())
    assert not check.verified
    assert check.expired is True
    assert check.errors == ("the assertion expired at 2026-02-14T12:00:00Z",)
    # The same assertion checked before it expired is fine.
    assert verify(jws, documents_for(), now=ISSUED_AT + timedelta(days=29)).verified


def test_an_assertion_issued_in_the_future_fails() -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    check = verify(jws, documents_for(), now=ISSUED_AT - timedelta(hours=1))
    assert check.errors == (
        "the assertion's issue date 2026-01-15T12:00:00Z is in the future",
    )
    # Within the clock skew it is accepted.
    assert verify(jws, documents_for(), now=ISSUED_AT - timedelta(minutes=4)).verified


def test_a_badge_class_of_another_issuer_fails() -> None:
    """The key belongs to our issuer, but the badge class names another one."""
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    documents = documents_for()
    documents[BADGE_URL] = dict(documents[BADGE_URL], issuer=IMPOSTOR_URL)
    documents[IMPOSTOR_URL] = dict(
        documents[ISSUER_URL], id=IMPOSTOR_URL, publicKey=KEY_URL
    )
    check = verify(jws, documents)
    assert not check.verified
    assert (
        f"the signing key {KEY_URL} is owned by {ISSUER_URL}, not by the issuer "
        f"{IMPOSTOR_URL}" in check.errors
    )


def test_a_hosted_badge_is_not_a_signed_badge() -> None:
    assertion = make_assertion()
    assertion["verification"] = {"type": "HostedBadge"}
    check = verify(ob2.sign_assertion(assertion, rsa_key()), documents_for())
    assert "the assertion's verification type is not SignedBadge" in check.errors
    assert "the assertion names no signing key (verification.creator)" in check.errors


def test_md5_and_plain_recipients_from_other_issuers_match() -> None:
    email = normalise_email(RECIPIENT)
    for recipient in [
        {
            "type": "email",
            "hashed": True,
            "salt": "pepper",
            "identity": "md5$"
            + hashlib.md5(
                (email + "pepper").encode(), usedforsecurity=False
            ).hexdigest(),
        },
        {"type": "email", "hashed": False, "identity": RECIPIENT},
    ]:
        assertion = dict(make_assertion(), recipient=recipient)
        jws = ob2.sign_assertion(assertion, rsa_key())
        assert verify(jws, documents_for(), email=RECIPIENT).verified
        assert not verify(jws, documents_for(), email="x@example.com").verified


def test_documents_that_are_not_json_objects_count_as_missing() -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    documents = documents_for()
    documents[KEY_URL] = "data:image/png;base64,AAAA"
    check = verify(jws, documents)
    assert check.errors == (f"the signing key {KEY_URL} could not be retrieved",)
