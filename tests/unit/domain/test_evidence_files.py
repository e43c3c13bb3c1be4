"""Evidence uploads: allowed by content, extension agrees, disguises and bombs refused."""

from __future__ import annotations

import io
import struct
import unicodedata
import zipfile
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lti_tool.domain import evidence_files
from lti_tool.domain.evidence_files import (
    ACCEPT,
    ALLOWED_DESCRIPTION,
    MAX_NAME_LENGTH,
    MIB,
    CheckedFile,
    EvidenceFileError,
    FileKind,
    check_upload,
    safe_filename,
)

LIMIT = 5 * MIB
OOXML = "application/vnd.openxmlformats-officedocument"


# ---- minimal real samples ------------------------------------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png() -> bytes:
    """A complete 1x1 red PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    """A JFIF header and end-of-image marker."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + b"\xff\xd9"


def webp() -> bytes:
    """A 1x1 lossless WebP."""
    body = b"\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
    chunk = b"VP8L" + struct.pack("<I", 13) + body[:13] + b"\x00"
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def pdf() -> bytes:
    """A one-page PDF."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def zip_of(parts: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


MAIN_PARTS = {
    "word": ("word/document.xml", "wordprocessingml.document.main+xml"),
    "xl": ("xl/workbook.xml", "spreadsheetml.sheet.main+xml"),
    "ppt": ("ppt/presentation.xml", "presentationml.presentation.main+xml"),
}


def office_parts(folder: str, main_type: str | None = None) -> dict[str, bytes]:
    """The parts of a minimal Office Open XML document."""
    part, default_type = MAIN_PARTS[folder]
    content_type = main_type or f"{OOXML}.{default_type}"
    return {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
            'openxmlformats.org/package/2006/content-types"><Default Extension='
            '"rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Override PartName="/'
            f'{part}" ContentType="{content_type}"/></Types>'
        ).encode(),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://'
            'schemas.openxmlformats.org/package/2006/relationships"><Relationship '
            'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            f'relationships/officeDocument" Target="{part}"/></Relationships>'
        ).encode(),
        part: b'<?xml version="1.0" encoding="UTF-8"?><root>Hola</root>',
    }


def docx() -> bytes:
    return zip_of(office_parts("word"))


def xlsx() -> bytes:
    return zip_of(office_parts("xl"))


def pptx() -> bytes:
    return zip_of(office_parts("ppt"))


def patch_central_directory(
    data: bytes, name: str, *, size: int | None = None, flags: int | None = None
) -> bytes:
    """Rewrite what an entry's central directory record declares."""
    patched = bytearray(data)
    start = patched.find(b"PK\x01\x02")
    while start != -1:
        (name_length,) = struct.unpack_from("<H", patched, start + 28)
        if patched[start + 46 : start + 46 + name_length] == name.encode():
            if size is not None:
                struct.pack_into("<I", patched, start + 24, size)
            if flags is not None:
                struct.pack_into("<H", patched, start + 8, flags)
            return bytes(patched)
        start = patched.find(b"PK\x01\x02", start + 4)
    raise AssertionError(f"no entry {name}")


def refusal(name: str, data: bytes, max_bytes: int = LIMIT) -> EvidenceFileError:
    with pytest.raises(EvidenceFileError) as raised:
        check_upload(name, data, max_bytes=max_bytes)
    return raised.value


