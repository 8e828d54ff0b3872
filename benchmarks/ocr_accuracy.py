"""How well screenshots of articles are read: seed articles rendered by headless Chromium to PNG
screenshots, read back by OCR (`qa.ingest.ocr.read_image`), compared with the seed's own text.

    python benchmarks/ocr_accuracy.py [--seed seeds/000_….txt] [--out DIR] [--json FILE]

Characters right: the share of the expected characters (title and body, whitespace removed, both sides
NFKC-normalised so "（" and "(" count as one) that the OCR text recovers in order: the sizes of
difflib's matching blocks over the expected length. Characters the OCR invents are not counted
against it; they show as a lower rate only when they replace expected ones.
Each seed article is read as a 720-pixel-wide screenshot, and again scaled to 60% and saved as a JPEG of
quality 50 (a screenshot forwarded in chats); the first one also as a phone's long screenshot (390 CSS
pixels at 3x: 1170 pixels wide, read in strips). Also measured: seconds per image (the engine loaded
beforehand, its load timed apart), each image's size, and whether pages in two and three columns
are read column by column, left to right.
onnxruntime takes OMP_NUM_THREADS threads when that is set (as `qa` sets it), else all cores.
"""

from __future__ import annotations

import argparse
import difflib
import html
import json
import os
import re
import shutil
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED_FILE = next((ROOT / "seeds").glob("*.txt"))
# A phone-like reading width; the CJK font Debian's fonts-wqy-microhei installs.
STYLE = ("body{font-family:'WenQuanYi Micro Hei';font-size:16px;line-height:1.7;margin:24px 20px;color:#222}"
         "h1{font-size:24px;line-height:1.4;margin:0 0 16px}p{margin:0 0 12px}")
