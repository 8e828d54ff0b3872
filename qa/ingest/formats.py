"""Reading article files from bytes: what kind a file really is, and PDF, HTML and .docx readers.

Nothing here touches the file system, so the web upload can check an upload before saving it.
Each reader returns a `Document` (title, paragraphs, metadata) that `qa.ingest.corpus.make_article`
turns into an Article; that step also joins lines broken in mid-sentence, as PDFs break them.
The libraries (pypdf, trafilatura, python-docx) are imported inside the readers: `import qa`
stays fast. Every failure is a CorpusError naming the file, what is wrong and what to do.
"""

from __future__ import annotations

import io
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from qa.errors import CorpusError

TEXT_KINDS = (".md", ".markdown", ".txt")
_BINARY_KINDS = (".pdf", ".docx")
_OCR = "run OCR on it first or add its text as a .txt file"
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
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_GB_CHARSETS = {"gbk", "gb2312", "gb_2312-80", "x-gbk", "cp936", "gb18030", "x-euc-cn", "euc-cn"}
_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+\S", re.M)
_SENTENCE_END = "。！？!?；;…"
_MAX_TITLE = 40
# Title metadata that tools write when nobody gave a title.
_PLACEHOLDER_TITLE = re.compile(
    r"^(?:about:blank|untitled.*|无标题.*|新建.*文档.*|microsoft (?:word|powerpoint) - .*|document\d*|文档\d*"
    r"|.*\.(?:docx?|pdf|html?|txt|wps|rtf|indd))$", re.I)
_PAGE_NUMBER = re.compile(
    r"^(?:[-–—]\s*)?(?:第\s*)?\d{1,4}(?:\s*页)?(?:\s*[/／]\s*\d{1,4}|\s*共\s*\d{1,4}\s*页)?(?:\s*[-–—])?$"
    r"|^page\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)
_EDGE_LINES = 3  # headers and footers sit in the first or last lines of a page's text
_MAX_FURNITURE = 120  # characters: a running header may hold the print date and the whole title
# A browser's print header and footer: "12/6/26, 11:18 AM 标题" (or "2024/11/19 上午11:18"), then the page's
# address and a page counter ("file:///…/a.html 1/4"); matched on NFKC text, as PDFs write "ﬁle" with a ligature.
_URL_LINE = re.compile(r"^(?:(?:https?|file|ftp)://\S*|www\.\S+|about:blank)"
                       r"(?:\s+(?:page\s*)?\d{1,4}\s*(?:[/／]|of)\s*\d{1,4})?$", re.I)
_PRINT_STAMP = re.compile(
    r"^(?:\d{1,2}/\d{1,2}/\d{2,4},?\s*\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AP]\.?M\.?)?"
    r"|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}\s*(?:上午|下午)?\s*\d{1,2}:\d{2}(?::\d{2})?)\s*(?P<rest>.*)$", re.I)
_FULL_LINE = 0.75  # a line this wide (of the page's text width) was wrapped, not ended
_MIN_LINES_FOR_MARGIN = 5
_MIN_MAIN_TEXT = 10  # letters and digits; less is a menu or a link ("首页"), not an article
# A line break in the HTML source between two Chinese characters: the browser shows no break there.
_CJK = r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]"
_CJK_SOURCE_BREAK = rf"(?<={_CJK})[ \t]*\r?\n\s*(?={_CJK})"  # compiled on first use: it takes milliseconds


@dataclass(frozen=True)
class Document:
    """What a reader found in one file: the title, the body (paragraphs or lines separated by "\\n"), metadata."""

    title: str
    body: str
    source: str = ""
    date: str = ""
    url: str = ""
    origin: str = ""  # how the text was got when not from the file's own text: "ocr" (read off an image)
    reporters: tuple[str, ...] = ()  # the page's author metadata, as names