# ---- accepted kinds ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "kind", "content_type"),
    [
        pytest.param("informe.pdf", pdf(), FileKind.PDF, "application/pdf", id="pdf"),
        pytest.param("chart.png", png(), FileKind.PNG, "image/png", id="png"),
        pytest.param("photo.jpg", jpeg(), FileKind.JPEG, "image/jpeg", id="jpg"),
        pytest.param("photo.jpeg", jpeg(), FileKind.JPEG, "image/jpeg", id="jpeg"),
        pytest.param("screen.webp", webp(), FileKind.WEBP, "image/webp", id="webp"),
        pytest.param(
            "notes.txt",
            "Llamada resuelta en el primer contacto.\r\n\tSí.\f\n".encode(),
            FileKind.TEXT,
            "text/plain; charset=utf-8",
            id="text",
        ),
        pytest.param(
            "kpis.csv",
            "agente;resolución\nAna;92,5\n".encode(),
            FileKind.CSV,
            "text/csv; charset=utf-8",
            id="csv",
        ),
        pytest.param(
            "plan.docx",
            docx(),
            FileKind.DOCX,
            f"{OOXML}.wordprocessingml.document",
            id="docx",
        ),
        pytest.param(
            "kpis.xlsx",
            xlsx(),
            FileKind.XLSX,
            f"{OOXML}.spreadsheetml.sheet",
            id="xlsx",
        ),
        pytest.param(
            "deck.pptx",
            pptx(),
            FileKind.PPTX,
            f"{OOXML}.presentationml.presentation",
            id="pptx",
        ),
    ],
)
def test_every_allowed_kind_is_accepted_from_a_real_sample(
    name: str, data: bytes, kind: FileKind, content_type: str
) -> None:
    assert check_upload(name, data, max_bytes=LIMIT) == CheckedFile(
        name, content_type, len(data), kind
    )


def test_upper_case_extensions_are_accepted_and_the_name_is_kept() -> None:
    checked = check_upload("photo.JPG", jpeg(), max_bytes=LIMIT)
    assert (checked.name, checked.kind) == ("photo.JPG", FileKind.JPEG)


def test_text_with_a_utf8_byte_order_mark_is_accepted() -> None:
    data = b"\xef\xbb\xbfagente,nota\nAna,4\n"
    assert check_upload("notas.csv", data, max_bytes=LIMIT).kind is FileKind.CSV


def test_office_document_stored_without_compression_is_accepted() -> None:
    data = zip_of(office_parts("word"), zipfile.ZIP_STORED)
    assert check_upload("plan.docx", data, max_bytes=LIMIT).kind is FileKind.DOCX


def test_a_name_without_extension_gets_the_detected_kinds_extension() -> None:
    checked = check_upload("scan", pdf(), max_bytes=LIMIT)
    assert (checked.name, checked.kind) == ("scan.pdf", FileKind.PDF)
    assert check_upload("notes", b"hola\n", max_bytes=LIMIT).name == "notes.txt"


def test_a_file_exactly_at_the_limit_is_accepted() -> None:
    data = pdf()
    assert check_upload("a.pdf", data, max_bytes=len(data)).size == len(data)


def test_allowed_description_and_accept_list_every_kind() -> None:
    assert ALLOWED_DESCRIPTION == (
        "PDF, PNG, JPEG, WebP, text, CSV, Word, Excel, PowerPoint"
    )
    assert ACCEPT == ".pdf,.png,.jpg,.jpeg,.webp,.txt,.csv,.docx,.xlsx,.pptx"


# ---- refusals: size --------------------------------------------------------------


def test_an_empty_file_is_refused() -> None:
    error = refusal("informe.pdf", b"")
    assert error.code == "file_empty"
    assert error.message == "informe.pdf is empty."


def test_an_oversized_file_message_names_the_limit() -> None:
    error = refusal("big.pdf", b"%PDF-1.4" + b"\0" * (2 * MIB), max_bytes=2 * MIB)
    assert error.code == "file_too_large"
    assert error.message == "big.pdf is too large: the limit is 2 MB."
    half = refusal("big.pdf", b"%PDF-1.4" + b"\0" * MIB, max_bytes=MIB // 2)
    assert half.message.endswith("the limit is 0.5 MB.")


def test_the_message_is_the_exception_text() -> None:
    error = refusal("informe.pdf", b"")
    assert str(error) == error.message
    assert isinstance(error, ValueError)


# ---- refusals: disguised and not allowed -------------------------------------------

HTML = b"<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>"


def test_html_named_pdf_is_refused_as_disguised() -> None:
    error = refusal("report.pdf", HTML)
    assert error.code == "file_disguised"
    assert error.message == (
        "report.pdf is not a PDF: its content looks like an HTML page. "
        "Allowed: PDF, PNG, JPEG, WebP, text, CSV, Word, Excel, PowerPoint."
    )


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"  \n<html><p>hola</p></html>", id="leading-whitespace"),
        pytest.param(b"<p>hola</p>", id="paragraph"),
        pytest.param(b"<!-- x -->", id="comment"),
        pytest.param(b"\xef\xbb\xbf<HTML>", id="bom-and-upper-case"),
        pytest.param(b"nombre,nota\n<script>alert(1)</script>", id="script-in-head"),
    ],
)
def test_html_named_text_is_refused_as_disguised(data: bytes) -> None:
    error = refusal("notes.txt", data)
    assert error.code == "file_disguised"
    assert "its content looks like an HTML page" in error.message


