from __future__ import annotations

from datetime import timedelta

from badges.keys import resolver_for
from badges.verification import verify_credential
from tests.badges.issuing import (
    CHECKED_AT,
    ISSUED_AT,
    ISSUER_DID,
    OTHER_DID,
    STATUS_LIST_URL,
    document_for,
    make_key,
    sign,
    status_list,
    tier_badge,
)


def test_a_valid_unrevoked_badge_verifies() -> None:
    key = make_key()
    result = verify_credential(
        sign(tier_badge(status_index=7), key),
        resolve=resolver_for({ISSUER_DID: document_for(key)}),
        now=CHECKED_AT,
        status_lists={STATUS_LIST_URL: status_list(key, revoked=[42])},
    )
    assert result.verified, result.errors
    assert result.revoked is False


def test_a_revoked_badge_is_not_verified() -> None:
    key = make_key()
    result = verify_credential(
        sign(tier_badge(status_index=42), key),
        resolve=resolver_for({ISSUER_DID: document_for(key)}),
        now=CHECKED_AT,
        status_lists={STATUS_LIST_URL: status_list(key, revoked=[42])},
    )
    assert not result.verified
    assert result.revoked is True
    assert "revoked" in " ".join(result.errors)


def test_an_expired_badge_is_not_verified() -> None:
    key = make_key()
    badge = sign(
        tier_badge(status_index=None, valid_until=ISSUED_AT + timedelta(days=30)), key
    )
    result = verify_credential(
        badge,
        resolve=resolver_for({ISSUER_DID: document_for(key)}),
        now=CHECKED_AT,
        status_lists={},
    )
    assert not result.verified
    assert "expired" in " ".join(result.errors)
    assert result.revoked is None


def test_a_badge_is_not_valid_before_its_valid_from() -> None:
    key = make_key()
    result = verify_credential(
        sign(tier_badge(status_index=None), key),
        resolve=resolver_for({ISSUER_DID: document_for(key)}),
        now=ISSUED_AT - timedelta(days=1),
        status_lists={},
    )
    assert not result.verified
    assert "not valid before" in " ".join(result.errors)


def test_a_missing_status_list_leaves_the_badge_unverified() -> None:
    key = make_key()
    result = verify_credential(
        sign(tier_badge(status_index=7), key),
        resolve=resolver_for({ISSUER_DID: document_for(key)}),
        now=CHECKED_AT,
        status_lists={},
    )
    assert not result.verified
    assert result.revoked is None


def test_a_status_list_from_another_issuer_is_not_trusted() -> None:
    key, impostor = make_key(), make_key(did=OTHER_DID)
    result = verify_credential(
        sign(tier_badge(status_index=7), key),
        resolve=resolver_for(
            {ISSUER_DID: document_for(key), OTHER_DID: document_for(impostor)}
        ),
        now=CHECKED_AT,
        status_lists={STATUS_LIST_URL: status_list(impostor, revoked=[])},
    )
    assert not result.verified
    assert "different issuer" in " ".join(result.errors)
    assert result.revoked is None
