"""Bake Open Badges into PNG and SVG images, and read them back out.

OB 3.0 (``docformat.md``) and OB 2.0 (``baking/index.md``) baking:

* PNG: one uncompressed ``iTXt`` chunk before ``IEND``, keyword
  ``openbadgecredential`` (OB 3.0) or ``openbadges`` (OB 2.0), text = compact
  JWS or credential JSON. At most one chunk per keyword.
* SVG: exactly one ``<openbadges:credential>`` (OB 3.0) or
  ``<openbadges:assertion>`` (OB 2.0) element directly after the ``<svg>``
  start tag; a JWS (or OB 2.0 hosted URL) goes in ``verify``, JSON in a CDATA
  body.

Re-baking replaces the existing badge; it never adds a second one.
"""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from xml.parsers import expat
from xml.sax.saxutils import quoteattr

OB3_KEYWORD = "openbadgecredential"
OB2_KEYWORD = "openbadges"
KEYWORDS = (OB3_KEYWORD, OB2_KEYWORD)

OB3_SVG_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
OB2_SVG_NAMESPACE = "http://openbadges.org"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_PAYLOAD_BYTES = 1024 * 1024

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_CHUNK_LENGTH = 2**31 - 1  # PNG spec: lengths are limited to 2^31 - 1
_TEXT_CHUNKS = (b"iTXt", b"tEXt", b"zTXt")

OpenBadgesVersion = Literal["3.0", "2.0"]

_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+")
_URL = re.compile(r"https?://[^\s<>\"']+")
_ATTRIBUTE = r"""\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*')"""
_START_TAG = re.compile(rf"<([^\s/>]+)((?:{_ATTRIBUTE})*)\s*(/?)>")
_NS_DECLARATION = re.compile(r"""\s+xmlns:openbadges\s*=\s*(?:"[^"]*"|'[^']*')""")
_XML_DECLARATION_ENCODING = re.compile(
    r"""(\A\ufeff?<\?xml\s[^>]*?\bencoding\s*=\s*)(?:"[^"]*"|'[^']*')"""
)


class BakingError(ValueError):
    """An image or payload that cannot be baked or unbaked; the message says why."""


@dataclass(frozen=True)
class Baked:
    """A badge found in an image: which keyword carried it and its text."""

    keyword: str
    text: str

    @property
    def version(self) -> OpenBadgesVersion:
        """``"3.0"`` for ``openbadgecredential``, ``"2.0"`` for ``openbadges``."""
        return "3.0" if self.keyword == OB3_KEYWORD else "2.0"


@dataclass(frozen=True)
class PngChunk:
    """One PNG chunk: its 4-byte type and its data (length and CRC are derived)."""

    type: bytes
    data: bytes

    def encode(self) -> bytes:
        """Return length + type + data + CRC32 (over type and data)."""
        return png_chunk(self.type, self.data)