def test_text_mentioning_tags_later_on_is_still_text() -> None:
    data = b"a" * 2000 + b"<script>"
    assert check_upload("notes.txt", data, max_bytes=LIMIT).kind is FileKind.TEXT


def test_html_named_html_is_refused_as_not_allowed() -> None:
    error = refusal("page.html", HTML)
    assert error.code == "file_type_not_allowed"
    assert error.message == (
        "page.html cannot be uploaded: its content looks like an HTML page. "
        f"Allowed: {ALLOWED_DESCRIPTION}."
    )


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', id="svg"
        ),
        pytest.param(
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
            id="xml-prolog",
        ),
    ],
)
def test_svg_is_refused_whatever_its_name(data: bytes) -> None:
    for name in ("logo.svg", "logo.png", "logo.txt"):
        error = refusal(name, data)
        assert "its content looks like an SVG image" in error.message
    assert refusal("logo.svg", data).code == "file_type_not_allowed"
    assert refusal("logo.png", data).code == "file_disguised"


def test_xml_is_refused() -> None:
    error = refusal("data.txt", b'<?xml version="1.0"?><rows><row/></rows>')
    assert error.code == "file_disguised"
    assert "an XML document" in error.message


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [
        pytest.param(
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\0" * 50,
            "a Windows program",
            id="exe",
        ),
        pytest.param(b"\x7fELF\x02\x01\x01" + b"\0" * 50, "a Linux program", id="elf"),
        pytest.param(
            b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\0" * 20,
            "a macOS program",
            id="mach-o",
        ),
        pytest.param(
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 50,
            "an old-format (.doc, .xls, .ppt) or password-protected Office document",
            id="ole2",
        ),
        pytest.param(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "a GIF image", id="gif"),
        pytest.param(
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00",
            "an HEIC photo (export it as JPEG)",
            id="heic",
        ),
        pytest.param(
            b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00",
            "an audio or video file",
            id="mp4",
        ),
        pytest.param(
            b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00", "an audio or video file", id="wav"
        ),
        pytest.param(
            b"\x1f\x8b\x08\x00" + b"\0" * 10, "a compressed archive", id="gzip"
        ),
        pytest.param(b"Rar!\x1a\x07\x01\x00", "a compressed archive", id="rar"),
        pytest.param(b"PK\x05\x06" + b"\0" * 18, "a ZIP archive", id="empty-zip"),
        pytest.param(
            b"\xff\xfeh\x00o\x00l\x00a\x00",
            "text saved as UTF-16 (save it as UTF-8)",
            id="utf-16",
        ),
        pytest.param(
            "nombre;acción\nJosé;sí\n".encode("cp1252"),
            'text that is not saved as UTF-8 (in Excel choose "CSV UTF-8")',
            id="windows-1252-text",
        ),
        pytest.param(bytes(range(256)) * 4, "binary data, not text", id="garbage"),
    ],
)
def test_content_of_other_kinds_is_refused_and_described(
    data: bytes, looks_like: str
) -> None:
    disguised = refusal("evidence.pdf", data)
    assert disguised.code == "file_disguised"
    assert disguised.message == (
        f"evidence.pdf is not a PDF: its content looks like {looks_like}. "
        f"Allowed: {ALLOWED_DESCRIPTION}."
    )
    assert refusal("evidence.bin", data).code == "file_type_not_allowed"
    assert refusal("evidence", data).code == "file_type_not_allowed"


def test_exe_named_pdf_is_refused_as_disguised() -> None:
    error = refusal("invoice.pdf", b"MZ\x90\x00" + b"\0" * 60 + b"PE\0\0")
    assert error.code == "file_disguised"
    assert "a Windows program" in error.message


