"""Bytes to text: UTF-8 (with or without BOM), else GB18030/GBK, and binary files told apart from text.

Shared by the file-kind check (`qa.ingest.formats`) and the readers that fall back to plain text.
"""

from __future__ import annotations

from qa.errors import CorpusError


def empty_file_message(name: str) -> str:
    """What to tell the user about an empty file."""
    return f"{name}: the file is empty: remove it or put the article's text in it"


def decode_text(data: bytes, name: str) -> str:
    """Decode UTF-8 (with or without BOM), else GB18030/GBK; raise CorpusError for binary or empty."""
    if not data.strip():
        raise CorpusError(empty_file_message(name))
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
