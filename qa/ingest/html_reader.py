"""Reading a saved web page: its encoding, its main text (menus, links and footers left out) and its
metadata (title, date, site, address, authors).

trafilatura is imported inside the reader: `import qa` stays fast.
"""

from __future__ import annotations

import re

from qa.errors import CorpusError
from qa.ingest.document import Document, meaningful_title, nonblank_lines, titled
from qa.ingest.text_decoding import decode_text

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_GB_CHARSETS = {"gbk", "gb2312", "gb_2312-80", "x-gbk", "cp936", "gb18030", "x-euc-cn", "euc-cn"}
_MIN_MAIN_TEXT = 10  # letters and digits; less is a menu or a link ("首页"), not an article
# A line break in the HTML source between two Chinese characters: the browser shows no break there.
_CJK = r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]"
_CJK_SOURCE_BREAK = rf"(?<={_CJK})[ \t]*\r?\n\s*(?={_CJK})"  # compiled on first use: it takes milliseconds
_AUTHOR_SPLIT = re.compile(r"[;；,，、/|]+|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
_AUTHOR_ROLE = re.compile(r"^(?:本报|特约|实习)?(?:记者|作者|通讯员|撰文|文)\s*[:：]?\s*")
_NOT_A_NAME = re.compile(r"编辑|记者|作者|来源|通讯员|实习生|admin|www|http|@|\d|(?:网|社|报|台|新闻|频道)$", re.I)


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
    title, lines = titled(meaningful_title(found.get("title")), nonblank_lines(found["text"]), name)
    return Document(title=title, body="\n".join(lines), source=found.get("sitename") or "",
                    date=found.get("date") or "", url=found.get("url") or "",
                    reporters=author_names(found.get("author") or ""))


def author_names(author: str) -> tuple[str, ...]:
    """Names from a page's author metadata ("王瑞芳; 李明", "记者 王瑞芳"), leaving out roles, sites and addresses."""
    names = (_AUTHOR_ROLE.sub("", n.strip(" ：:（）()")) for n in _AUTHOR_SPLIT.split(_AUTHOR_ROLE.sub("", author.strip())))
    return tuple(dict.fromkeys(n for n in names if 2 <= len(n) <= 20 and not _NOT_A_NAME.search(n)))
