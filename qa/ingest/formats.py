"""What kind an article file really is, and the reader for each kind that is not plain text.

Nothing here touches the file system, so the web upload can check an upload before saving it.
`detect_kind` tells the kind by the content, not the name; `READERS` maps a kind to its reader
(`qa.ingest.pdf_reader`, `html_reader`, `docx_reader`, and OCR for images), each returning a
`qa.ingest.document.Document` that `qa.ingest.corpus.make_article` turns into an Article. The
readers import their libraries (pypdf, trafilatura, python-docx, rapidocr) when called: `import qa`
stays fast. Every failure is a CorpusError naming the file, what is wrong and what to do.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import PurePath

from qa.errors import CorpusError
from qa.ingest.document import Document
from qa.ingest.docx_reader import read_docx
from qa.ingest.html_reader import read_html
from qa.ingest.pdf_reader import read_pdf
from qa.ingest.text_decoding import decode_text, empty_file_message

TEXT_KINDS = (".md", ".markdown", ".txt")
_BINARY_KINDS = (".pdf", ".docx")
_AS_PNG = "save it as .png or .jpg (screenshots and scans are read by OCR), or add its text as a .txt file"
# Screenshots and scans, read by OCR (qa.ingest.ocr): (first bytes, where else they must hold, kind).
_IMAGE_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", b"", ".png"), (b"\xff\xd8\xff", b"", ".jpg"),
                     (b"RIFF", b"WEBP", ".webp"))
_IMAGE_KINDS = (".png", ".jpg", ".jpeg", ".webp")
# Files we do not read, told apart by their first bytes: (magic, what it is, what to do).
_SIGNATURES = (
    (b"\xd0\xcf\x11\xe0", "an old Office 97-2003 file (.doc/.xls/.ppt)", "save it as .docx or .pdf"),
    (b"{\\rtf", "an RTF document", "save it as .docx or .txt"),
    (b"GIF8", "a GIF image", _AS_PNG),
    (b"II*\x00", "a TIFF image", _AS_PNG),
    (b"MM\x00*", "a TIFF image", _AS_PNG),
    (b"MZ", "a Windows program", "remove it from the articles"),
    (b"\x7fELF", "a program (ELF)", "remove it from the articles"),
    (b"\x1f\x8b", "a gzip archive", "unpack it and add the articles inside"),
    (b"Rar!", "a RAR archive", "unpack it and add the articles inside"),
    (b"7z\xbc\xaf", "a 7z archive", "unpack it and add the articles inside"),
)
_HTML_START = re.compile(r"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>])", re.I | re.S)
_HTML_TAG = re.compile(r"<(?:p|div|body|article|br|span|h[1-6])[\s/>]", re.I)
_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+\S", re.M)


def detect_kind(data: bytes, name: str, suffix: str | None = None) -> str:
    """The suffix of what the bytes really are (".pdf", ".docx", ".png", ".jpg", ".webp", ".html", ".jsonl",
    ".md", ".txt").

    The content decides, not the name (`suffix`, by default the name's): a PDF renamed .txt is
    read as a PDF, a JPEG named .png as a JPEG, and HTML saved as .txt is read as HTML (its tags
    would only add noise as text). A name that promises a PDF, .docx or an image while the bytes are
    text is an error (a failed download saved as .pdf is an HTML error page, not an article), as is
    any kind we do not read (GIF and TIFF images among them).
    """
    claimed = (suffix if suffix is not None else PurePath(name).suffix).lower()
    for magic, also, kind in _IMAGE_SIGNATURES:
        if data.startswith(magic) and also in data[8:12]:
            return kind
    if b"%PDF-" in data[:1024]:
        return ".pdf"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data, name, claimed)
    for magic, what, todo in _SIGNATURES:
        if data.startswith(magic) and (magic != b"MZ" or b"\x00" in data[:64]):
            raise CorpusError(f"{name}: is {what}, not an article{_named_as(claimed)}: {todo}")
    if claimed in _BINARY_KINDS + _IMAGE_KINDS:
        raise CorpusError(_not_what_named(data, name, claimed))
    text = decode_text(data, name)
    if _HTML_START.match(text[:4096]) or (claimed in (".html", ".htm") and _HTML_TAG.search(text)):
        return ".html"
    if claimed == ".jsonl" or _is_jsonl(text):
        return ".jsonl"
    if claimed in TEXT_KINDS:
        return claimed
    return ".md" if _MARKDOWN_HEADING.search(text) else ".txt"


def _not_what_named(data: bytes, name: str, claimed: str) -> str:
    kind = claimed[1:].upper()
    if not data.strip():
        return empty_file_message(name)
    try:
        decode_text(data, name)
    except CorpusError:
        return f"{name}: is not a {kind} file (damaged, or another kind renamed?): re-save or re-download it"
    return (f"{name}: is not a {kind} file but text (a failed download, or a renamed file?): check it, "
            "and rename it to .html or .txt if it is an article")


def _named_as(claimed: str) -> str:
    return f" (named {claimed})" if claimed else ""


def _zip_kind(data: bytes, name: str, claimed: str) -> str:
    import zipfile  # here, not at the top: it takes longer to import than the rest of this module

    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError, EOFError):
        if claimed == ".docx":
            return ".docx"  # read_docx says it is damaged
        raise CorpusError(f"{name}: is a damaged zip archive: re-save or re-download it") from None
    if "word/document.xml" in names:
        return ".docx"
    what = ("an Excel workbook" if "xl/workbook.xml" in names else
            "a PowerPoint deck" if "ppt/presentation.xml" in names else "a zip archive")
    raise CorpusError(f"{name}: is {what}, not an article{_named_as(claimed)}: unpack it, or save "
                      "the articles as .docx/.pdf/.txt")


def _is_jsonl(text: str) -> bool:
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines or not all(line.lstrip().startswith("{") for line in lines):
        return False
    try:
        return all(isinstance(json.loads(line), dict) for line in lines)
    except ValueError:
        return False


def read_image(data: bytes, name: str) -> Document:
    """A screenshot or scan (.png/.jpg/.webp): its text read by OCR (`qa.ingest.ocr`, loaded only when an image comes)."""
    from qa.ingest.ocr import read_image as read_by_ocr

    return read_by_ocr(data, name)


READERS: dict[str, Callable[[bytes, str], Document]] = {
    ".pdf": read_pdf,
    ".html": read_html,
    ".htm": read_html,
    ".docx": read_docx,
    **{kind: read_image for kind in _IMAGE_KINDS},
}
