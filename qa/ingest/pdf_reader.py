"""Reading a PDF: its text layer, pages joined, page furniture dropped and wrapped lines joined again;
a PDF without a text layer (a scan) is read by OCR (`qa.ingest.ocr`, loaded only then).

pypdf is imported inside the reader: `import qa` stays fast.
"""

from __future__ import annotations

import io

from qa.errors import CorpusError
from qa.ingest.document import Document, meaningful_title, nonblank_lines, titled
from qa.ingest.page_lines import drop_page_furniture, join_full_lines

_OCR = "run OCR on it first or add its text as a .txt file"


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
    lines = drop_page_furniture([nonblank_lines(page) for page in pages], raw_title)
    if not any(ch.isalnum() for line in lines for ch in line):
        from qa.ingest.ocr import remembered

        return remembered(data, name, lambda: _read_scanned_pdf(reader, name, raw_title))
    title, lines = titled(meaningful_title(raw_title), lines, name)
    return Document(title=title, body="\n".join(join_full_lines(lines)))


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
