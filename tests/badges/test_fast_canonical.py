"""The shape-cached canonicaliser gives byte-identical N-Quads to plain pyld.

``canonicalize_safe`` (and ``canonicalize``/``check_safe``) may answer from a
cached template of the document's shape; every answer must equal what pyld
gives for ``canonicalize_expanded(expand_safe(document))``, errors included.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from badges import jsonld, proofs
from badges.credentials import (
    OB_CONTEXTS,
    AchievementDefinition,
    Alignment,
    EvidenceItem,
    IssuerProfile,
    StatusAllocation,
    open_badge_credential,
)
from badges.jsonld import (
    canonicalize,
    canonicalize_expanded,
    canonicalize_safe,
    check_safe,
    expand_safe,
)
from tests.badges.issuing import (
    ISSUED_AT,
    STATUS_LIST_URL,
    make_key,
    sign,
    status_list,
    tier_badge,
)

Outcome = tuple[str, str]

# Strings pyld treats specially somewhere: terms, compact IRIs (the OB
# contexts define the prefix "tag"), keywords, blank node ids, relative and
# malformed IRIs, N-Quads escapes, non-ASCII and line separators.
AWKWARD = [
    "",
    " ",
    "ex:foo",
    "tag:foo",
    "tag://example.org/x",
    "tag",
    "name",
    "type",
    "id",
    "Badge",
    "Achievement",
    "assertionMethod",
    "@id",
    "@foo",
    "@",
    "_:b0",
    "_:c14n0",
    "badge-17",
    "/relative/path",
    "#fragment",
    ":nothing-before-the-colon",
    "http://a b.example/",
    "https://example.org/<x>",
    'https://example.org/"q"',
    "https://example.org/a\\b",
    "https://example.org/x\n",
    "https://example.org/é",
    "https://example.org/\u00a0",
    "urn:uuid:7f1d8a52-3c1e-4f5b-9a0e-2b7c6d5e4f3a",
    "did:web:badges.example.org",
    "did:web:badges.example.org:users:alice#key-1",
    "mailto:dana@example.com",
    'quote " backslash \\ newline \n return \r tab \t end',
    "\\n not a newline",
    "\\t\\\\",
    "\x00\x01\x08\x0c\x1f\x7f",
    "line\u2028separator\u2029",
    "emoji 🎖️ and 中文 and مرحبا",
    "1.5",
    "true",
    "2026-01-15T12:00:00Z",
    "sha256$abc",
    "x" * 2000,
]

IRIS = [
    "https://badges.example.org/achievements/tier-2",
    "https://badges.example.org/a?b=c&d=e#f",
    "urn:uuid:00000000-0000-4000-8000-000000000000",
    "did:web:example.com",
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "http://example.org/ünïcödé",
    "HTTPS://EXAMPLE.ORG/",
    "a+b-c.d:e",
]

texts = st.one_of(
    st.sampled_from(AWKWARD),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
)
iris = st.one_of(st.sampled_from(IRIS), st.sampled_from(AWKWARD), texts)
plain_iris = st.sampled_from(IRIS)


def outcome(operation: Callable[[], str]) -> Outcome:
    try:
        return ("ok", operation())
    except (jsonld.UnsafeDocumentError, jsonld.CanonicalizationError) as exc:
        return (type(exc).__name__, str(exc))


def slow(document: dict[str, Any]) -> Outcome:
    """What pyld alone says: safe-mode expansion, then URDNA2015."""
    return outcome(lambda: canonicalize_expanded(expand_safe(document)))


def assert_same_as_pyld(document: dict[str, Any]) -> None:
    """Every entry point agrees with pyld, whether the fast path answers or not."""
    original = copy.deepcopy(document)
    expected = slow(document)
    assert outcome(lambda: canonicalize_safe(document)) == expected
    assert document == original

    def checked() -> str:
        check_safe(document)
        return ""

    check = outcome(checked)
    assert check[0] == expected[0]
    if expected[0] == "ok":
        assert check == ("ok", "")
        assert canonicalize(document) == jsonld._normalize(dict(document))
        assert canonicalize(document) == expected[1]


def fast(document: dict[str, Any]) -> str | None:
    return jsonld._fast_canonical(document)


@pytest.fixture(autouse=True)
def empty_shape_cache() -> Iterator[None]:
    jsonld._shapes.clear()
    yield
    jsonld._shapes.clear()


def badge(
    *,
    credential_id: str = "urn:uuid:7f1d8a52-3c1e-4f5b-9a0e-2b7c6d5e4f3a",
    issuer_did: str = "did:web:badges.example.org",
    issuer_name: str = "Contact Center Academy",
    issuer_url: str = "https://badges.example.org",
    achievement_id: str = "https://badges.example.org/achievements/tier-1",
    name: str = "Tier 1 Customer Care Specialist",
    description: str = "Completed all Tier 1 modules.",
    criteria: str = "Complete modules 1-6.",
    image: str = "https://badges.example.org/achievements/tier-1.png",
    alignments: tuple[Alignment, ...] = (),
    evidence: tuple[EvidenceItem, ...] = (),
    email: str = "Dana.Agent@Example.com",
    salt: str = "c2FsdA",
    status_index: int | None = 7,
    status_url: str = STATUS_LIST_URL,
    achievement_type: str = "Badge",
    valid_days: int | None = 730,
) -> dict[str, Any]:
    return open_badge_credential(
        credential_id=credential_id,
        issuer=IssuerProfile(did=issuer_did, name=issuer_name, url=issuer_url),
        achievement=AchievementDefinition(
            id=achievement_id,
            name=name,
            description=description,
            criteria_narrative=criteria,
            image_url=image,
            alignments=alignments,
            achievement_type=achievement_type,
        ),
        recipient_email=email,
        salt=salt,
        valid_from=ISSUED_AT,
        valid_until=None
        if valid_days is None
        else ISSUED_AT + timedelta(days=valid_days),
        evidence=evidence,
        status=None
        if status_index is None
        else StatusAllocation(list_url=status_url, index=status_index),
    )


alignments = st.builds(
    Alignment,
    target_name=texts,
    target_url=iris,
    target_type=st.one_of(
        st.none(),
        st.sampled_from(["ceasn:Competency", "CFItem", "ext:Custom", "Badge"]),
        texts,
    ),
    target_code=st.one_of(st.none(), texts),
    target_description=st.one_of(st.none(), texts),
)
evidence_items = st.builds(
    EvidenceItem,
    name=texts,
    narrative=texts,
    description=st.one_of(st.none(), texts),
    id=st.one_of(st.none(), iris),
)


IRI_FIELDS = ["credential_id", "issuer_did", "achievement_id", "image", "status_url"]


@st.composite
def badges(draw: st.DrawFn, awkward_iris: bool = True) -> dict[str, Any]:
    """A badge with varied values; at most one IRI field awkward (else few are safe)."""
    awkward = draw(st.sampled_from([None, *IRI_FIELDS])) if awkward_iris else None
    iri = {field: iris if field == awkward else plain_iris for field in IRI_FIELDS}
    return badge(
        credential_id=draw(iri["credential_id"]),
        issuer_did=draw(iri["issuer_did"]),
        issuer_name=draw(texts),
        issuer_url=draw(texts),
        achievement_id=draw(iri["achievement_id"]),
        name=draw(texts),
        description=draw(texts),
        criteria=draw(texts),
        image=draw(iri["image"]),
        alignments=tuple(draw(st.lists(alignments, max_size=3))),
        evidence=tuple(draw(st.lists(evidence_items, max_size=3))),
        email=draw(texts),
        salt=draw(texts),
        status_index=draw(st.one_of(st.none(), st.integers(0, 131_071))),
        status_url=draw(iri["status_url"]),
        achievement_type=draw(
            st.sampled_from(["Badge", "Certificate", "Competency", "ext:Tier"])
        ),
        valid_days=draw(st.one_of(st.none(), st.integers(1, 3650))),
    )


SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(badges())
def test_varied_badges_canonicalise_exactly_like_pyld(document: dict[str, Any]) -> None:
    assert_same_as_pyld(document)


@settings(SETTINGS, max_examples=40)
@given(st.lists(badges(awkward_iris=False), min_size=2, max_size=6))
def test_badges_sharing_a_shape_fill_one_template_exactly_like_pyld(
    documents: list[dict[str, Any]],
) -> None:
    for document in documents:
        assert_same_as_pyld(document)


@settings(SETTINGS, max_examples=30)
@given(st.data())
def test_one_template_serves_every_value_of_its_shape(data: st.DataObject) -> None:
    """Values that keep the shape reuse the first badge's template, and agree."""
    jsonld._shapes.clear()
    first = badge(alignments=(Alignment("a", "https://a.example"),))
    assert fast(first) is not None
    assert len(jsonld._shapes) == 1
    for _ in range(5):
        document = badge(
            credential_id=data.draw(plain_iris),
            issuer_name=data.draw(texts),
            name=data.draw(texts),
            description=data.draw(texts),
            email=data.draw(texts),
            alignments=(Alignment(data.draw(texts), data.draw(iris)),),
        )
        assert_same_as_pyld(document)


