from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime

import pytest

from badges.credentials import (
    MAX_STATUS_LIST_BYTES,
    MIN_STATUS_LIST_BITS,
    encode_status_list,
    hash_email,
    recipient_matches,
    status_bit,
)
from badges.multibase import encode_base64url
from tests.badges.issuing import RECIPIENT, SALT, STATUS_LIST_URL, tier_badge


def test_badge_has_the_ob_3_contexts_in_order_and_both_types() -> None:
    badge = tier_badge()
    assert badge["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
    ]
    assert badge["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert badge["issuer"]["type"] == ["Profile"]
    assert badge["validFrom"] == "2026-01-15T12:00:00Z"
    assert badge["validUntil"] == "2028-01-15T12:00:00Z"


def test_badge_achievement_carries_criteria_image_and_skill_alignment() -> None:
    achievement = tier_badge()["credentialSubject"]["achievement"]
    assert achievement["type"] == ["Achievement"]
    assert achievement["criteria"] == {
        "narrative": "Complete modules 1-6; post-assessment >= 80%."
    }
    assert achievement["image"]["type"] == "Image"
    assert achievement["alignment"][0]["targetType"] == "ceasn:Competency"


def test_badge_names_the_recipient_only_by_a_salted_email_hash() -> None:
    subject = tier_badge()["credentialSubject"]
    assert "id" not in subject
    [identity] = subject["identifier"]
    assert identity == {
        "type": "IdentityObject",
        "identityType": "emailAddress",
        "hashed": True,
        "identityHash": hash_email(RECIPIENT, SALT),
        "salt": SALT,
    }
    assert RECIPIENT.lower() not in str(tier_badge())


def test_badge_status_entry_points_at_the_revocation_list() -> None:
    assert tier_badge(status_index=7)["credentialStatus"] == {
        "id": f"{STATUS_LIST_URL}#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "7",
        "statusListCredential": STATUS_LIST_URL,
    }


def test_email_hash_is_sha256_of_trimmed_lowercased_email_plus_salt() -> None:
    expected = hashlib.sha256(b"a@example.comKosher").hexdigest()
    assert hash_email("a@example.com", "Kosher") == f"sha256${expected}"
    assert hash_email("  A@Example.COM\n", "Kosher") == f"sha256${expected}"


@pytest.mark.parametrize(
    ("email", "matches"),
    [
        ("dana.agent@example.com", True),
        ("  DANA.AGENT@EXAMPLE.COM ", True),
        ("dana.agent@example.org", False),
    ],
)
def test_recipient_matches_the_normalised_email_only(email: str, matches: bool) -> None:
    assert recipient_matches(tier_badge(), email) is matches


def test_status_bits_read_back_as_set_or_unset() -> None:
    encoded = encode_status_list(
        [0, 42, MIN_STATUS_LIST_BITS - 1], MIN_STATUS_LIST_BITS
    )
    assert status_bit(encoded, 42)
    assert status_bit(encoded, 0)
    assert status_bit(encoded, MIN_STATUS_LIST_BITS - 1)
    assert not status_bit(encoded, 7)
    assert not status_bit(encoded, 43)


def test_status_list_bit_zero_is_the_most_significant_bit_of_byte_zero() -> None:
    import gzip

    from badges.multibase import decode_base64url

    encoded = encode_status_list([0], MIN_STATUS_LIST_BITS)
    assert encoded.startswith("u")
    assert gzip.decompress(decode_base64url(encoded))[0] == 0x80


def test_status_lists_smaller_than_16_kib_are_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        encode_status_list([], 8 * 1024)


def test_badge_times_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        tier_badge(valid_from=datetime(2026, 1, 1))  # noqa: DTZ001 - the case under test
    assert tier_badge(valid_from=datetime(2026, 1, 1, tzinfo=UTC))


def test_a_status_list_that_inflates_beyond_the_limit_is_refused() -> None:
    bomb = encode_base64url(gzip.compress(bytes(MAX_STATUS_LIST_BYTES + 1), mtime=0))
    with pytest.raises(ValueError, match="larger than"):
        status_bit(bomb, 0)


def test_a_cut_short_status_list_is_refused() -> None:
    whole = gzip.compress(bytes(MIN_STATUS_LIST_BITS // 8), mtime=0)
    with pytest.raises(ValueError, match=r"cut short|not valid gzip"):
        status_bit(encode_base64url(whole[: len(whole) // 2]), 0)
