from __future__ import annotations

import copy
import re

import pytest

from badges.keys import resolver_for
from badges.proofs import ProofError, add_proof, verify_proof
from tests.badges.issuing import (
    ISSUED_AT,
    ISSUER_DID,
    OTHER_DID,
    document_for,
    make_key,
    sign,
    tier_badge,
)


def test_signed_badge_verifies_against_the_issuers_did_document() -> None:
    key = make_key()
    check = verify_proof(
        sign(tier_badge(), key), resolver_for({ISSUER_DID: document_for(key)})
    )
    assert check.verified, check.errors
    assert check.errors == ()
    assert check.verification_method == key.method_id


def test_proof_is_an_eddsa_rdfc_2022_data_integrity_proof() -> None:
    key = make_key()
    proof = sign(tier_badge(), key)["proof"]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["verificationMethod"] == key.method_id
    assert proof["created"] == "2026-01-15T12:00:00Z"
    assert re.fullmatch(r"z[1-9A-HJ-NP-Za-km-z]{86,88}", proof["proofValue"])


def test_signing_is_deterministic_and_does_not_modify_the_input() -> None:
    key = make_key()
    badge = tier_badge()
    original = copy.deepcopy(badge)
    assert sign(badge, key) == sign(badge, key)
    assert badge == original


def test_a_field_changed_after_signing_fails_verification() -> None:
    key = make_key()
    signed = sign(tier_badge(), key)
    signed["credentialSubject"]["achievement"]["name"] = "Tier 3 Team Lead"
    check = verify_proof(signed, resolver_for({ISSUER_DID: document_for(key)}))
    assert not check.verified
    assert "invalid signature" in " ".join(check.errors)


def test_a_badge_signed_by_a_key_other_than_the_listed_one_fails() -> None:
    listed, other = make_key(), make_key()
    signed = sign(tier_badge(), other)  # same method id, different key
    check = verify_proof(signed, resolver_for({ISSUER_DID: document_for(listed)}))
    assert not check.verified
    assert "invalid signature" in " ".join(check.errors)


def test_a_method_controlled_by_someone_else_than_the_issuer_fails() -> None:
    impostor = make_key(did=OTHER_DID)
    signed = sign(tier_badge(), impostor)  # issuer.id is ISSUER_DID
    check = verify_proof(signed, resolver_for({OTHER_DID: document_for(impostor)}))
    assert not check.verified
    assert "is not the controller" in " ".join(check.errors)


def test_a_method_not_listed_under_assertion_method_fails() -> None:
    old, new = make_key("key-2025-01"), make_key("key-2026-01")
    signed = sign(tier_badge(), old)
    document = document_for(old, new, authorised=[new.method_id])
    check = verify_proof(signed, resolver_for({ISSUER_DID: document}))
    assert not check.verified
    assert "not listed under assertionMethod" in " ".join(check.errors)


def test_old_badges_verify_after_rotation_until_the_old_key_is_removed() -> None:
    old, new = make_key("key-2025-01"), make_key("key-2026-01")
    old_badge = sign(tier_badge(), old)
    rotated = resolver_for({ISSUER_DID: document_for(old, new)})
    assert verify_proof(old_badge, rotated).verified
    assert verify_proof(sign(tier_badge(), new), rotated).verified
    removed = resolver_for({ISSUER_DID: document_for(new)})
    check = verify_proof(old_badge, removed)
    assert not check.verified
    assert "could not be resolved" in " ".join(check.errors)


def test_signing_refuses_a_term_the_contexts_do_not_define() -> None:
    badge = tier_badge()
    badge["credentialSubject"]["achievement"]["tierLevel"] = 1
    with pytest.raises(ProofError, match="tierLevel"):
        add_proof(badge, make_key().private_key, make_key().method_id, ISSUED_AT)


def test_an_undefined_term_added_after_signing_fails_safe_mode() -> None:
    key = make_key()
    signed = sign(tier_badge(), key)
    signed["credentialSubject"]["achievement"]["tierLevel"] = 1
    check = verify_proof(signed, resolver_for({ISSUER_DID: document_for(key)}))
    assert not check.verified
    assert "safe mode" in " ".join(check.errors)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("cryptosuite", "eddsa-2022", "cryptosuite"),
        ("type", "Ed25519Signature2020", "proof type"),
        ("proofPurpose", "authentication", "proof purpose"),
    ],
)
def test_proofs_of_another_kind_are_rejected(
    field: str, value: str, reason: str
) -> None:
    key = make_key()
    signed = sign(tier_badge(), key)
    signed["proof"][field] = value
    check = verify_proof(signed, resolver_for({ISSUER_DID: document_for(key)}))
    assert not check.verified
    assert reason in " ".join(check.errors)


def test_a_document_without_proof_is_not_verified() -> None:
    check = verify_proof(tier_badge(), resolver_for({}))
    assert not check.verified
    assert "no single Data Integrity proof" in check.errors[0]


def test_signing_refuses_an_id_that_pyld_would_silently_drop() -> None:
    badge = tier_badge()
    badge["credentialSubject"]["achievement"]["id"] = "https://badges.example.org/a b"
    with pytest.raises(ProofError, match="space"):
        add_proof(badge, make_key().private_key, make_key().method_id, ISSUED_AT)