def test_the_fast_path_answers_for_the_credentials_we_issue() -> None:
    key = make_key()
    signed = sign(tier_badge(), key)
    proof_config = {
        **{k: v for k, v in signed["proof"].items() if k != "proofValue"},
        "@context": signed["@context"],
    }
    status = status_list(key, revoked=[3, 42])
    documents = [
        tier_badge(),
        tier_badge(status_index=None, valid_until=None),
        proof_config,
        {k: v for k, v in status.items() if k != "proof"},
        badge(
            name='He said "done" \\ twice\nand left',
            email="zoë@example.com",
            alignments=tuple(
                Alignment(f"skill {n}", f"https://s.example/{n}", "ceasn:Competency")
                for n in range(4)
            ),
            evidence=tuple(EvidenceItem(f"e{n}", f"narrative {n}") for n in range(3)),
        ),
        badge(issuer_did="did:web:example.com:users:ana", credential_id="urn:x:1"),
    ]
    for document in documents:
        answer = fast(document)
        assert answer is not None, document
        assert answer == slow(document)[1]
        assert fast(document) == answer  # now from the cache


def test_signatures_are_the_same_with_and_without_the_shape_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = make_key()
    documents = [tier_badge(), badge(name='Ünïcode "quoted"'), status_list(key, [])]
    with_cache = [sign(document, key) for document in documents]
    assert jsonld._shapes
    jsonld._shapes.clear()
    proofs._canonical_proof_config.cache_clear()
    monkeypatch.setattr(jsonld, "_fast_canonical", lambda document: None)
    assert [sign(document, key) for document in documents] == with_cache
    assert not jsonld._shapes


