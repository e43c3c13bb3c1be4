"""Baking Open Badges into PNG and SVG images and reading them back.

PNG structure is checked with a small independent chunk reader (struct + zlib)
rather than ``badges.baking.read_png_chunks``.
"""

from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET
import zlib
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from badges import ob2
from badges.baking import (
    KEYWORDS,
    MAX_IMAGE_BYTES,
    MAX_PAYLOAD_BYTES,
    OB2_KEYWORD,
    OB2_SVG_NAMESPACE,
    OB3_KEYWORD,
    OB3_SVG_NAMESPACE,
    PNG_SIGNATURE,
    Baked,
    BakingError,
    bake_png,
    bake_svg,
    png_chunk,
    read_png_chunks,
    unbake_png,
    unbake_svg,
)
from badges.images import tier_badge_png, tier_badge_svg
from badges.keys import resolver_for
from badges.verification import verify_credential
from tests.badges.issuing import (
    CHECKED_AT,
    ISSUER_DID,
    document_for,
    make_key,
    sign,
    tier_badge,
)
from tests.badges.test_ob2 import documents_for, make_assertion, rsa_key

SVG_NS = "http://www.w3.org/2000/svg"
OB3_CREDENTIAL = f"{{{OB3_SVG_NAMESPACE}}}credential"
OB2_ASSERTION = f"{{{OB2_SVG_NAMESPACE}}}assertion"
JWS = "eyJhbGciOiJSUzI1NiJ9.eyJpZCI6ImEifQ.c2lnbmF0dXJl"


@cache
def png() -> bytes:
    return tier_badge_png("Tier 1 Customer Care Specialist", 1, size=32)


@cache
def svg() -> str:
    return tier_badge_svg(
        "Tier 1 Customer Care Specialist", "Contact Center Academy", 1
    )


@cache
def signed_credential() -> tuple[str, dict[str, Any]]:
    """An OB 3.0 credential with its eddsa-rdfc-2022 proof, and its DID documents."""
    key = make_key()
    credential = sign(tier_badge(status_index=None), key)
    return json.dumps(credential, indent=2, ensure_ascii=False), {
        ISSUER_DID: document_for(key)
    }