def png_chunk(chunk_type: bytes, data: bytes) -> bytes:
    """Serialise a PNG chunk with its big-endian length and CRC32."""
    if len(chunk_type) != 4:
        raise BakingError(f"a PNG chunk type is 4 bytes, not {len(chunk_type)}")
    crc = zlib.crc32(chunk_type + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", crc)


def read_png_chunks(png: bytes) -> list[PngChunk]:
    """Split a PNG into chunks, checking signature, lengths, CRCs and IHDR/IEND."""
    _check_size("PNG image", len(png), MAX_IMAGE_BYTES)
    if not png.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG image: the 8-byte PNG signature is missing")
    chunks: list[PngChunk] = []
    offset = len(PNG_SIGNATURE)
    while offset < len(png):
        if len(png) - offset < 12:
            raise BakingError(
                f"truncated PNG: incomplete chunk header at byte {offset}"
            )
        (length,) = struct.unpack_from(">I", png, offset)
        chunk_type = png[offset + 4 : offset + 8]
        if length > _MAX_CHUNK_LENGTH:
            raise BakingError(f"broken PNG: chunk length {length} at byte {offset}")
        if not chunk_type.isascii() or not chunk_type.isalpha():
            raise BakingError(f"broken PNG: invalid chunk type {chunk_type!r}")
        end = offset + 8 + length + 4
        if end > len(png):
            raise BakingError(f"truncated PNG: the {chunk_type!r} chunk is cut short")
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack_from(">I", png, end - 4)
        if crc != zlib.crc32(chunk_type + data) & 0xFFFFFFFF:
            raise BakingError(f"broken PNG: CRC mismatch in the {chunk_type!r} chunk")
        chunks.append(PngChunk(chunk_type, data))
        offset = end
        if chunk_type == b"IEND":
            break
    if not chunks or chunks[0].type != b"IHDR":
        raise BakingError("broken PNG: the first chunk is not IHDR")
    if chunks[-1].type != b"IEND":
        raise BakingError("truncated PNG: no IEND chunk")
    if offset != len(png):
        raise BakingError("broken PNG: data after the IEND chunk")
    return chunks


def bake_png(png: bytes, payload: str, *, keyword: str = OB3_KEYWORD) -> bytes:
    """Return ``png`` with ``payload`` in one uncompressed ``iTXt`` chunk.

    Any existing text chunk (``iTXt``/``tEXt``/``zTXt``) with the same keyword
    is removed, so re-baking replaces rather than duplicates; a badge under the
    other version's keyword is kept (one image may carry an OB 2.0 and an OB 3.0
    badge). For the Open Badges keywords the payload must be a compact JWS or a
    JSON object (OB 2.0 also: an http(s) URL).
    """
    encoded_keyword = _png_keyword(keyword)
    if keyword in KEYWORDS:
        _check_payload(payload, "3.0" if keyword == OB3_KEYWORD else "2.0")
    text = _payload_bytes(payload)
    chunks = [
        chunk
        for chunk in read_png_chunks(png)
        if not (
            chunk.type in _TEXT_CHUNKS
            and chunk.data.split(b"\x00", 1)[0] == encoded_keyword
        )
    ]
    # keyword NUL, compression flag 0, method 0, empty language NUL, empty translated keyword NUL
    itxt = PngChunk(b"iTXt", encoded_keyword + b"\x00\x00\x00\x00\x00" + text)
    chunks.insert(len(chunks) - 1, itxt)
    baked = PNG_SIGNATURE + b"".join(chunk.encode() for chunk in chunks)
    _check_size("baked PNG image", len(baked), MAX_IMAGE_BYTES)
    return baked


def unbake_png(png: bytes, *, keywords: Sequence[str] = KEYWORDS) -> Baked | None:
    """Return the badge baked into ``png``, or None if there is none.

    ``keywords`` are tried in order (OB 3.0 first by default). ``iTXt`` and
    legacy OB 2.0 ``tEXt`` chunks are read; compressed text and more than one
    chunk for a keyword are refused.
    """
    wanted = {_png_keyword(keyword): keyword for keyword in keywords}
    found: dict[str, list[str]] = {}
    for chunk in read_png_chunks(png):
        if chunk.type not in _TEXT_CHUNKS:
            continue
        raw_keyword, _, rest = chunk.data.partition(b"\x00")
        keyword = wanted.get(raw_keyword)
        if keyword is None:
            continue
        found.setdefault(keyword, []).append(_chunk_text(chunk.type, keyword, rest))
    for keyword in keywords:
        texts = found.get(keyword, [])
        if len(texts) > 1:
            raise BakingError(
                f"the PNG has {len(texts)} {keyword!r} text chunks; at most one is allowed"
            )
        if texts:
            return Baked(keyword, texts[0])
    return None


def _chunk_text(chunk_type: bytes, keyword: str, rest: bytes) -> str:
    if chunk_type == b"zTXt":
        raise BakingError(
            f"the {keyword!r} zTXt chunk is compressed; compression is not allowed"
        )
    if chunk_type == b"tEXt":
        return rest.decode("latin-1")
    if len(rest) < 2:
        raise BakingError(f"broken PNG: the {keyword!r} iTXt chunk is truncated")
    if rest[0] != 0:
        raise BakingError(
            f"the {keyword!r} iTXt chunk is compressed; compression is not allowed"
        )
    parts = rest[2:].split(b"\x00", 2)
    if len(parts) != 3:
        raise BakingError(
            f"broken PNG: the {keyword!r} iTXt chunk lacks its language fields"
        )
    try:
        return parts[2].decode("utf-8")
    except UnicodeDecodeError as error:
        raise BakingError(f"the {keyword!r} iTXt text is not valid UTF-8") from error


def _png_keyword(keyword: str) -> bytes:
    """Encode a PNG text keyword: 1-79 printable Latin-1 characters, single spaces."""
    if not 1 <= len(keyword) <= 79:
        raise BakingError(f"a PNG keyword is 1-79 characters, not {len(keyword)}")
    if keyword != keyword.strip() or "  " in keyword:
        raise BakingError("a PNG keyword has no leading, trailing or double spaces")
    if any(not (32 <= ord(c) <= 126 or 161 <= ord(c) <= 255) for c in keyword):
        raise BakingError(f"the PNG keyword {keyword!r} is not printable Latin-1")
    return keyword.encode("latin-1")


def bake_svg(svg: str, payload: str, *, version: OpenBadgesVersion = "3.0") -> str:
    """Return ``svg`` with ``payload`` baked in as its only Open Badges element.

    OB 3.0: ``<openbadges:credential>`` with ``verify="<JWS>"`` or a CDATA JSON
    body. OB 2.0: ``<openbadges:assertion>`` with ``verify="<JWS or URL>"`` or a
    CDATA JSON body. Existing badges of either version are removed first (both
    would need the ``openbadges`` prefix). The result is a str to be saved as
    UTF-8; an XML declaration naming another encoding is changed to UTF-8.
    """
    body = _svg_element(payload, version)
    keyword = OB3_KEYWORD if version == "3.0" else OB2_KEYWORD
    source = _svg_bytes(svg)
    root, baked_spans = _locate_svg(source)
    for start, end in sorted(baked_spans, reverse=True):
        source = source[:start] + source[end:]
    # Root offsets are unchanged: baked elements always come after the root start tag.
    text = source.decode("utf-8")
    tag = _START_TAG.match(text, _char_offset(source, root))
    if tag is None:  # pragma: no cover - expat accepted the tag
        raise BakingError("could not locate the <svg> start tag")
    name, attributes, empty = tag.group(1), tag.group(2), tag.group(3)
    namespace = OB3_SVG_NAMESPACE if version == "3.0" else OB2_SVG_NAMESPACE
    attributes = _NS_DECLARATION.sub("", attributes)
    start_tag = f"<{name} xmlns:openbadges={quoteattr(namespace)}{attributes}>"
    closing = f"</{name}>" if empty else ""
    baked = text[: tag.start()] + start_tag + body + closing + text[tag.end() :]
    baked = _XML_DECLARATION_ENCODING.sub(r'\1"UTF-8"', baked, count=1)
    _check_size("baked SVG image", len(baked.encode("utf-8")), MAX_IMAGE_BYTES)
    if unbake_svg(baked, keywords=(keyword,)) != Baked(keyword, payload.strip()):
        raise BakingError("the SVG could not be baked: the badge does not read back")
    return baked


def unbake_svg(svg: str, *, keywords: Sequence[str] = KEYWORDS) -> Baked | None:
    """Return the badge baked into ``svg``, or None if there is none.

    Looks for ``{https://purl.imsglobal.org/ob/v3p0}credential`` (keyword
    ``openbadgecredential``) and ``{http://openbadges.org}assertion`` (keyword
    ``openbadges``), in ``keywords`` order. The CDATA body wins over ``verify``.
    """
    _svg_bytes(svg)
    try:
        root = ET.fromstring(svg)  # noqa: S314 - DOCTYPE/ENTITY refused above
    except ET.ParseError as error:
        raise BakingError(f"the SVG is not well-formed XML: {error}") from error
    if root.tag not in (f"{{{SVG_NAMESPACE}}}svg", "svg"):
        raise BakingError(f"the root element is {root.tag!r}, not <svg>")
    for keyword in keywords:
        qname = _svg_qname(keyword)
        elements = list(root.iter(qname))
        if len(elements) > 1:
            raise BakingError(
                f"the SVG has {len(elements)} {qname} elements; exactly one is allowed"
            )
        if elements:
            element = elements[0]
            text = "".join(element.itertext()).strip() or element.get("verify", "")
            if not text:
                raise BakingError(f"the {qname} element is empty")
            return Baked(keyword, text)
    return None


def _svg_qname(keyword: str) -> str:
    if keyword == OB3_KEYWORD:
        return f"{{{OB3_SVG_NAMESPACE}}}credential"
    if keyword == OB2_KEYWORD:
        return f"{{{OB2_SVG_NAMESPACE}}}assertion"
    raise BakingError(f"unknown Open Badges keyword {keyword!r}")


def _svg_element(payload: str, version: OpenBadgesVersion) -> str:
    """Serialise the Open Badges element for ``payload``."""
    payload = payload.strip()
    _payload_bytes(payload)
    name = "openbadges:credential" if version == "3.0" else "openbadges:assertion"
    if _check_payload(payload, version) == "verify":
        return f"<{name} verify={quoteattr(payload)}/>"
    return f"<{name}>{_cdata(payload)}</{name}>"


def _check_payload(
    payload: str, version: OpenBadgesVersion
) -> Literal["verify", "json"]:
    """Tell how a payload is baked: in ``verify`` (JWS, OB 2.0 URL) or as JSON."""
    payload = payload.strip()
    if _JWS.fullmatch(payload) or (version == "2.0" and _URL.fullmatch(payload)):
        return "verify"
    try:
        document = json.loads(payload)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        accepted = "a compact JWS or a JSON object"
        if version == "2.0":
            accepted += " or an http(s) URL"
        raise BakingError(f"an OB {version} payload must be {accepted}")
    return "json"


def _cdata(text: str) -> str:
    """Wrap ``text`` in CDATA, splitting sections so ``]]>`` survives."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _svg_bytes(svg: str) -> bytes:
    """UTF-8 encode ``svg`` after the size and DTD checks (no XXE, no entity bombs)."""
    source = svg.encode("utf-8")
    _check_size("SVG image", len(source), MAX_IMAGE_BYTES)
    _refuse_dtd(source)
    return source


class _DtdFoundError(Exception):
    pass


def _refuse_dtd(source: bytes) -> None:
    """Refuse a document type declaration (XXE, entity bombs) before anything expands.

    Only a real declaration counts: the text "<!DOCTYPE" inside CDATA or an
    attribute (a credential may quote it) is data.
    """

    def refuse(*_args: object) -> None:
        raise _DtdFoundError

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(source, True)
    except _DtdFoundError:
        raise BakingError(
            "SVG with a DOCTYPE or ENTITY declaration is refused"
        ) from None
    except expat.ExpatError as error:
        raise BakingError(f"the SVG is not well-formed XML: {error}") from error


def _locate_svg(source: bytes) -> tuple[int, list[tuple[int, int]]]:
    """Return the root start tag's byte offset and the byte spans of baked elements."""
    targets = {f"{OB3_SVG_NAMESPACE} credential", f"{OB2_SVG_NAMESPACE} assertion"}
    text = source.decode("utf-8")
    parser = expat.ParserCreate(namespace_separator=" ")
    roots: list[tuple[str, int]] = []
    starts: list[int] = []
    spans: list[tuple[int, int]] = []

    def start(name: str, _attributes: dict[str, str]) -> None:
        starts.append(parser.CurrentByteIndex)
        if not roots:
            roots.append((name, parser.CurrentByteIndex))

    def end(name: str) -> None:
        begin = starts.pop()
        if name not in targets:
            return
        tag = _START_TAG.match(text, _char_offset(source, begin))
        if tag is None:  # pragma: no cover - expat accepted the tag
            raise BakingError("could not locate an Open Badges element")
        if tag.group(3):
            spans.append((begin, begin + len(tag.group(0).encode("utf-8"))))
        else:
            spans.append((begin, source.index(b">", parser.CurrentByteIndex) + 1))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(text, True)  # str input: expat reads UTF-8, offsets match source
    except expat.ExpatError as error:
        raise BakingError(f"the SVG is not well-formed XML: {error}") from error
    if not roots or roots[0][0] not in (f"{SVG_NAMESPACE} svg", "svg"):
        raise BakingError("the root element is not <svg>")
    outermost: list[tuple[int, int]] = []
    for span in sorted(spans):
        if not outermost or span[0] >= outermost[-1][1]:
            outermost.append(span)
    return roots[0][1], outermost


def _char_offset(source: bytes, byte_offset: int) -> int:
    return len(source[:byte_offset].decode("utf-8"))


def _payload_bytes(payload: str) -> bytes:
    encoded = payload.encode("utf-8")
    if not payload.strip():
        raise BakingError("the payload to bake is empty")
    _check_size("payload", len(encoded), MAX_PAYLOAD_BYTES)
    return encoded


def _check_size(what: str, size: int, limit: int) -> None:
    if size > limit:
        raise BakingError(f"the {what} is {size} bytes; the limit is {limit} bytes")