def test_identical_evidence_items_tie_and_still_match_pyld() -> None:
    same = EvidenceItem(name="Post-assessment", narrative="Scored 87%.")
    twice = badge(evidence=(same, same))
    assert fast(twice) == slow(twice)[1]
    differing = badge(evidence=(same, EvidenceItem("Post-assessment", "Scored 90%.")))
    assert fast(differing) == slow(differing)[1]
    assert len(jsonld._shapes) == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"achievement_id": "urn:uuid:7f1d8a52-3c1e-4f5b-9a0e-2b7c6d5e4f3a"},
        {"image": "https://badges.example.org/achievements/tier-1"},
        {"issuer_did": "urn:uuid:7f1d8a52-3c1e-4f5b-9a0e-2b7c6d5e4f3a"},
        {"status_url": "urn:uuid:7f1d8a52-3c1e-4f5b-9a0e-2b7c6d5e4f3a"},
        {"issuer_url": "did:web:badges.example.org", "name": "Contact Center Academy"},
    ],
    ids=[
        "achievement=credential",
        "image=achievement",
        "issuer=credential",
        "status=credential",
        "repeated literals",
    ],
)
def test_values_that_merge_nodes_match_pyld(changes: dict[str, str]) -> None:
    assert_same_as_pyld(badge())  # the template comes from distinct ids
    assert_same_as_pyld(badge(**changes))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", AWKWARD + IRIS)
@pytest.mark.parametrize(
    "field", ["credential_id", "issuer_url", "name", "salt", "image"]
)
def test_awkward_values_after_the_template_exists(field: str, value: str) -> None:
    assert fast(badge()) is not None
    assert_same_as_pyld(badge(**{field: value}))  # type: ignore[arg-type]


