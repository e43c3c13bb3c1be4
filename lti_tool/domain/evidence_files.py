"""Evidence uploads: decide from a file's bytes whether it may be stored.

An upload is accepted only when its content is one of the allowed kinds
(`FileKind`) and the extension of its name agrees with that kind. Neither the
name nor the type the browser declares is trusted on its own: HTML named
``report.pdf`` and a real PNG named ``photo.pdf`` are both refused, with a
message a learner can act on. A name without an extension gets the detected
kind's extension.

Office files are ZIP archives; they are accepted only when they are Word, Excel
or PowerPoint (Office Open XML) documents without macros or encryption, whose
parts are intact and expand to at most `MAX_UNPACKED_BYTES`.

Checking content does not make a file harmless to render: serve evidence with
`CheckedFile.content_type`, ``X-Content-Type-Options: nosniff`` and
``Content-Disposition: attachment`` using the checked name.
"""

from __future__ import annotations

import io
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

MIB = 1024 * 1024
DEFAULT_MAX_BYTES = 20 * MIB
"""A sensible upload limit; `check_upload` takes the limit as a parameter."""
MAX_UNPACKED_BYTES = 100 * MIB
"""The most an Office file may expand to when opened."""
MAX_PACKING_RATIO = 200
"""How many times its size an Office file over 1 MiB unpacked may expand to."""
MAX_ARCHIVE_ENTRIES = 5000
"""The most parts an Office file may have."""
MAX_NAME_LENGTH = 120
"""The longest name `safe_filename` returns, extension included."""

RefusalCode = Literal[
    "file_empty",
    "file_too_large",
    "file_name_invalid",
    "file_type_not_allowed",
    "file_disguised",
    "file_damaged",
    "file_unsafe",
]


class FileKind(StrEnum):
    """A kind of file learners may upload; the value is a stable code for storage."""

    PDF = "pdf"
    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"
    TEXT = "text"
    CSV = "csv"
    DOCX = "docx"
    XLSX = "xlsx"
    PPTX = "pptx"

    @property
    def label(self) -> str:
        """The short name in the list of allowed kinds, e.g. ``Word``."""
        return _SPECS[self].label

    @property
    def noun(self) -> str:
        """The kind in a sentence, e.g. ``a Word document``."""
        return _SPECS[self].noun

    @property
    def content_type(self) -> str:
        """The MIME type to serve the file with."""
        return _SPECS[self].content_type

    @property
    def extensions(self) -> tuple[str, ...]:
        """Accepted extensions, lowercase with the dot; the first is canonical."""
        return _SPECS[self].extensions


@dataclass(frozen=True)
class _Spec:
    label: str
    noun: str
    content_type: str
    extensions: tuple[str, ...]


_OOXML = "application/vnd.openxmlformats-officedocument"
_SPECS: dict[FileKind, _Spec] = {
    FileKind.PDF: _Spec("PDF", "a PDF", "application/pdf", (".pdf",)),
    FileKind.PNG: _Spec("PNG", "a PNG image", "image/png", (".png",)),
    FileKind.JPEG: _Spec("JPEG", "a JPEG image", "image/jpeg", (".jpg", ".jpeg")),
    FileKind.WEBP: _Spec("WebP", "a WebP image", "image/webp", (".webp",)),
    FileKind.TEXT: _Spec("text", "a text file", "text/plain; charset=utf-8", (".txt",)),
    FileKind.CSV: _Spec("CSV", "a CSV file", "text/csv; charset=utf-8", (".csv",)),
    FileKind.DOCX: _Spec(
        "Word",
        "a Word document",
        f"{_OOXML}.wordprocessingml.document",
        (".docx",),
    ),
    FileKind.XLSX: _Spec(
        "Excel", "an Excel workbook", f"{_OOXML}.spreadsheetml.sheet", (".xlsx",)
    ),
    FileKind.PPTX: _Spec(
        "PowerPoint",
        "a PowerPoint presentation",
        f"{_OOXML}.presentationml.presentation",
        (".pptx",),
    ),
}

ALLOWED_DESCRIPTION = ", ".join(kind.label for kind in FileKind)
"""The allowed kinds for people: ``PDF, PNG, JPEG, WebP, text, CSV, Word, ...``."""

ACCEPT = ",".join(ext for kind in FileKind for ext in kind.extensions)
"""The ``accept`` attribute for ``<input type=file>``: ``.pdf,.png,.jpg,...``."""

_KIND_BY_EXTENSION = {ext: kind for kind in FileKind for ext in kind.extensions}


class EvidenceFileError(ValueError):
    """An upload was refused; `message` says why in words a learner understands."""

    def __init__(self, code: RefusalCode, message: str) -> None:
        super().__init__(message)
        self.code: RefusalCode = code
        self.message = message