def test_shell_script_named_txt_is_refused() -> None:
    error = refusal("notes.txt", b"#!/bin/sh\nrm -rf ~\n")
    assert error.code == "file_disguised"
    assert "its content looks like a script" in error.message


def test_binary_garbage_named_txt_is_refused() -> None:
    error = refusal("notes.txt", bytes(range(256)))
    assert error.code == "file_disguised"
    assert error.message.startswith("notes.txt is not a text file: ")


@pytest.mark.parametrize(
    "control", [b"\x00", b"\x01", b"\x08", b"\x0b", b"\x1b", b"\x7f"]
)
def test_text_with_a_binary_control_byte_is_refused(control: bytes) -> None:
    error = refusal("notes.txt", b"hola" + control + b"mundo\n")
    assert error.code == "file_disguised"
    assert "binary data, not text" in error.message


def test_text_starting_like_a_program_is_just_text() -> None:
    checked = check_upload("zonas.txt", b"MZ norte, MZ sur\n", max_bytes=LIMIT)
    assert checked.kind is FileKind.TEXT


def test_a_real_png_named_pdf_is_refused_with_the_right_extension() -> None:
    error = refusal("x.pdf", png())
    assert error.code == "file_disguised"
    assert error.message == (
        "x.pdf is not a PDF: its content looks like a PNG image. "
        "Rename it to end in .png."
    )


@pytest.mark.parametrize(
    ("name", "data", "noun"),
    [
        pytest.param("photo.png", jpeg(), "a PNG image", id="jpeg-as-png"),
        pytest.param("plan.xlsx", docx(), "an Excel workbook", id="docx-as-xlsx"),
        pytest.param("deck.docx", pptx(), "a Word document", id="pptx-as-docx"),
        pytest.param("notes.pdf", b"hola\n", "a PDF", id="text-as-pdf"),
        pytest.param("scan.txt", pdf(), "a text file", id="pdf-as-txt"),
        pytest.param("scan.csv", webp(), "a CSV file", id="webp-as-csv"),
    ],
)
def test_an_allowed_kind_under_another_kinds_extension_is_refused(
    name: str, data: bytes, noun: str
) -> None:
    error = refusal(name, data)
    assert error.code == "file_disguised"
    assert error.message.startswith(f"{name} is not {noun}: its content looks like")


def test_an_allowed_kind_under_an_unknown_extension_is_refused_with_a_hint() -> None:
    error = refusal("notes.md", b"# Notas\n")
    assert error.code == "file_type_not_allowed"
    assert error.message == (
        "notes.md cannot be uploaded: files ending in .md are not accepted. "
        "Its content looks like a text file; rename it to end in .txt."
    )


# ---- refusals: damaged images --------------------------------------------------------


def test_a_png_with_a_broken_header_is_refused_as_damaged() -> None:
    data = bytearray(png())
    data[20] ^= 0xFF  # inside IHDR: the checksum no longer matches
    error = refusal("chart.png", bytes(data))
    assert error.code == "file_damaged"
    assert error.message == (
        "chart.png is damaged: it starts like a PNG image but its header is broken."
    )
    assert refusal("chart.png", b"\x89PNG\r\n\x1a\n").code == "file_damaged"


def test_a_webp_without_an_image_chunk_is_refused_as_damaged() -> None:
    data = b"RIFF\x0c\x00\x00\x00WEBPJUNK"
    assert refusal("screen.webp", data).code == "file_damaged"


# ---- refusals: archives --------------------------------------------------------------


def test_a_zip_that_is_not_office_is_refused() -> None:
    data = zip_of({"report.pdf": pdf(), "run.exe": b"MZ"})
    error = refusal("report.docx", data)
    assert error.code == "file_disguised"
    assert "its content looks like a ZIP archive" in error.message
    assert refusal("report.zip", data).code == "file_type_not_allowed"


def test_an_opendocument_file_is_refused_with_its_name() -> None:
    data = zip_of(
        {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b""}
    )
    error = refusal("plan.odt", data)
    assert "an OpenDocument (LibreOffice) file" in error.message


def test_an_office_file_of_another_kind_is_refused() -> None:
    parts = office_parts("word")
    parts["xl/workbook.xml"] = b"<workbook/>"  # both Word and Excel: ambiguous
    error = refusal("plan.docx", zip_of(parts))
    assert "an Office file that is not Word, Excel or PowerPoint" in error.message