def decode_text(data: bytes, name: str) -> str:
    """Decode UTF-8 (with or without BOM), else GB18030/GBK; raise CorpusError for binary or empty."""
    if not data.strip():
        raise CorpusError(_empty(name))
    binary = f"{name}: looks binary, not a text file: give articles as .txt/.md/.jsonl/.html/.pdf/.docx or .png/.jpg/.webp"
    if b"\x00" in data[:8192]:
        raise CorpusError(binary)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
        if controls > max(2, len(text) // 100):
            raise CorpusError(binary)
        return text.replace("\r\n", "\n").replace("\r", "\n")
    raise CorpusError(f"{name}: not UTF-8 or GB18030/GBK text; re-save it as UTF-8")


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


def _empty(name: str) -> str:
    return f"{name}: the file is empty: remove it or put the article's text in it"


def _not_what_named(data: bytes, name: str, claimed: str) -> str:
    kind = claimed[1:].upper()
    if not data.strip():
        return _empty(name)
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


def _meaningful_title(title: str | None) -> str:
    title = re.sub(r"\s+", " ", title or "").strip()
    if not title or len(title) > 100 or _PLACEHOLDER_TITLE.match(title):
        return ""
    return title if any(ch.isalnum() for ch in title) else ""


def _titled(title: str, lines: list[str], name: str) -> tuple[str, list[str]]:
    """The title and the body lines: the title's copy atop the body dropped, or a title taken from the body.

    Without a title, the first line is the title when it reads like one (short, no sentence end),
    else the file's stem is.
    """
    if title:
        return title, lines[_title_lines(lines, title):]
    first = lines[0] if lines else ""
    if len(lines) > 1 and len(first) <= _MAX_TITLE and first[-1:] not in _SENTENCE_END:
        return first, lines[1:]
    return PurePath(name).stem, lines


def _title_lines(lines: list[str], title: str) -> int:
    """How many of the first lines spell the title (a long title wraps over two or three), else 0."""
    wanted, spelled = re.sub(r"\s", "", title), ""
    for count, line in enumerate(lines[:3], start=1):
        spelled += re.sub(r"\s", "", line)
        if spelled == wanted:
            return count
        if not wanted.startswith(spelled):
            return 0
    return 0


def read_pdf(data: bytes, name: str) -> Document:
    """The text layer of a PDF: pages joined, page numbers and repeated headers/footers dropped."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("a password is needed")
        pages = [page.extract_text() or "" for page in reader.pages]
        metadata_title = reader.metadata.title if reader.metadata else None
    except (FileNotDecryptedError, DependencyError) as error:
        raise CorpusError(f"{name}: is encrypted ({error}): save an unprotected copy "
                          "or add its text as a .txt file") from error
    except Exception as error:  # pypdf raises many kinds of errors on damaged files
        raise CorpusError(f"{name}: a damaged PDF ({type(error).__name__}: {error}): "
                          "re-save or re-download it, or add its text as a .txt file") from error
    raw_title = metadata_title if isinstance(metadata_title, str) else ""
    lines = _drop_page_furniture([_clean_lines(page) for page in pages], raw_title)
    if not any(ch.isalnum() for line in lines for ch in line):
        from qa.ingest.ocr import remembered

        return remembered(data, name, lambda: _read_scanned_pdf(reader, name, raw_title))
    title, lines = _titled(_meaningful_title(raw_title), lines, name)
    return Document(title=title, body="\n".join(_join_full_lines(lines)))


def _read_scanned_pdf(reader, name: str, title: str) -> Document:
    """A PDF without a text layer (a scan): the images on its pages read by OCR (`qa.ingest.ocr`)."""
    from qa.ingest.ocr import read_scanned_pages

    pages = []
    for page in reader.pages:
        images = []
        for position in range(len(page.images)):
            try:
                images.append(page.images[position].image)
            except Exception:  # pypdf and Pillow raise many kinds of errors on images they cannot decode
                continue
        pages.append(images)
    if not any(pages):
        raise CorpusError(f"{name}: has no text layer (a scanned PDF?) and no page images to read: {_OCR}")
    return read_scanned_pages(pages, name, title)


def _clean_lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _shape(line: str) -> str:
    """A line with its numbers blanked: "第3页 共9页" and "第4页 共9页" are the same footer."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


def _drop_page_furniture(pages: list[list[str]], title: str = "") -> list[str]:
    """The lines of all pages, less the page furniture: lines alone holding an address, and at the top
    or bottom of a page, page counters, a browser's print header ("12/6/26, 11:18 AM <title>") and
    the header/footer lines repeated on most pages."""
    edge_count: Counter[str] = Counter()
    for lines in pages:
        edge_count.update({_shape(line) for line in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]
                           if len(line) <= _MAX_FURNITURE})
    needed = max(2, math.ceil(0.6 * len(pages)))
    repeated = {shape for shape, count in edge_count.items() if count >= needed}
    kept = []
    for lines in pages:
        for position, line in enumerate(lines):
            at_edge = position < _EDGE_LINES or position >= len(lines) - _EDGE_LINES
            plain = unicodedata.normalize("NFKC", line)
            furniture = _PAGE_NUMBER.match(plain) or _shape(line) in repeated or _is_print_header(plain, title)
            if not (_URL_LINE.match(plain) or (at_edge and furniture)):
                kept.append(line)
    return kept


def _is_print_header(line: str, title: str) -> bool:
    """Whether a line is a print date and time, alone or before the page's title or address."""
    stamp = _PRINT_STAMP.match(line)
    if not stamp:
        return False
    rest = re.sub(r"\s+", "", stamp["rest"]).rstrip("….")
    whole = re.sub(r"\s+", "", unicodedata.normalize("NFKC", title))  # compared as `line` is: NFKC
    return not rest or bool(_URL_LINE.match(stamp["rest"])) or bool(whole and whole.startswith(rest))