@dataclass(frozen=True)
class CheckedFile:
    """An accepted upload: its safe name, the type to serve it with, its size."""

    name: str
    content_type: str
    size: int
    kind: FileKind


def check_upload(name: str, data: bytes, *, max_bytes: int) -> CheckedFile:
    """Accept an upload whose content and extension agree, or raise `EvidenceFileError`.

    `name` is the name the browser sent; the returned name is `safe_filename` of
    it, with the kind's extension added when it had none.
    """
    shown = safe_filename(name)
    if _DISGUISING_CHARACTERS.search(name):
        raise EvidenceFileError(
            "file_name_invalid",
            f"{shown}: the file name contains hidden characters that can disguise "
            "a file's type. Rename the file and upload it again.",
        )
    if not data:
        raise EvidenceFileError("file_empty", f"{shown} is empty.")
    if len(data) > max_bytes:
        raise EvidenceFileError(
            "file_too_large",
            f"{shown} is too large: the limit is {_megabytes(max_bytes)}.",
        )
    try:
        found = _sniff(data)
    except _Problem as problem:
        raise EvidenceFileError(problem.code, f"{shown} {problem.detail}") from None

    extension = _extension(shown)
    claimed = _KIND_BY_EXTENSION.get(extension) if extension else None
    if not isinstance(found, FileKind):  # a FileKind is a str too: test it first
        if claimed is not None:
            raise EvidenceFileError(
                "file_disguised",
                f"{shown} is not {claimed.noun}: its content looks like {found}. "
                f"Allowed: {ALLOWED_DESCRIPTION}.",
            )
        raise EvidenceFileError(
            "file_type_not_allowed",
            f"{shown} cannot be uploaded: its content looks like {found}. "
            f"Allowed: {ALLOWED_DESCRIPTION}.",
        )
    if extension is None:
        return _checked(safe_filename(shown + found.extensions[0]), found, data)
    if claimed is None:
        raise EvidenceFileError(
            "file_type_not_allowed",
            f"{shown} cannot be uploaded: files ending in {extension} are not "
            f"accepted. Its content looks like {found.noun}; rename it to end in "
            f"{found.extensions[0]}.",
        )
    if claimed == found or (found is FileKind.TEXT and claimed is FileKind.CSV):
        return _checked(shown, claimed, data)
    raise EvidenceFileError(
        "file_disguised",
        f"{shown} is not {claimed.noun}: its content looks like {found.noun}. "
        f"Rename it to end in {found.extensions[0]}.",
    )


def safe_filename(name: str) -> str:
    """Return a name safe to show and to send in ``Content-Disposition``.

    Keeps only the last path component (``/`` or ``\\``), normalises to NFC,
    turns control characters and whitespace runs into one space, drops invisible
    formatting characters (such as right-to-left overrides) and ``"*/:;<>?\\|%``,
    strips leading and trailing dots and spaces, and shortens the name to
    `MAX_NAME_LENGTH` characters keeping the extension. Letters in any script
    are kept; an empty result becomes ``evidence`` (plus the extension).
    """
    base = unicodedata.normalize("NFC", re.split(r"[/\\]", name)[-1])
    kept: list[str] = []
    for char in base:
        category = unicodedata.category(char)
        if category == "Cc" or category.startswith("Z"):
            kept.append(" ")
        elif category not in _INVISIBLE_CATEGORIES and char not in _UNSAFE_IN_NAME:
            kept.append(char)
    # Again: dropping a character can leave a letter and an accent side by side.
    joined = unicodedata.normalize("NFC", "".join(kept))
    # Twice: cutting a name without an extension can expose one ("a .b").
    return _fit(_fit(" ".join(joined.split())))


# ---- names ------------------------------------------------------------------------

_UNSAFE_IN_NAME = frozenset('"*/:;<>?\\|%')
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cs", "Co", "Cn"})
# NUL truncates names in C code; bidirectional overrides and isolates reorder how
# a name is displayed ("invoice\u202efdp.exe" shows as "invoiceexe.pdf").
_DISGUISING_CHARACTERS = re.compile("[\x00\u202a-\u202e\u2066-\u2069]")
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,10}")


def _extension(name: str) -> str | None:
    """Return the name's extension, lowercase with the dot, or None if it has none."""
    _, dot, extension = name.rpartition(".")
    if dot and _EXTENSION.fullmatch(extension):
        return "." + extension.lower()
    return None


def _fit(name: str) -> str:
    """Strip dots and spaces around the stem and cut it, keeping the extension."""
    name = name.rstrip(". ")
    extension = _extension(name)
    cut = len(name) - len(extension) if extension else len(name)
    stem = name[:cut].lstrip(". ")[: MAX_NAME_LENGTH - len(name) + cut].rstrip(". ")
    return (stem or "evidence") + name[cut:]


