"""Reading a Word .docx: its paragraphs (tables, text boxes, headers and footers left out) and its title,
from the file's properties or its first Title/Heading-styled paragraph.

python-docx is imported inside the reader: `import qa` stays fast.
"""

from __future__ import annotations

import io

from qa.errors import CorpusError
from qa.ingest.document import MAX_TITLE, Document, meaningful_title, titled


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
    title = meaningful_title(core_title)
    if not title:
        heading = _docx_heading(styled)
        if heading is not None:
            title = styled.pop(heading)[0]
    title, lines = titled(title, [text for text, _ in styled], name)
    return Document(title=title, body="\n".join(lines))


def _docx_heading(styled: list[tuple[str, str]]) -> int | None:
    """Where the first Title/Heading-styled paragraph is, looking only above the first long paragraph."""
    for position, (text, style) in enumerate(styled):
        if style.startswith(("title", "heading")) or "标题" in style:
            return position
        if len(text) > 2 * MAX_TITLE:
            return None
    return None