WIDTH = 720
# Pages in columns: two plain ones; three set as a newspaper's, under a centred title and a source line with
# the date at its far right, lines tight and not level across columns.
COLUMNS = {
    "two columns": (WIDTH, ".columns{column-count:2;column-gap:40px}", ""),
    "three columns": (WIDTH + 240, "body{width:900px;font-size:15px}h1{text-align:center}.columns{column-count:3;"
                         "column-gap:30px;line-height:1.2}.columns p{margin:0 0 10px}.m{display:flex;"
                         "justify-content:space-between;color:#666}",
                      '<div class="m"><span>来源：中国网</span><span>2024-11-19 09:30</span></div>'),
}
COMPRESSED_SCALE, COMPRESSED_QUALITY = 0.6, 50  # 16 px text shrunk to about 10 px, JPEG artefacts around it
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def characters_right(expected: str, got: str) -> float:
    """The share of `expected`'s characters that `got` recovers in order (whitespace dropped, NFKC)."""
    expected, got = _plain(expected), _plain(got)
    if not expected:
        return 1.0
    matcher = difflib.SequenceMatcher(None, expected, got, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(expected)


def _plain(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def seed_articles(seed_file: Path) -> list[tuple[str, list[str]]]:
    """(title, lines) of each article of a seed file, its lines as the seed writes them."""
    sections = re.split(r"^#+\s+", seed_file.read_text(encoding="utf-8"), flags=re.M)[1:]
    articles = []
    for section in sections:
        title, *lines = [line.strip() for line in section.split("\n") if line.strip()]
        articles.append((title, lines))
    return articles


def article_page(title: str, lines: list[str], columns: str = "") -> str:
    """An article's web page: the title in a larger font, then its paragraphs (laid out as COLUMNS[columns])."""
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    _, style, above = COLUMNS.get(columns, (WIDTH, "", ""))
    body = f'{above}<div class="columns">{paragraphs}</div>' if columns else paragraphs
    return (f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}{style}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>")


def screenshot(browser, page_html: str, path: Path, width: int = WIDTH, scale: int = 1) -> Path:
    """The whole page (a long screenshot, as phones take of articles) saved as a PNG; `scale` device pixels per
    CSS pixel (3 on a phone)."""
    context = browser.new_context(viewport={"width": width, "height": 800}, device_scale_factor=scale)
    try:
        page = context.new_page()
        page.set_content(page_html)
        page.screenshot(path=str(path), full_page=True)
    finally:
        context.close()
    return path


def compressed(path: Path, scale: float = COMPRESSED_SCALE, quality: int = COMPRESSED_QUALITY) -> Path:
    """A screenshot as forwarded in chats: scaled down and saved as a low-quality JPEG beside it."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    out = path.with_name(f"{path.stem}-small.jpg")
    image.save(out, "JPEG", quality=quality)
    return out


def launch(playwright):
    """Headless Chromium: the system's, never a downloaded one."""
    return playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)


def read_timed(path: Path) -> tuple[object, float]:
    """(the Document OCR read off the image at `path`, seconds it took)."""
    from qa.ingest.ocr import read_image

    started = time.perf_counter()
    document = read_image(path.read_bytes(), path.name)
    return document, time.perf_counter() - started


def scored(title: str, lines: list[str], path: Path, variant: str) -> dict:
    """One image read by OCR and compared with the article it shows."""
    from PIL import Image

    document, seconds = read_timed(path)
    width, height = Image.open(path).size
    return {"title": title, "variant": variant, "characters": len(_plain(title + "".join(lines))),
            "characters_right": round(characters_right(title + "".join(lines), document.title + document.body), 4),
            "title_right": _plain(document.title) == _plain(title), "seconds": round(seconds, 2),
            "width": width, "height": height}


def measure(seed_file: Path, out_dir: Path) -> dict:
    """Each article of `seed_file` as a screenshot read by OCR (characters right, title right, seconds, image
    size), also scaled down to a low-quality JPEG; the first article as a phone's long screenshot
    (390 CSS pixels at 3x); and its first paragraphs laid out in COLUMNS, read in column order or not."""
    from playwright.sync_api import sync_playwright

    from qa.ingest.ocr import _ocr_engine

    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    _ocr_engine()
    load_seconds = time.perf_counter() - started
    articles = seed_articles(seed_file)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            shots = [screenshot(browser, article_page(title, lines), out_dir / f"article{n}.png")
                     for n, (title, lines) in enumerate(articles)]
            title, lines = articles[0]
            phone = screenshot(browser, article_page(title, lines), out_dir / "phone.png", width=390, scale=3)
            laid_out = {layout: screenshot(browser, article_page(title, lines[:6], columns=layout),
                                           out_dir / f"{layout.replace(' ', '-')}.png", width=width)
                        for layout, (width, _, _) in COLUMNS.items()}
        finally:
            browser.close()
    rows = [scored(title, lines, shot, "screenshot") for (title, lines), shot in zip(articles, shots)]
    rows += [scored(title, lines, compressed(shot), "small JPEG") for (title, lines), shot in zip(articles, shots)]
    rows.append(scored(*articles[0], phone, "phone 3x"))
    title, lines = articles[0]
    columns = {}
    for layout, path in laid_out.items():
        document, seconds = read_timed(path)
        columns[layout] = {"characters_right": round(characters_right(title + "".join(lines[:6]),
                                                                      document.title + document.body), 4),
                           "in_order": _in_order(lines[:6], document.body), "seconds": round(seconds, 2)}
    return {
        "seed_file": seed_file.name, "articles": rows,
        **{variant.replace(" ", "_"): _summary([row for row in rows if row["variant"] == variant])
           for variant in ("screenshot", "small JPEG", "phone 3x")},
        "engine_load_seconds": round(load_seconds, 2), "columns": columns,
        "threads": os.environ.get("OMP_NUM_THREADS", "all cores"),
    }


def _summary(rows: list[dict]) -> dict:
    characters = sum(row["characters"] for row in rows)
    return {"characters_right": round(sum(r["characters_right"] * r["characters"] for r in rows) / characters, 4),
            "titles_right": sum(row["title_right"] for row in rows), "images": len(rows),
            "seconds_per_image": round(sum(r["seconds"] for r in rows) / len(rows), 2),
            "seconds_per_megapixel": round(sum(r["seconds"] for r in rows)
                                           / sum(r["width"] * r["height"] / 1e6 for r in rows), 2)}


def _in_order(paragraphs: list[str], got: str) -> bool:
    """Whether each paragraph's first ten characters are found in `got`, in the paragraphs' order."""
    plain = _plain(got)
    places = [plain.find(_plain(paragraph)[:10]) for paragraph in paragraphs]
    return all(place >= 0 for place in places) and places == sorted(places)


def table(result: dict) -> str:
    lines = [f"OCR of screenshots ({result['seed_file']}; onnxruntime threads: {result['threads']}; "
             f"engine load {result['engine_load_seconds']} s)",
             f"{'variant':<11} {'chars':>6} {'right':>8} {'title':>6} {'seconds':>8} {'size':>11}  article"]
    for row in result["articles"]:
        lines.append(f"{row['variant']:<11} {row['characters']:>6} {row['characters_right']:>8.2%} "
                     f"{'yes' if row['title_right'] else 'no':>6} {row['seconds']:>8.2f} "
                     f"{row['width']:>5}x{row['height']:<5}  {row['title'][:16]}")
    for variant in ("screenshot", "small JPEG", "phone 3x"):
        summary = result[variant.replace(" ", "_")]
        lines.append(f"{variant}: characters right {summary['characters_right']:.2%}, titles right "
                     f"{summary['titles_right']}/{summary['images']}, {summary['seconds_per_image']} s per image, "
                     f"{summary['seconds_per_megapixel']} s per megapixel")
    for layout, read in result["columns"].items():
        lines.append(f"{layout}: characters right {read['characters_right']:.2%}, read in column order: "
                     f"{'yes' if read['in_order'] else 'NO'} ({read['seconds']} s)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=Path, default=SEED_FILE, help="a seed file of # headed articles")
    parser.add_argument("--out", type=Path, default=None, help="where the screenshots go (default: a temp folder)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        result = measure(args.seed, args.out or Path(scratch))
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