def _megabytes(size: int) -> str:
    """Return a size for people, e.g. ``20 MB`` or ``2.5 MB``."""
    value = f"{size / MIB:.1f}".removesuffix(".0")
    return f"{value} MB"


def _checked(name: str, kind: FileKind, data: bytes) -> CheckedFile:
    return CheckedFile(name, kind.content_type, len(data), kind)


# ---- content --------------------------------------------------------------------


class _Problem(Exception):
    """Content that is damaged or unsafe whatever the file is called."""

    def __init__(self, code: RefusalCode, detail: str) -> None:
        super().__init__(detail)
        self.code: RefusalCode = code
        self.detail = detail


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_WEBP_CHUNKS = frozenset({b"VP8 ", b"VP8L", b"VP8X"})
# C0 control bytes other than \t \n \f \r, and DEL: never in plain text.
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _sniff(data: bytes) -> FileKind | str:
    """Return the allowed kind the content is, or what it looks like otherwise.

    Plain text and CSV are indistinguishable by content: both come back as TEXT.
    Raises `_Problem` for damaged or unsafe content.
    """
    if data.startswith(b"%PDF-"):
        return FileKind.PDF
    if data.startswith(_PNG_SIGNATURE):
        _check_png(data)
        return FileKind.PNG
    if data.startswith(b"\xff\xd8\xff"):
        return FileKind.JPEG
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        if data[12:16] not in _WEBP_CHUNKS:
            raise _Problem(
                "file_damaged",
                "is damaged: it starts like a WebP image but is not one.",
            )
        return FileKind.WEBP
    if data.startswith(b"PK\x03\x04"):
        return _sniff_archive(data)
    text = _as_text(data)
    if text is not None:
        return _sniff_text(text)
    return _describe_binary(data)


def _check_png(data: bytes) -> None:
    """Require a complete IHDR chunk with a non-zero size and a correct checksum."""
    if len(data) >= 33 and data[8:16] == b"\x00\x00\x00\x0dIHDR":
        width, height = struct.unpack(">II", data[16:24])
        (checksum,) = struct.unpack(">I", data[29:33])
        if width and height and zlib.crc32(data[12:29]) == checksum:
            return
    raise _Problem(
        "file_damaged",
        "is damaged: it starts like a PNG image but its header is broken.",
    )


def _as_text(data: bytes) -> str | None:
    """Return the content as text if it is UTF-8 without binary control bytes."""
    if _BINARY_BYTES.search(data):
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


# The WHATWG MIME sniffing patterns for HTML: the tag, then a space or ">".
_HTML_STARTS = (
    "<!doctype html",
    "<html",
    "<head",
    "<script",
    "<iframe",
    "<h1",
    "<div",
    "<font",
    "<table",
    "<a",
    "<style",
    "<title",
    "<b",
    "<body",
    "<br",
    "<p",
    "<!--",
)
# Tags that make a browser run or embed things, wherever they appear in the head.
_HTML_ANYWHERE = (
    "<!doctype html",
    "<html",
    "<head",
    "<body",
    "<script",
    "<iframe",
    "<object",
    "<embed",
)
_SNIFF_CHARS = 1024


def _sniff_text(text: str) -> FileKind | str:
    """Return TEXT, or what markup or script the text is."""
    head = text[:_SNIFF_CHARS].lstrip(" \t\n\f\r").lower()
    if head.startswith("#!"):
        return "a script"
    if head.startswith("<svg") or (
        head.startswith(("<?xml", "<!doctype svg")) and "<svg" in head
    ):
        return "an SVG image"
    if any(
        head.startswith(tag) and head[len(tag) : len(tag) + 1] in (" ", ">")
        for tag in _HTML_STARTS
    ) or any(tag in head for tag in _HTML_ANYWHERE):
        return "an HTML page"
    if head.startswith("<?xml"):
        return "an XML document"
    if "<svg" in head:
        return "an SVG image"
    return FileKind.TEXT


_PROGRAM = "a program"
_ARCHIVE = "a compressed archive"
_MEDIA = "an audio or video file"
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (b"\xfe\xed\xfa\xce", "a macOS program"),
    (b"\xfe\xed\xfa\xcf", "a macOS program"),
    (b"\xce\xfa\xed\xfe", "a macOS program"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\xca\xfe\xba\xbe", _PROGRAM),
    (b"\x00asm", _PROGRAM),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old-format (.doc, .xls, .ppt) or password-protected Office document",
    ),
    (b"\xff\xfe", "text saved as UTF-16 (save it as UTF-8)"),
    (b"\xfe\xff", "text saved as UTF-16 (save it as UTF-8)"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"BM", "a BMP image"),
    (b"PK", "a ZIP archive"),
    (b"\x1f\x8b", _ARCHIVE),
    (b"Rar!\x1a\x07", _ARCHIVE),
    (b"7z\xbc\xaf\x27\x1c", _ARCHIVE),
    (b"\xfd7zXZ\x00", _ARCHIVE),
    (b"BZh", _ARCHIVE),
    (b"RIFF", _MEDIA),
    (b"ID3", _MEDIA),
    (b"OggS", _MEDIA),
    (b"fLaC", _MEDIA),
    (b"\x1aE\xdf\xa3", _MEDIA),
    (b"SQLite format 3\x00", "a database file"),
)
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"}
)