def raw_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Independent PNG chunk reader that asserts every CRC."""
    assert data[:8] == PNG_SIGNATURE
    chunks = []
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        offset += 12 + length
    assert offset == len(data)
    return chunks


def text_chunks(data: bytes, keyword: str) -> list[tuple[bytes, bytes]]:
    return [
        (kind, body)
        for kind, body in raw_chunks(data)
        if kind in (b"iTXt", b"tEXt", b"zTXt")
        and body.split(b"\x00", 1)[0] == keyword.encode()
    ]


def pixels(data: bytes) -> bytes:
    return zlib.decompress(
        b"".join(body for kind, body in raw_chunks(data) if kind == b"IDAT")
    )


def replace_chunk(data: bytes, index: int, chunk: bytes) -> bytes:
    """Return ``data`` with chunk ``index`` (0 = IHDR) replaced by raw ``chunk`` bytes."""
    offset = 8
    for _ in range(index):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        offset += 12 + length
    (length,) = struct.unpack(">I", data[offset : offset + 4])
    return data[:offset] + chunk + data[offset + 12 + length :]


def insert_before_iend(data: bytes, *chunks: bytes) -> bytes:
    return data[:-12] + b"".join(chunks) + data[-12:]


# --- PNG -------------------------------------------------------------------------


def test_png_round_trip_of_a_signed_ob3_credential() -> None:
    text, did_documents = signed_credential()
    baked = bake_png(png(), text)
    found = unbake_png(baked)
    assert found == Baked(OB3_KEYWORD, text)
    assert found.version == "3.0"
    check = verify_credential(
        json.loads(found.text),
        resolve=resolver_for(did_documents),
        now=CHECKED_AT,
        status_lists={},
    )
    assert check.verified, check.errors


def test_png_round_trip_of_an_ob2_jws() -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    baked = bake_png(png(), jws, keyword=OB2_KEYWORD)
    found = unbake_png(baked)
    assert found == Baked(OB2_KEYWORD, jws)
    assert found.version == "2.0"
    check = ob2.verify_signed_assertion(
        found.text, documents=documents_for(), now=CHECKED_AT
    )
    assert check.verified, check.errors


def test_png_badge_is_one_uncompressed_itxt_chunk_before_iend() -> None:
    text, _ = signed_credential()
    baked = bake_png(png(), text)
    chunks = raw_chunks(baked)  # asserts every CRC
    assert [kind for kind, _ in chunks] == [
        *(kind for kind, _ in raw_chunks(png())[:-1]),
        b"iTXt",
        b"IEND",
    ]
    body = chunks[-2][1]
    # keyword NUL, compression flag 0, method 0, empty language NUL, empty translated NUL
    assert body == b"openbadgecredential\x00\x00\x00\x00\x00" + text.encode("utf-8")
    assert pixels(baked) == pixels(png())


def test_png_rebaking_replaces_and_never_duplicates() -> None:
    first = bake_png(png(), JWS)
    second = bake_png(first, '{"id": "urn:uuid:2"}')
    third = bake_png(second, '{"id": "urn:uuid:3"}')
    assert len(text_chunks(third, OB3_KEYWORD)) == 1
    assert unbake_png(third) == Baked(OB3_KEYWORD, '{"id": "urn:uuid:3"}')
    assert len(third) == len(second) == len(first) - len(JWS) + 20
    assert bake_png(second, JWS) == first


def test_png_rebaking_replaces_a_legacy_ob2_text_chunk() -> None:
    legacy = insert_before_iend(
        png(), png_chunk(b"tEXt", b"openbadges\x00https://example.org/assertion/1")
    )
    assert unbake_png(legacy) == Baked(OB2_KEYWORD, "https://example.org/assertion/1")
    baked = bake_png(legacy, JWS, keyword=OB2_KEYWORD)
    assert [kind for kind, _ in text_chunks(baked, OB2_KEYWORD)] == [b"iTXt"]
    assert unbake_png(baked) == Baked(OB2_KEYWORD, JWS)


def test_png_can_carry_an_ob3_and_an_ob2_badge() -> None:
    both = bake_png(bake_png(png(), '{"id": "urn:uuid:3"}'), JWS, keyword=OB2_KEYWORD)
    assert unbake_png(both) == Baked(OB3_KEYWORD, '{"id": "urn:uuid:3"}')
    assert unbake_png(both, keywords=(OB2_KEYWORD,)) == Baked(OB2_KEYWORD, JWS)
    assert unbake_png(both, keywords=(OB2_KEYWORD, OB3_KEYWORD)) == Baked(
        OB2_KEYWORD, JWS
    )


def test_png_without_a_badge_unbakes_to_none() -> None:
    assert unbake_png(png()) is None
    assert unbake_png(bake_png(png(), JWS), keywords=(OB2_KEYWORD,)) is None


def test_png_unicode_payload_survives() -> None:
    payload = json.dumps({"name": "Nível 1 — Atendimento ✓ 客服"}, ensure_ascii=False)
    assert unbake_png(bake_png(png(), payload)) == Baked(OB3_KEYWORD, payload)


@pytest.mark.parametrize(
    "image",
    [
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",  # JPEG
        b"GIF89a\x01\x00\x01\x00",
        b'<svg xmlns="http://www.w3.org/2000/svg"/>',
        b"",
    ],
    ids=["jpeg", "gif", "svg", "empty"],
)
def test_non_png_input_is_refused(image: bytes) -> None:
    with pytest.raises(BakingError, match="not a PNG"):
        bake_png(image, JWS)
    with pytest.raises(BakingError, match="not a PNG"):
        unbake_png(image)


def test_broken_pngs_are_refused() -> None:
    good = png()
    bad_crc = good[:-4] + bytes([good[-4] ^ 1]) + good[-3:]
    cases = [
        ("CRC mismatch", bad_crc),
        ("no IEND", good[:-12]),
        ("data after the IEND", good + b"junk"),
        (
            "first chunk is not IHDR",
            replace_chunk(good, 0, png_chunk(b"tEXt", b"a\x00b")),
        ),
        ("incomplete chunk header", good[:40]),
        ("is cut short", good[:60]),
        ("invalid chunk type", replace_chunk(good, 1, png_chunk(b"t3Xt", b""))),
        ("chunk length", good[:33] + b"\xff\xff\xff\xffIDAT" + good[41:]),
    ]
    for message, image in cases:
        with pytest.raises(BakingError, match=message):
            read_png_chunks(image)
        with pytest.raises(BakingError, match=message):
            bake_png(image, JWS)


def test_compressed_and_duplicate_badge_chunks_are_refused() -> None:
    compressed_itxt = png_chunk(
        b"iTXt", b"openbadgecredential\x00\x01\x00\x00\x00" + zlib.compress(b"{}")
    )
    ztxt = png_chunk(b"zTXt", b"openbadges\x00\x00" + zlib.compress(JWS.encode()))
    one = png_chunk(b"iTXt", b"openbadgecredential\x00\x00\x00\x00\x00{}")
    cases = {
        "compression is not allowed": [compressed_itxt],
        "zTXt chunk is compressed": [ztxt],
        "at most one is allowed": [one, one],
    }
    for message, chunks in cases.items():
        with pytest.raises(BakingError, match=message):
            unbake_png(insert_before_iend(png(), *chunks))


def test_oversize_images_and_payloads_are_refused() -> None:
    with pytest.raises(BakingError, match="limit"):
        unbake_png(png() + b"\x00" * MAX_IMAGE_BYTES)
    big = json.dumps({"evidence": "x" * MAX_PAYLOAD_BYTES})
    with pytest.raises(BakingError, match="payload is"):
        bake_png(png(), big)
    with pytest.raises(BakingError, match="payload is"):
        bake_svg(svg(), big)
    with pytest.raises(BakingError, match="limit"):
        unbake_svg(
            svg().replace("</svg>", "<!--" + "x" * MAX_IMAGE_BYTES + "--></svg>")
        )


@pytest.mark.parametrize("payload", ["", "   ", "hello", "[1, 2]", '"a string"', "a.b"])
def test_payloads_that_are_not_a_badge_are_refused(payload: str) -> None:
    with pytest.raises(BakingError):
        bake_png(png(), payload)
    with pytest.raises(BakingError):
        bake_svg(svg(), payload)


def test_an_ob2_url_is_a_badge_only_for_ob2() -> None:
    url = "https://badges.example.org/ob2/assertions/1"
    assert unbake_png(bake_png(png(), url, keyword=OB2_KEYWORD)) == Baked(
        OB2_KEYWORD, url
    )
    assert unbake_svg(bake_svg(svg(), url, version="2.0")) == Baked(OB2_KEYWORD, url)
    with pytest.raises(BakingError, match=r"OB 3\.0 payload"):
        bake_png(png(), url)
    with pytest.raises(BakingError, match=r"OB 3\.0 payload"):
        bake_svg(svg(), url)


@pytest.mark.parametrize(
    "keyword", ["", " openbadges", "open  badges", "x" * 80, "bad\x00"]
)
def test_invalid_png_keywords_are_refused(keyword: str) -> None:
    with pytest.raises(BakingError, match="keyword"):
        bake_png(png(), JWS, keyword=keyword)


# --- SVG -------------------------------------------------------------------------


def test_svg_round_trip_of_a_signed_ob3_credential() -> None:
    text, did_documents = signed_credential()
    baked = bake_svg(svg(), text)
    root = ET.fromstring(baked)  # noqa: S314 - our own output
    element = root[0]
    assert element.tag == OB3_CREDENTIAL
    assert "verify" not in element.attrib
    assert "<![CDATA[" in baked
    found = unbake_svg(baked)
    assert found == Baked(OB3_KEYWORD, text)
    check = verify_credential(
        json.loads(found.text),
        resolve=resolver_for(did_documents),
        now=CHECKED_AT,
        status_lists={},
    )
    assert check.verified, check.errors


def test_svg_round_trip_of_an_ob3_jws_uses_verify() -> None:
    baked = bake_svg(svg(), JWS)
    root = ET.fromstring(baked)  # noqa: S314 - our own output
    assert root[0].tag == OB3_CREDENTIAL
    assert root[0].attrib == {"verify": JWS}
    assert 'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in baked
    assert unbake_svg(baked) == Baked(OB3_KEYWORD, JWS)


def test_svg_round_trip_of_an_ob2_jws() -> None:
    jws = ob2.sign_assertion(make_assertion(), rsa_key())
    baked = bake_svg(svg(), jws, version="2.0")
    root = ET.fromstring(baked)  # noqa: S314 - our own output
    assert root[0].tag == OB2_ASSERTION
    assert root[0].attrib == {"verify": jws}
    found = unbake_svg(baked)
    assert found == Baked(OB2_KEYWORD, jws)
    assert found.version == "2.0"
    assert ob2.verify_signed_assertion(
        found.text, documents=documents_for(), now=CHECKED_AT
    ).verified


def test_svg_cdata_terminator_in_the_payload_survives() -> None:
    payload = json.dumps({"narrative": "a ]]> b ]]]]> c <&>"})
    assert unbake_svg(bake_svg(svg(), payload)) == Baked(OB3_KEYWORD, payload)


def test_svg_rebaking_replaces_and_never_duplicates() -> None:
    once = bake_svg(svg(), JWS)
    twice = bake_svg(once, '{"id": "urn:uuid:2"}')
    as_ob2 = bake_svg(twice, JWS, version="2.0")
    for baked in (twice, as_ob2):
        root = ET.fromstring(baked)  # noqa: S314 - our own output
        found = list(root.iter(OB3_CREDENTIAL)) + list(root.iter(OB2_ASSERTION))
        assert len(found) == 1
        assert baked.count("xmlns:openbadges=") == 1
    assert unbake_svg(twice) == Baked(OB3_KEYWORD, '{"id": "urn:uuid:2"}')
    assert unbake_svg(as_ob2) == Baked(OB2_KEYWORD, JWS)
    assert bake_svg(twice, JWS) == once


def test_svg_badge_nested_anywhere_is_replaced() -> None:
    nested = (
        f'<svg xmlns="{SVG_NS}"><g><ob:credential xmlns:ob="{OB3_SVG_NAMESPACE}"'
        ' verify="a.b.c"/></g><g><ob:assertion xmlns:ob="http://openbadges.org">'
        "<![CDATA[{}]]></ob:assertion></g></svg>"
    )
    assert unbake_svg(nested) == Baked(OB3_KEYWORD, "a.b.c")
    assert unbake_svg(nested, keywords=(OB2_KEYWORD,)) == Baked(OB2_KEYWORD, "{}")
    baked = bake_svg(nested, JWS)
    assert baked == (
        f'<svg xmlns:openbadges="{OB3_SVG_NAMESPACE}" xmlns="{SVG_NS}">'
        f'<openbadges:credential verify="{JWS}"/><g></g><g></g></svg>'
    )


def test_svg_keeps_the_image_and_its_accessible_name() -> None:
    baked = bake_svg(svg(), JWS)
    root = ET.fromstring(baked)  # noqa: S314 - our own output
    assert root.get("role") == "img"
    assert root.find(f"{{{SVG_NS}}}title").text == "Tier 1 Customer Care Specialist"  # type: ignore[union-attr]
    assert (
        baked.replace(f'<svg xmlns:openbadges="{OB3_SVG_NAMESPACE}" ', "<svg ").replace(
            f'<openbadges:credential verify="{JWS}"/>', ""
        )
        == svg()
    )


def test_svg_self_closing_root_prefixed_root_and_encoding_declaration() -> None:
    assert bake_svg(f'<svg xmlns="{SVG_NS}"/>', JWS) == (
        f'<svg xmlns:openbadges="{OB3_SVG_NAMESPACE}" xmlns="{SVG_NS}">'
        f'<openbadges:credential verify="{JWS}"/></svg>'
    )
    prefixed = f'<s:svg xmlns:s="{SVG_NS}"><s:g/></s:svg>'
    assert unbake_svg(bake_svg(prefixed, JWS)) == Baked(OB3_KEYWORD, JWS)
    latin = f"<?xml version='1.0' encoding='ISO-8859-1'?>\n<svg xmlns=\"{SVG_NS}\"><title>é</title></svg>"
    baked = bake_svg(latin, JWS)
    assert baked.startswith("<?xml version='1.0' encoding=\"UTF-8\"?>")
    reparsed = ET.fromstring(baked.encode("utf-8"))  # noqa: S314 - our own output
    assert reparsed.find(f"{{{SVG_NS}}}title").text == "é"  # type: ignore[union-attr]


def test_svg_without_a_badge_unbakes_to_none() -> None:
    assert unbake_svg(svg()) is None
    assert unbake_svg(bake_svg(svg(), JWS), keywords=(OB2_KEYWORD,)) is None


def test_svg_with_two_badges_is_refused() -> None:
    two = svg().replace(
        "<title",
        f'<openbadges:credential xmlns:openbadges="{OB3_SVG_NAMESPACE}" verify="a.b.c"/>'
        f'<openbadges:credential xmlns:openbadges="{OB3_SVG_NAMESPACE}" verify="d.e.f"/>'
        "<title",
        1,
    )
    with pytest.raises(BakingError, match="exactly one is allowed"):
        unbake_svg(two)


def test_svg_with_an_empty_badge_is_refused() -> None:
    empty = svg().replace(
        "<title",
        f'<openbadges:credential xmlns:openbadges="{OB3_SVG_NAMESPACE}"/><title',
        1,
    )
    with pytest.raises(BakingError, match="is empty"):
        unbake_svg(empty)


XXE = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f'<svg xmlns="{SVG_NS}"><title>&xxe;</title></svg>'
)
LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    f'<svg xmlns="{SVG_NS}"><title>&lol2;</title></svg>'
)
PLAIN_DOCTYPE = (
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
    f'<svg xmlns="{SVG_NS}"/>'
)


@pytest.mark.parametrize("image", [XXE, LAUGHS, PLAIN_DOCTYPE])
def test_svg_with_doctype_or_entities_is_refused(image: str) -> None:
    with pytest.raises(BakingError, match="DOCTYPE or ENTITY"):
        bake_svg(image, JWS)
    with pytest.raises(BakingError, match="DOCTYPE or ENTITY"):
        unbake_svg(image)


def test_a_lowercase_doctype_is_not_xml_and_is_refused() -> None:
    with pytest.raises(BakingError, match="not well-formed"):
        unbake_svg(XXE.lower())


def test_doctype_quoted_inside_a_baked_credential_is_data_not_a_declaration() -> None:
    payload = '{"narrative": "<!DOCTYPE x [<!ENTITY y \'z\'>]>"}'
    baked = bake_svg(f'<svg xmlns="{SVG_NS}"/>', payload)
    found = unbake_svg(baked)
    assert found is not None
    assert found.text == payload


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("<svg", "not well-formed"),
        ("not xml at all", "not well-formed"),
        ('<html xmlns="http://www.w3.org/1999/xhtml"/>', "not <svg>"),
        ('<svg xmlns="http://example.org/other"/>', "not <svg>"),
    ],
)
def test_broken_or_foreign_svg_is_refused(image: str, message: str) -> None:
    with pytest.raises(BakingError, match=message):
        bake_svg(image, JWS)
    with pytest.raises(BakingError, match=message):
        unbake_svg(image)


def test_keywords_round_trip_through_baked_version() -> None:
    assert Baked(OB3_KEYWORD, "x").version == "3.0"
    assert Baked(OB2_KEYWORD, "x").version == "2.0"
    assert KEYWORDS == (OB3_KEYWORD, OB2_KEYWORD)


# --- properties ------------------------------------------------------------------

# Any text XML can hold: JSON escapes C0 controls; surrogates and U+FFFE/U+FFFF (Cs, Cn)
# cannot be in an SVG at all.
xml_chars = st.characters(exclude_categories=("Cs", "Cn"))
json_text = st.dictionaries(
    st.text(alphabet=xml_chars, min_size=1, max_size=10),
    st.text(alphabet=xml_chars, max_size=40),
    min_size=1,
    max_size=4,
).map(lambda value: json.dumps(value, ensure_ascii=False))


@settings(max_examples=60, deadline=None)
@given(payload=json_text)
def test_any_json_object_survives_png_and_svg(payload: str) -> None:
    assert unbake_png(bake_png(png(), payload)) == Baked(OB3_KEYWORD, payload)
    found = unbake_svg(bake_svg(svg(), payload))
    assert found is not None
    assert json.loads(found.text) == json.loads(payload)
