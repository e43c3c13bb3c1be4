"""Tier badge images: a valid, deterministic PNG and an accessible, well-formed SVG.

The PNG is decoded here with struct + zlib only (no imaging library).
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass

import pytest

from badges.images import (
    MAX_PNG_SIZE,
    MIN_PNG_SIZE,
    TIER_PALETTE,
    contrast_ratio,
    tier_badge_png,
    tier_badge_svg,
    tier_colour,
)

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WHITE = (255, 255, 255, 255)


@dataclass(frozen=True)
class Png:
    """A decoded 8-bit RGBA PNG."""

    chunks: list[tuple[bytes, bytes]]
    width: int
    height: int
    rgba: bytes

    def pixel(self, x: int, y: int) -> tuple[int, int, int, int]:
        start = (y * self.width + x) * 4
        r, g, b, a = self.rgba[start : start + 4]
        return (r, g, b, a)


def decode_png(data: bytes) -> Png:
    assert data[:8] == PNG_SIGNATURE
    chunks: list[tuple[bytes, bytes]] = []
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        offset += 12 + length
    assert offset == len(data)
    assert chunks[0][0] == b"IHDR"
    assert chunks[-1] == (b"IEND", b"")
    width, height, depth, colour_type, compression, filtering, interlace = (
        struct.unpack(">IIBBBBB", chunks[0][1])
    )
    assert (depth, colour_type, compression, filtering, interlace) == (8, 6, 0, 0, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + 4 * width
    assert len(raw) == height * stride
    rows = [raw[y * stride : (y + 1) * stride] for y in range(height)]
    assert {row[0] for row in rows} == {0}  # filter type None throughout
    return Png(chunks, width, height, b"".join(row[1:] for row in rows))


def rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, no DTD


def text_of(root: ET.Element, path: str) -> str:
    element = root.find(path)
    assert element is not None, path
    return element.text or ""


# --- PNG -------------------------------------------------------------------------


def test_png_is_a_valid_rgba_png_with_a_title() -> None:
    image = decode_png(tier_badge_png("Tier 1 Customer Care Specialist", 1))
    assert (image.width, image.height) == (256, 256)
    assert [kind for kind, _ in image.chunks] == [b"IHDR", b"iTXt", b"IDAT", b"IEND"]
    assert (
        image.chunks[1][1]
        == b"Title\x00\x00\x00\x00\x00Tier 1 Customer Care Specialist"
    )


def test_png_title_is_utf8_and_never_breaks_the_chunk() -> None:
    image = decode_png(tier_badge_png("Nível 1 — 客服\x00x", 1, size=16))
    keyword, _, rest = image.chunks[1][1].partition(b"\x00")
    assert keyword == b"Title"
    assert rest[4:].decode("utf-8") == "Nível 1 — 客服 x"


def test_png_is_deterministic() -> None:
    assert tier_badge_png("Tier 2", 2) == tier_badge_png("Tier 2", 2)
    assert tier_badge_png("Tier 2", 2) != tier_badge_png("Tier 2", 3)
    # The title is metadata only: the pixels do not change.
    one, other = decode_png(tier_badge_png("A", 2)), decode_png(tier_badge_png("B", 2))
    assert one.rgba == other.rgba


@pytest.mark.parametrize("tier", [1, 2, 3, 6])
def test_png_pixels_disc_ring_and_colour(tier: int) -> None:
    image = decode_png(tier_badge_png("Tier", tier))
    fill = rgb(tier_colour(tier))
    # Corners lie outside the disc: fully transparent.
    for x, y in [(0, 0), (255, 0), (0, 255), (255, 255)]:
        assert image.pixel(x, y)[3] == 0
    # Just inside the top edge: the darker rim, opaque.
    rim = image.pixel(127, 3)
    assert rim[3] == 255
    assert rim[:3] == tuple(round(v * 0.65) for v in fill)
    # On the white ring (radius about 0.82 of the disc).
    assert image.pixel(127, 21) == WHITE
    # Between the ring and the pips: the tier colour.
    assert image.pixel(127, 60) == (*fill, 255)


@pytest.mark.parametrize(("tier", "pips"), [(1, 1), (2, 2), (3, 3), (5, 5), (9, 5)])
def test_png_shows_one_pip_per_tier_up_to_five(tier: int, pips: int) -> None:
    image = decode_png(tier_badge_png("Tier", tier))
    fill = (*rgb(tier_colour(tier)), 255)
    middle = [image.pixel(x, 128) for x in range(40, 216)]  # inside the ring
    runs = sum(
        1
        for previous, current in zip([fill, *middle], middle, strict=False)
        if current == WHITE and previous != WHITE
    )
    assert runs == pips
    if pips % 2:
        assert image.pixel(127, 128) == WHITE  # a pip sits in the centre
    else:
        assert image.pixel(127, 128) == fill


@pytest.mark.parametrize("size", [MIN_PNG_SIZE, 17, 63, 128])
def test_png_sizes_and_symmetry(size: int) -> None:
    image = decode_png(tier_badge_png("Tier", 3, size=size))
    assert (image.width, image.height) == (size, size)
    for y in range(size):
        for x in range(size):
            pixel = image.pixel(x, y)
            assert pixel == image.pixel(size - 1 - x, y)
            assert pixel == image.pixel(x, size - 1 - y)
    # Alpha grows towards the centre: anti-aliased edge, opaque middle.
    centre = size // 2
    assert image.pixel(centre, centre)[3] == 255
    assert image.pixel(0, 0)[3] == 0


def test_png_alpha_is_antialiased_at_the_edge() -> None:
    image = decode_png(tier_badge_png("Tier", 1))
    alphas = {image.pixel(x, y)[3] for x in range(256) for y in range(256)}
    assert {0, 255} <= alphas
    assert len(alphas) > 20  # partial coverage along the circle


@pytest.mark.parametrize("size", [MIN_PNG_SIZE - 1, MAX_PNG_SIZE + 1, 0, -5])
def test_png_size_limits(size: int) -> None:
    with pytest.raises(ValueError, match="size must be"):
        tier_badge_png("Tier", 1, size=size)


@pytest.mark.parametrize("tier", [0, -1])
def test_tiers_start_at_one(tier: int) -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        tier_badge_png("Tier", tier)
    with pytest.raises(ValueError, match="starts at 1"):
        tier_badge_svg("Tier", "", tier)


# --- colours ---------------------------------------------------------------------


def test_every_palette_colour_passes_wcag_aa_against_white() -> None:
    for colour in TIER_PALETTE:
        assert contrast_ratio(colour, "#FFFFFF") >= 4.5, colour


def test_contrast_ratio_known_values() -> None:
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast_ratio("#FFFFFF", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#1D4ED8", "#1D4ED8") == pytest.approx(1.0)
    assert contrast_ratio("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.01)


def test_tier_colours_cycle_through_the_palette() -> None:
    assert [tier_colour(t) for t in range(1, 7)] == list(TIER_PALETTE)
    assert tier_colour(7) == tier_colour(1)
    assert len(set(TIER_PALETTE)) == len(TIER_PALETTE)


# --- SVG -------------------------------------------------------------------------


def test_svg_is_well_formed_and_labelled_for_screen_readers() -> None:
    svg = tier_badge_svg("Tier 2 Senior Agent", "Contact Center Academy", 2)
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("viewBox") == "0 0 256 256"
    assert (root.get("width"), root.get("height")) == ("256", "256")
    title, desc = root[0], root[1]
    assert (title.tag, desc.tag) == (f"{SVG}title", f"{SVG}desc")  # title first
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == "Tier 2 Senior Agent"
    assert desc.text == "Contact Center Academy (tier 2)"
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert texts == ["TIER", "2", "Tier 2 Senior Agent", "Contact Center Academy"]


def test_svg_without_subtitle_describes_the_tier() -> None:
    root = parse(tier_badge_svg("Tier 4", "", 4))
    assert text_of(root, f"{SVG}desc") == "Tier 4"


def test_svg_escapes_markup_in_labels() -> None:
    title = "R&D <Leads> \"quoted\" 'single'"
    svg = tier_badge_svg(title, "<script>alert(1)</script>", 1)
    assert "<script>" not in svg
    root = parse(svg)
    assert text_of(root, f"{SVG}title") == title
    assert text_of(root, f"{SVG}desc") == "<script>alert(1)</script> (tier 1)"


def test_svg_drops_characters_xml_cannot_hold() -> None:
    svg = tier_badge_svg("Tier\x00 1\x01\x1f\ud800\ufffe", "a\x0bb\tc", 1)
    root = parse(svg)
    assert text_of(root, f"{SVG}title") == "Tier 1"
    assert text_of(root, f"{SVG}desc") == "ab\tc (tier 1)"


def test_svg_shortens_long_labels_on_the_badge_only() -> None:
    title = "Tier 3 Workforce Management and Quality Assurance Lead"
    root = parse(tier_badge_svg(title, "", 3))
    assert text_of(root, f"{SVG}title") == title
    shown = [element.text or "" for element in root.iter(f"{SVG}text")][2]
    assert shown.endswith("…")
    assert len(shown) <= 24
    assert title.startswith(shown[:-1])


def test_svg_colours_come_from_the_palette_or_a_checked_override() -> None:
    def shield_fill(svg: str) -> str | None:
        return parse(svg).find(f"{SVG}path").get("fill")  # type: ignore[union-attr]

    assert shield_fill(tier_badge_svg("T", "", 2)) == tier_colour(2)
    assert shield_fill(tier_badge_svg("T", "", 2, colour="#0f766e")) == "#0F766E"
    for bad in ["red", "#FFF", "#GGGGGG", "0F766E", "#0F766E'/><script>"]:
        with pytest.raises(ValueError, match="#RRGGBB"):
            tier_badge_svg("T", "", 1, colour=bad)


def test_svg_is_deterministic() -> None:
    assert tier_badge_svg("Tier 1", "CCA", 1) == tier_badge_svg("Tier 1", "CCA", 1)
    assert tier_badge_svg("Tier 1", "CCA", 1) != tier_badge_svg("Tier 1", "CCA", 2)


def test_svg_ring_is_darker_than_the_fill() -> None:
    paths = parse(tier_badge_svg("T", "", 1)).findall(f"{SVG}path")
    fill, ring = paths[0].get("fill"), paths[0].get("stroke")
    assert fill is not None
    assert ring is not None
    assert contrast_ratio(ring, "#FFFFFF") > contrast_ratio(fill, "#FFFFFF")