def test_unsafe_documents_raise_the_same_errors() -> None:
    undefined = tier_badge()
    undefined["credentialSubject"]["achievement"]["tierLevel"] = 1
    relative = tier_badge()
    relative["id"] = "badge-17"
    unbundled = tier_badge()
    unbundled["@context"] = [*unbundled["@context"], "https://example.org/ctx"]
    for document in (undefined, relative, unbundled):
        assert fast(document) is None
        assert_same_as_pyld(document)


def test_documents_outside_plain_json_use_pyld() -> None:
    inline_context = {
        "@context": {"@vocab": "https://example.org/vocab#"},
        "@id": "https://example.org/badge",
        "name": "A",
    }
    assert fast(inline_context) is None
    assert_same_as_pyld(inline_context)
    tupled = tier_badge()
    tupled["type"] = ("VerifiableCredential", "OpenBadgeCredential")
    assert fast(tupled) is None


def test_a_token_lookalike_in_the_document_is_not_mistaken_for_a_slot() -> None:
    lookalike = f"{jsonld._TOKEN_SCHEME}:0"
    for document in (badge(name=lookalike), badge(credential_id=lookalike)):
        assert_same_as_pyld(document)
    typed = tier_badge()
    typed["type"] = [*typed["type"], lookalike]
    assert fast(typed) is None
    assert_same_as_pyld(typed)


def test_the_shape_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonld, "_SHAPE_CACHE_SIZE", 8)
    for count in range(20):
        document = badge(
            evidence=tuple(EvidenceItem("e", "n") for _ in range(count % 3))
        )
        document["credentialSubject"]["achievement"]["alignment"] = [
            {"type": ["Alignment"], "targetName": "x", "targetUrl": "https://x"}
        ] * (count // 3 + 1)
        canonicalize_safe(document)
    assert len(jsonld._shapes) == 8


# A generic fuzz beyond our builders: terms of the bundled contexts (and
# undefined ones) nested at random with awkward values.
KEYS = [
    "id",
    "type",
    "name",
    "description",
    "url",
    "image",
    "achievement",
    "achievementType",
    "alignment",
    "targetUrl",
    "targetType",
    "evidence",
    "narrative",
    "identifier",
    "identityHash",
    "hashed",
    "validFrom",
    "created",
    "proofPurpose",
    "verificationMethod",
    "cryptosuite",
    "statusListIndex",
    "undefinedTerm",
    "https://example.org/p",
    "@id",
    "@type",
]
TYPES = [
    "Achievement",
    "Alignment",
    "Evidence",
    "Profile",
    "Image",
    "DataIntegrityProof",
    "IdentityObject",
    "Unknown",
    "ext:Thing",
]
leaves = st.one_of(
    texts,
    st.sampled_from(IRIS),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)


def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Lists, objects with random keys, and typed nodes of ``children``."""
    return st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=4),
        st.fixed_dictionaries(
            {"type": st.sampled_from(TYPES)},
            optional=dict.fromkeys(KEYS[2:8], children),
        ),
    )


json_values = st.recursive(leaves, containers, max_leaves=12)
documents = st.fixed_dictionaries(
    {
        "@context": st.just(list(OB_CONTEXTS)),
        "type": st.lists(st.sampled_from(["VerifiableCredential", "Achievement"])),
    },
    optional={
        "id": iris,
        "name": texts,
        "credentialSubject": json_values,
        "evidence": json_values,
        "issuer": json_values,
    },
)


def revalued(document: Any, draw: Callable[[st.SearchStrategy[str]], str]) -> Any:
    """Replace string values (not contexts or types) with freshly drawn ones."""
    if isinstance(document, dict):
        return {
            key: value
            if key in ("@context", "type", "@type")
            else revalued(value, draw)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [revalued(item, draw) for item in document]
    if isinstance(document, str):
        return draw(st.one_of(plain_iris, texts))
    return document


@SETTINGS
@given(documents, st.data())
def test_random_json_ld_canonicalises_exactly_like_pyld(
    document: dict[str, Any], data: st.DataObject
) -> None:
    assert_same_as_pyld(document)
    for _ in range(3):
        assert_same_as_pyld(revalued(document, data.draw))