def test_a_zip_bomb_declaring_a_huge_size_is_refused() -> None:
    data = patch_central_directory(
        docx(), "word/document.xml", size=evidence_files.MAX_UNPACKED_BYTES + 1
    )
    error = refusal("plan.docx", data)
    assert error.code == "file_unsafe"
    assert error.message == (
        "plan.docx would expand to more than 100 MB when opened, which is how "
        'harmful "zip bombs" work.'
    )


def test_a_zip_bomb_with_an_absurd_compression_ratio_is_refused() -> None:
    parts = office_parts("xl")
    parts["xl/worksheets/sheet1.xml"] = b"\0" * (5 * MIB)
    data = zip_of(parts)
    assert len(data) < 50_000
    error = refusal("kpis.xlsx", data)
    assert error.code == "file_unsafe"
    assert "more than 200 times its size" in error.message


def test_a_plain_zip_bomb_is_refused_before_anything_is_unpacked() -> None:
    data = zip_of({"bomb.txt": b"0" * (5 * MIB)})
    assert refusal("bomb.zip", data).code == "file_unsafe"


def test_a_well_compressed_small_office_file_is_accepted() -> None:
    parts = office_parts("xl")
    parts["xl/worksheets/sheet1.xml"] = b"<row/>" * 100_000  # 600 KB, packs ~1000x
    assert check_upload("kpis.xlsx", zip_of(parts), max_bytes=LIMIT).kind is (
        FileKind.XLSX
    )


def test_an_archive_with_too_many_parts_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(evidence_files, "MAX_ARCHIVE_ENTRIES", 2)  # docx() has 3
    error = refusal("plan.docx", docx())
    assert error.code == "file_unsafe"
    assert "more than 2 parts" in error.message


def test_an_archive_with_encrypted_parts_is_refused() -> None:
    data = patch_central_directory(docx(), "word/document.xml", flags=0x1)
    error = refusal("plan.docx", data)
    assert error.code == "file_unsafe"
    assert "encrypted" in error.message


@pytest.mark.parametrize(
    "parts",
    [
        pytest.param({"word/vbaProject.bin": b"\xd0\xcf\x11\xe0"}, id="vba-part"),
        pytest.param(
            office_parts(
                "word", "application/vnd.ms-word.document.macroEnabled.main+xml"
            ),
            id="macro-enabled-type",
        ),
    ],
)
def test_office_files_with_macros_are_refused(parts: dict[str, bytes]) -> None:
    error = refusal("plan.docx", zip_of(office_parts("word") | parts))
    assert error.code == "file_unsafe"
    assert "contains macros" in error.message


def test_an_office_file_with_a_corrupted_part_is_refused_as_damaged() -> None:
    data = zip_of(office_parts("word"), zipfile.ZIP_STORED)
    data = data.replace(b"<root>Hola</root>", b"<root>Hole</root>")  # CRC mismatch
    error = refusal("plan.docx", data)
    assert error.code == "file_damaged"
    assert error.message == (
        "plan.docx is damaged: it starts like an Office or ZIP file but cannot be read."
    )


def test_an_office_file_whose_sizes_lie_low_is_refused_as_damaged() -> None:
    data = patch_central_directory(docx(), "word/document.xml", size=3)
    assert refusal("plan.docx", data).code == "file_damaged"