def _describe_binary(data: bytes) -> str:
    """Say what non-text content looks like, for the refusal message."""
    if data[4:8] == b"ftyp":
        if data[8:12] in _HEIF_BRANDS:
            return "an HEIC photo (export it as JPEG)"
        if data[8:12] == b"avif":
            return "an AVIF image"
        return _MEDIA
    if data[257:262] == b"ustar":
        return _ARCHIVE
    for magic, description in _BINARY_MAGIC:
        if data.startswith(magic):
            return description
    if not _BINARY_BYTES.search(data):
        return 'text that is not saved as UTF-8 (in Excel choose "CSV UTF-8")'
    return "binary data, not text"


# ---- Office files -----------------------------------------------------------------

_OFFICE_FOLDERS = (
    ("word", FileKind.DOCX),
    ("xl", FileKind.XLSX),
    ("ppt", FileKind.PPTX),
)
_CONTENT_TYPES = "[content_types].xml"
_READ_CHUNK = MIB


def _sniff_archive(data: bytes) -> FileKind | str:
    """Return the Office kind of a ZIP archive, or what other archive it is."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            _check_archive_limits(entries, len(data))
            found = _classify_archive([entry.filename.lower() for entry in entries])
            if isinstance(found, FileKind):
                _check_office_parts(archive, entries)
            return found
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        zlib.error,
    ):
        raise _Problem(
            "file_damaged",
            "is damaged: it starts like an Office or ZIP file but cannot be read.",
        ) from None


def _check_archive_limits(entries: Sequence[zipfile.ZipInfo], packed: int) -> None:
    """Refuse archives too big or too strange to open safely (zip bombs)."""
    if len(entries) > MAX_ARCHIVE_ENTRIES:
        raise _Problem(
            "file_unsafe",
            f"has more than {MAX_ARCHIVE_ENTRIES} parts inside, too many to check.",
        )
    if any(entry.flag_bits & 0x1 for entry in entries):
        raise _Problem(
            "file_unsafe", "has encrypted parts inside, which cannot be checked."
        )
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > MAX_UNPACKED_BYTES:
        raise _Problem(
            "file_unsafe",
            f"would expand to more than {_megabytes(MAX_UNPACKED_BYTES)} when "
            'opened, which is how harmful "zip bombs" work.',
        )
    if unpacked > MIB and unpacked > MAX_PACKING_RATIO * packed:
        raise _Problem(
            "file_unsafe",
            f"would expand to more than {MAX_PACKING_RATIO} times its size when "
            'opened, which is how harmful "zip bombs" work.',
        )


def _classify_archive(names: Sequence[str]) -> FileKind | str:
    """Tell Word, Excel and PowerPoint files from other archives by their parts."""
    if len(set(names)) != len(names):
        raise _Problem("file_damaged", "is damaged: it lists the same part twice.")
    if _CONTENT_TYPES in names:
        folders = {name.split("/", 1)[0] for name in names if "/" in name}
        kinds = [kind for folder, kind in _OFFICE_FOLDERS if folder in folders]
        if len(kinds) == 1:
            return kinds[0]
        return "an Office file that is not Word, Excel or PowerPoint"
    if "mimetype" in names:
        return "an OpenDocument (LibreOffice) file"
    return "a ZIP archive"


def _check_office_parts(
    archive: zipfile.ZipFile, entries: Sequence[zipfile.ZipInfo]
) -> None:
    """Refuse macros and read every part, so damage and lying sizes show."""
    if any(entry.filename.lower().endswith("vbaproject.bin") for entry in entries):
        raise _macros()
    for entry in entries:
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Problem(
                "file_damaged",
                "is damaged: it is compressed in a way Office does not use.",
            )
        with archive.open(entry) as part:
            first = part.read(_READ_CHUNK)
            while part.read(_READ_CHUNK):
                pass
        if (
            entry.filename.lower() == _CONTENT_TYPES
            and b"macroenabled" in first.lower()
        ):
            raise _macros()


def _macros() -> _Problem:
    return _Problem(
        "file_unsafe",
        "contains macros, which are not allowed. Save it without macros "
        "(.docx, .xlsx or .pptx) and upload it again.",
    )
