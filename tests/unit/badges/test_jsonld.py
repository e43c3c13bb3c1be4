from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from badges.jsonld import (
    CONTEXTS_DIR,
    CanonicalizationError,
    ContextNotBundledError,
    UnsafeDocumentError,
    canonicalize,
    check_safe,
    document_loader,
)
from tests.badges.issuing import tier_badge

# Two blank nodes that only RDFC-1.0/URDNA2015 labels this way (URGNA2012 gives
# c14n2/c14n3 to the outer nodes). Expected output from npm rdf-canonize 5.0.0
# (jsonld 9.0.0 canonize, algorithm "RDFC-1.0").
BLANK_NODE_DOCUMENT = {
    "@context": {"@vocab": "https://example.org/vocab#"},
    "@id": "https://example.org/badge",
    "knows": [
        {"name": "A", "knows": {"name": "B"}},
        {"name": "B", "knows": {"name": "A"}},
    ],
}
RDFC_1_0_NQUADS = (
    "<https://example.org/badge> <https://example.org/vocab#knows> _:c14n1 .\n"
    "<https://example.org/badge> <https://example.org/vocab#knows> _:c14n3 .\n"
    '_:c14n0 <https://example.org/vocab#name> "B" .\n'
    "_:c14n1 <https://example.org/vocab#knows> _:c14n0 .\n"
    '_:c14n1 <https://example.org/vocab#name> "A" .\n'
    '_:c14n2 <https://example.org/vocab#name> "A" .\n'
    "_:c14n3 <https://example.org/vocab#knows> _:c14n2 .\n"
    '_:c14n3 <https://example.org/vocab#name> "B" .\n'
)


def test_canonicalize_is_rdfc_1_0_not_pylds_default_urgna2012() -> None:
    assert canonicalize(BLANK_NODE_DOCUMENT) == RDFC_1_0_NQUADS


def test_canonical_form_of_a_badge_is_stable_under_key_order() -> None:
    badge = tier_badge()
    reordered = dict(reversed(list(badge.items())))
    assert canonicalize(reordered) == canonicalize(badge)


def test_document_loader_refuses_unbundled_urls() -> None:
    with pytest.raises(ContextNotBundledError):
        document_loader("https://www.w3.org/2018/credentials/v1")


def test_canonicalize_never_fetches_an_unknown_context() -> None:
    with pytest.raises(CanonicalizationError, match="not bundled"):
        canonicalize({"@context": "https://example.org/ctx.jsonld", "a": 1})


def test_bundled_contexts_match_their_recorded_hashes() -> None:
    index = json.loads((CONTEXTS_DIR / "index.json").read_text(encoding="utf-8"))
    assert {entry["url"] for entry in index} >= {
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
        "https://w3id.org/security/multikey/v1",
        "https://www.w3.org/ns/did/v1",
    }
    for entry in index:
        data = (CONTEXTS_DIR / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]


def test_safe_mode_accepts_a_tier_badge() -> None:
    check_safe(tier_badge())


def test_safe_mode_rejects_1edtech_types_without_the_extensions_context() -> None:
    badge: dict[str, Any] = tier_badge()
    badge["@context"] = badge["@context"][:2]
    badge["credentialSchema"] = [
        {
            "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
            "type": "1EdTechJsonSchemaValidator2019",
        }
    ]
    with pytest.raises(UnsafeDocumentError, match="1EdTechJsonSchemaValidator2019"):
        check_safe(badge)


def test_safe_mode_rejects_an_undefined_term_inside_the_achievement() -> None:
    badge = tier_badge()
    badge["credentialSubject"]["achievement"]["tierLevel"] = 1
    with pytest.raises(UnsafeDocumentError, match="tierLevel"):
        check_safe(badge)


def test_safe_mode_rejects_a_relative_id() -> None:
    badge = tier_badge()
    badge["id"] = "badge-17"
    with pytest.raises(UnsafeDocumentError, match="relative"):
        check_safe(badge)