def test_a_truncated_office_file_is_refused_as_damaged() -> None:
    data = docx()
    assert refusal("plan.docx", data[: len(data) // 2]).code == "file_damaged"


def test_an_office_file_listing_a_part_twice_is_refused_as_damaged() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in office_parts("word").items():
            archive.writestr(name, content)
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("word/document.xml", b"<other/>")
    error = refusal("plan.docx", buffer.getvalue())
    assert error.code == "file_damaged"
    assert "lists the same part twice" in error.message


# ---- names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        pytest.param("informe_día.pdf", "informe_día.pdf", id="spanish-letters"),
        pytest.param("informe_di\u0301a.pdf", "informe_día.pdf", id="nfc"),
        pytest.param("../../x.pdf", "x.pdf", id="parent-dirs"),
        pytest.param("C:\\Users\\a\\x.pdf", "x.pdf", id="windows-path"),
        pytest.param("/etc/passwd", "passwd", id="absolute-path"),
        pytest.param("..", "evidence", id="only-dots"),
        pytest.param("", "evidence", id="empty"),
        pytest.param("x.pdf\x00.exe", "x.pdf.exe", id="nul"),
        pytest.param('my "best" report.pdf', "my best report.pdf", id="quotes"),
        pytest.param("a;b:c*d?e<f>g|h%i.pdf", "abcdefghi.pdf", id="header-unsafe"),
        pytest.param("line\r\nbreak.pdf", "line break.pdf", id="newlines"),
        pytest.param("invoice\u202efdp.exe", "invoicefdp.exe", id="rtl-override"),
        pytest.param("zero\u200bwidth.txt", "zerowidth.txt", id="zero-width"),
        pytest.param(
            "  lots \t of\u00a0 space  .pdf", "lots of space.pdf", id="spaces"
        ),
        pytest.param(".hidden.txt", "hidden.txt", id="leading-dot"),
        pytest.param("notes.txt...", "notes.txt", id="trailing-dots"),
        pytest.param(".pdf", "evidence.pdf", id="extension-only"),
        pytest.param(".bashrc", "evidence.bashrc", id="dotfile"),
        pytest.param('"".pdf', "evidence.pdf", id="nothing-left-but-extension"),
        pytest.param("résumé.PDF", "résumé.PDF", id="keeps-extension-case"),
        pytest.param("日本語の報告.pdf", "日本語の報告.pdf", id="cjk"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_a_500_character_name_is_cut_keeping_the_extension() -> None:
    safe = safe_filename("a" * 500 + ".docx")
    assert safe == "a" * (MAX_NAME_LENGTH - 5) + ".docx"
    assert len(safe_filename("b" * 500)) == MAX_NAME_LENGTH


def test_cutting_a_long_name_does_not_leave_dots_or_spaces_before_the_extension() -> (
    None
):
    name = "a" * (MAX_NAME_LENGTH - 6) + " . .b" + "c" * 100 + ".pdf"
    safe = safe_filename(name)
    assert safe == "a" * (MAX_NAME_LENGTH - 6) + ".pdf"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("x.pdf\x00.exe", id="nul"),
        pytest.param("invoice\u202efdp.pdf", id="rtl-override"),
        pytest.param("photo\u2066gnp.pdf", id="isolate"),
    ],
)
def test_names_with_characters_that_disguise_the_type_are_refused(name: str) -> None:
    error = refusal(name, pdf())
    assert error.code == "file_name_invalid"
    assert "hidden characters" in error.message


def test_the_checked_name_is_safe_and_path_free() -> None:
    assert check_upload("../../secret/x.pdf", pdf(), max_bytes=LIMIT).name == "x.pdf"
    assert check_upload("C:\\Users\\a\\x.pdf", pdf(), max_bytes=LIMIT).name == "x.pdf"
    checked = check_upload('re"port\n2026.pdf', pdf(), max_bytes=LIMIT)
    assert checked.name == "report 2026.pdf"


def test_a_long_name_without_extension_is_cut_to_fit_the_added_one() -> None:
    checked = check_upload("a" * 500, pdf(), max_bytes=LIMIT)
    assert checked.name == "a" * (MAX_NAME_LENGTH - 4) + ".pdf"


def test_refusal_messages_show_the_safe_name() -> None:
    error = refusal('../"<b>x.pdf', HTML)
    assert error.message.startswith("bx.pdf is not a PDF")


@given(st.text(max_size=300))
def test_safe_filename_is_always_a_short_plain_name(name: str) -> None:
    safe = safe_filename(name)
    assert 0 < len(safe) <= MAX_NAME_LENGTH
    assert not set(safe) & set('"*/:;<>?\\|%')
    assert not safe.startswith((".", " "))
    assert not safe.endswith((".", " "))
    assert "  " not in safe
    assert all(
        unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
        for char in safe
    )
    assert unicodedata.is_normalized("NFC", safe)
    assert safe_filename(safe) == safe
