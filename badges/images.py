"""Deterministic tier badge images: an accessible SVG and a plain PNG (no Pillow).

Both are ready for baking with ``badges.baking``. The same tier always gets the
same colour from ``TIER_PALETTE``; every palette colour has at least 4.5:1
contrast with white, the colour used for text and the ring.
"""

from __future__ import annotations

import math
import re
import struct
import zlib
from xml.sax.saxutils import escape, quoteattr

from badges.baking import PNG_SIGNATURE, png_chunk

# Tailwind 700 shades: each has >= 4.5:1 contrast against white (WCAG 2.x AA).
TIER_PALETTE = (
    "#1D4ED8",  # blue
    "#047857",  # emerald
    "#7E22CE",  # purple
    "#B45309",  # amber
    "#BE123C",  # rose
    "#0F766E",  # teal
)
MIN_PNG_SIZE = 16
MAX_PNG_SIZE = 1024

_HEX_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
# Characters XML 1.0 forbids (C0 controls but tab/LF/CR, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SHIELD = "M128 12 L232 48 V124 C232 184 188 226 128 246 C68 226 24 184 24 124 V48 Z"
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
_MAX_LABEL = 24


def tier_colour(tier_order: int) -> str:
    """Return the palette colour (``#RRGGBB``) of a tier; tiers start at 1."""
    if tier_order < 1:
        raise ValueError(f"tier_order starts at 1, not {tier_order}")
    return TIER_PALETTE[(tier_order - 1) % len(TIER_PALETTE)]


def tier_badge_svg(
    title: str, subtitle: str, tier_order: int, colour: str | None = None
) -> str:
    """Return a 256x256 shield badge SVG with role="img", <title> and <desc>.

    ``colour`` (``#RRGGBB``) overrides the tier's palette colour. Text is
    XML-escaped and stripped of characters XML cannot hold; long labels are
    shortened on the badge but kept whole in ``<title>``/``<desc>``.
    """
    fill = tier_colour(tier_order) if colour is None else _checked_colour(colour)
    title, subtitle = _xml_text(title), _xml_text(subtitle)
    ring = _shade(fill, 0.65)
    description = (
        f"{subtitle} (tier {tier_order})" if subtitle else f"Tier {tier_order}"
    )
    lines = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"'
        ' viewBox="0 0 256 256" role="img"'
        ' aria-labelledby="badge-title badge-desc">',
        f'<title id="badge-title">{escape(title)}</title>',
        f'<desc id="badge-desc">{escape(description)}</desc>',
        f'<path d="{_SHIELD}" fill="{fill}" stroke="{ring}" stroke-width="8"'
        ' stroke-linejoin="round"/>',
        f'<path d="{_SHIELD}" fill="none" stroke="#FFFFFF" stroke-width="3"'
        ' stroke-linejoin="round" transform="translate(128 129) scale(0.86)'
        ' translate(-128 -129)"/>',
        f'<g fill="#FFFFFF" font-family={quoteattr(_FONT)} text-anchor="middle">',
        '<text x="128" y="62" font-size="15" font-weight="600"'
        ' letter-spacing="2">TIER</text>',
        f'<text x="128" y="132" font-size="64" font-weight="700">{tier_order}</text>',
        f'<text x="128" y="172" font-size="16" font-weight="600">'
        f"{escape(_shorten(title))}</text>",
        f'<text x="128" y="194" font-size="12">{escape(_shorten(subtitle))}</text>',
        "</g>",
        "</svg>",
    ]
    return "\n".join(lines) + "\n"


def tier_badge_png(title: str, tier_order: int, size: int = 256) -> bytes:
    """Return a ``size`` x ``size`` RGBA PNG: a tier-coloured disc with a white ring.

    One white pip per tier (up to five) sits in the middle; ``title`` is stored
    in an uncompressed UTF-8 ``iTXt`` ``Title`` chunk, not drawn. Output is
    byte-for-byte deterministic.
    """
    if not MIN_PNG_SIZE <= size <= MAX_PNG_SIZE:
        raise ValueError(
            f"size must be {MIN_PNG_SIZE}-{MAX_PNG_SIZE} pixels, not {size}"
        )
    fill = _rgb(tier_colour(tier_order))
    edge = _rgb(_shade(tier_colour(tier_order), 0.65))
    white = (255, 255, 255)
    centre = (size - 1) / 2
    outer = size / 2 - 1
    ring_out, ring_in = outer * 0.86, outer * 0.78
    pips = min(tier_order, 5)
    pip_radius = outer * 0.09
    pip_gap = pip_radius * 2.6
    pip_centres = [
        (centre + (i - (pips - 1) / 2) * pip_gap, centre) for i in range(pips)
    ]

    def pixel(x: int, y: int) -> bytes:
        distance = math.hypot(x - centre, y - centre)
        alpha = _coverage(outer - distance)
        if alpha == 0:
            return b"\x00\x00\x00\x00"
        colour = _mix(edge, fill, _coverage(outer * 0.94 - distance))
        ring = min(_coverage(ring_out - distance), _coverage(distance - ring_in))
        pip = max(
            (
                _coverage(pip_radius - math.hypot(x - px, y - py))
                for px, py in pip_centres
            ),
            default=0.0,
        )
        colour = _mix(colour, white, max(ring, pip))
        return bytes((*colour, round(alpha * 255)))

    # The picture is symmetric about both axes: draw the top-left quadrant, mirror it.
    half = (size + 1) // 2
    top: list[bytes] = []
    for y in range(half):
        left = [pixel(x, y) for x in range(half)]
        top.append(b"".join(left + left[: size // 2][::-1]))
    rows = bytearray()
    for line in top + top[: size // 2][::-1]:
        rows.append(0)  # filter type None
        rows += line
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    title_text = title.replace("\x00", " ").encode("utf-8", errors="replace")
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"iTXt", b"Title\x00\x00\x00\x00\x00" + title_text)
        + png_chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + png_chunk(b"IEND", b"")
    )


def contrast_ratio(first: str, second: str) -> float:
    """Return the WCAG 2.x contrast ratio of two ``#RRGGBB`` colours."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _coverage(signed_distance: float) -> float:
    """Anti-aliased coverage of a pixel whose centre is inside by ``signed_distance``."""
    return min(1.0, max(0.0, signed_distance + 0.5))


def _mix(
    base: tuple[int, int, int], top: tuple[int, int, int], amount: float
) -> tuple[int, int, int]:
    r, g, b = (round(a + (t - a) * amount) for a, t in zip(base, top, strict=True))
    return (r, g, b)


def _rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def _shade(colour: str, factor: float) -> str:
    r, g, b = (round(v * factor) for v in _rgb(colour))
    return f"#{r:02X}{g:02X}{b:02X}"


def _checked_colour(colour: str) -> str:
    if not _HEX_COLOUR.fullmatch(colour):
        raise ValueError(f"colour must be #RRGGBB, not {colour!r}")
    return colour.upper()


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1].rstrip() + "…"