def _width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def _join_full_lines(lines: list[str]) -> list[str]:
    """Join each line that runs to the right margin with the next one.

    A full line was wrapped by the layout, even when it looks like a subheading to
    `repair_paragraphs` ("武汉东湖高新区管委会副主任张建" + "华在开幕式上…"); lines ending a
    sentence are left alone. The margin is estimated from the longest lines' display width.
    """
    if len(lines) < _MIN_LINES_FOR_MARGIN:
        return lines
    widths = sorted(_width(line) for line in lines)
    full = _FULL_LINE * widths[int(0.9 * (len(widths) - 1))]
    joined: list[str] = []
    wrapped = False
    for line in lines:
        if wrapped:
            space = " " if (joined[-1][-1:].isascii() and joined[-1][-1:].isalnum()
                            and line[:1].isascii() and line[:1].isalnum()) else ""
            joined[-1] += space + line
        else:
            joined.append(line)
        wrapped = _width(line) >= full and line[-1] not in _SENTENCE_END
    return joined


def decode_html(data: bytes, name: str) -> str:
    """An HTML page's text: UTF-8 when it is valid UTF-8, else the <meta> charset (GBK read as GB18030)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    match = _META_CHARSET.search(data[:4096])
    if match:
        charset = match.group(1).decode("ascii").lower()
        try:
            return data.decode("gb18030" if charset in _GB_CHARSETS else charset)
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong or unknown label: guess as for any text
    return decode_text(data, name)


def read_html(data: bytes, name: str) -> Document:
    """The main text of a saved web page (menus, links and footers left out), its title, date, site and URL."""
    import trafilatura

    html = re.sub(_CJK_SOURCE_BREAK, "", decode_html(data, name))
    found = None
    for favor_recall in (False, True):  # the second try keeps more of a page whose article is short
        extracted = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                                favor_recall=favor_recall)
        found = extracted.as_dict() if extracted is not None else None
        if found and sum(ch.isalnum() for ch in found.get("text") or "") >= _MIN_MAIN_TEXT:
            break
    else:
        raise CorpusError(f"{name}: no article text found in the page (only menus or links?): save the "
                          "article's own page, or paste its text into a .txt file")
    title, lines = _titled(_meaningful_title(found.get("title")), _clean_lines(found["text"]), name)
    return Document(title=title, body="\n".join(lines), source=found.get("sitename") or "",
                    date=found.get("date") or "", url=found.get("url") or "",
                    reporters=author_names(found.get("author") or ""))


_AUTHOR_SPLIT = re.compile(r"[;；,，、/|]+|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
_AUTHOR_ROLE = re.compile(r"^(?:本报|特约|实习)?(?:记者|作者|通讯员|撰文|文)\s*[:：]?\s*")
_NOT_A_NAME = re.compile(r"编辑|记者|作者|来源|通讯员|实习生|admin|www|http|@|\d|(?:网|社|报|台|新闻|频道)$", re.I)


def author_names(author: str) -> tuple[str, ...]:
    """Names from a page's author metadata ("王瑞芳; 李明", "记者 王瑞芳"), leaving out roles, sites and addresses."""
    names = (_AUTHOR_ROLE.sub("", n.strip(" ：:（）()")) for n in _AUTHOR_SPLIT.split(_AUTHOR_ROLE.sub("", author.strip())))
    return tuple(dict.fromkeys(n for n in names if 2 <= len(n) <= 20 and not _NOT_A_NAME.search(n)))


def read_docx(data: bytes, name: str) -> Document:
    """The paragraphs of a Word .docx (tables, text boxes, headers and footers left out) and its title."""
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        styled = [(p.text.strip(), (p.style.name if p.style is not None else "").lower())
                  for p in document.paragraphs]
        core_title = document.core_properties.title
    except Exception as error:  # python-docx raises zip, XML and key errors on damaged files
        raise CorpusError(f"{name}: a damaged Word file ({type(error).__name__}): open and re-save it "
                          "in Word or WPS, or save it as .pdf") from error
    styled = [(text, style) for text, style in styled if text]
    if not styled:
        raise CorpusError(f"{name}: the Word file has no text paragraphs: add the article's text to it")
    title = _meaningful_title(core_title)
    if not title:
        heading = _docx_heading(styled)
        if heading is not None:
            title = styled.pop(heading)[0]
    title, lines = _titled(title, [text for text, _ in styled], name)
    return Document(title=title, body="\n".join(lines))


def _docx_heading(styled: list[tuple[str, str]]) -> int | None:
    """Where the first Title/Heading-styled paragraph is, looking only above the first long paragraph."""
    for position, (text, style) in enumerate(styled):
        if style.startswith(("title", "heading")) or "标题" in style:
            return position
        if len(text) > 2 * _MAX_TITLE:
            return None
    return None


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
