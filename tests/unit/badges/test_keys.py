from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from badges.keys import (
    DidWebError,
    KeyFormatError,
    did_web_to_url,
    private_key_from_multibase,
    public_key_from_multibase,
    public_multibase,
    resolve_in,
    secret_multibase,
    url_to_did_web,
)
from badges.multibase import decode_base58btc, encode_base58btc
from tests.badges.issuing import ISSUER_DID, document_for, make_key


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def test_public_multikey_round_trips_and_starts_with_z6mk() -> None:
    key = Ed25519PrivateKey.generate()
    encoded = public_multibase(key.public_key())
    assert encoded.startswith("z6Mk")
    assert raw_public(key) == public_key_from_multibase(encoded).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def test_secret_multikey_round_trips_to_the_same_key_pair() -> None:
    key = Ed25519PrivateKey.generate()
    encoded = secret_multibase(key)
    assert encoded.startswith("z3u2")
    assert raw_public(private_key_from_multibase(encoded)) == raw_public(key)


def test_public_key_parser_rejects_a_secret_key() -> None:
    with pytest.raises(KeyFormatError):
        public_key_from_multibase(secret_multibase(Ed25519PrivateKey.generate()))


@pytest.mark.parametrize(
    ("data", "encoded"),
    [  # vectors from draft-msporny-base58-03 §5
        (b"Hello World!", "z2NEpo7TZRRrLZSi2U"),
        (bytes.fromhex("0000287fb4cd"), "z11233QC4"),
    ],
)
def test_base58btc_matches_the_draft_vectors(data: bytes, encoded: str) -> None:
    assert encode_base58btc(data) == encoded
    assert decode_base58btc(encoded) == data


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:example.com", "https://example.com/.well-known/did.json"),
        (
            "did:web:example.com:issuers:acme",
            "https://example.com/issuers/acme/did.json",
        ),
        ("did:web:localhost%3A8443", "https://localhost:8443/.well-known/did.json"),
    ],
)
def test_did_web_maps_to_its_did_json_url_and_back(did: str, url: str) -> None:
    assert did_web_to_url(did) == url
    assert url_to_did_web(url) == did


@pytest.mark.parametrize("not_did_web", ["did:key:z6Mk", "did:web:", "web:example.com"])
def test_did_web_to_url_rejects_other_identifiers(not_did_web: str) -> None:
    with pytest.raises(DidWebError):
        did_web_to_url(not_did_web)


def test_did_document_lists_every_key_for_assertion_after_rotation() -> None:
    old, new = make_key("key-2025-01"), make_key("key-2026-01")
    document = document_for(old, new)
    assert document["@context"][0] == "https://www.w3.org/ns/did/v1"
    assert document["assertionMethod"] == [old.method_id, new.method_id]
    resolved = resolve_in(document, old.method_id)
    assert resolved is not None
    assert resolved.controller == ISSUER_DID
    assert resolved.authorised


def test_resolve_in_reports_a_method_missing_from_assertion_method() -> None:
    old, new = make_key("key-2025-01"), make_key("key-2026-01")
    document = document_for(old, new, authorised=[new.method_id])
    resolved = resolve_in(document, old.method_id)
    assert resolved is not None
    assert not resolved.authorised
    assert resolve_in(document, f"{ISSUER_DID}#missing") is None
