"""Reading text off pictures: screenshots of articles (a WeChat article captured as an image) and the
page images of scanned PDFs, with rapidocr's PP-OCR models, which ship inside its wheel and run
offline on the CPU.

One engine is made on first use, never at import (`import qa.ingest.formats` stays fast), and shared by
all threads, which take turns with it. Tall images are read in overlapping strips; the boxes found
are put in reading order, and the title found, by `qa.ingest.ocr_layout`. What is read is remembered,
in this process and on disk, by the file's content.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path

from qa.config import ocr_cache_dir, omp_threads
from qa.errors import CorpusError
from qa.ingest.document import Document
from qa.ingest.ocr_layout import (
    Line,
    TextBox,
    document_of_pages,
    lines_in_reading_order,
)

MIN_CONFIDENCE = 0.5  # a recognised line scored lower is more often garbage than text
MAX_PIXELS = 80_000_000  # more is a decompression bomb, not a screenshot (a 1440 x 55,000 long capture is 80M);
# below Pillow's own warning (89M pixels), so an image that is read never warns
MAX_WIDTH = 2000  # wider images are scaled down to this (an A4 scan at 240 dpi): its text stays 25+ pixels high
STRIP = 2000  # tall images (long screenshots) are read in strips this high, so that nothing shrinks them
OVERLAP = 200  # strips overlap by this much: every line lies whole inside some strip
_NO_TEXT_TODO = "use a sharper screenshot or scan (text at least 12 pixels high), or add its text as a .txt file"

_REMEMBERED = 32  # images whose Documents are kept: reading one again costs seconds

_engine = None
_engine_made = threading.Lock()
_engine_busy = threading.Lock()  # rapidocr sets per-call options on the engine itself: one call at a time
_read: OrderedDict[str, Document] = OrderedDict()
_read_lock = threading.Lock()


def remembered(data: bytes, name: str, read: Callable[[], Document]) -> Document:
    """What OCR reads off a file, read once: remembered in this process (an upload is checked, then built)
    and on disk by content (every build reads every file again; OCR takes seconds an image)."""
    key = hashlib.sha256(data + b"\0" + name.encode("utf-8")).hexdigest()
    with _read_lock:
        if key in _read:
            _read.move_to_end(key)
            return _read[key]
    stored = ocr_cache_dir() / key[:2] / f"{key}.json"
    try:
        document = Document(**json.loads(stored.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        document = read()
        _keep_on_disk(stored, document)
    with _read_lock:
        _read[key] = document
        while len(_read) > _REMEMBERED:
            _read.popitem(last=False)
    return document


def _keep_on_disk(path: Path, document: Document) -> None:
    """Best effort: a cache folder that cannot be written only costs the next build the OCR again."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.part")
        temporary.write_text(json.dumps(asdict(document), ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        pass


def read_image(data: bytes, name: str) -> Document:
    """The article in a screenshot or a scanned page (.png/.jpg/.webp bytes), read by OCR (once: `remembered`)."""
    return remembered(data, name, lambda: _read_image(data, name))


def _read_image(data: bytes, name: str) -> Document:
    lines = image_lines(_open_image(data, name))
    if not _has_text(lines):
        raise CorpusError(f"{name}: no text could be read off the image (blank, blurred or too small?): "
                          f"{_NO_TEXT_TODO}",
                          zh=f"{name}：图片上没有识别出文字（空白、模糊或字太小）：请换一张更清晰的截图或扫描件，"
                             "或把文字另存为 .txt 文件。")
    return document_of_pages([lines], name)


def read_scanned_pages(pages: list[list], name: str, metadata_title: str = "") -> Document:
    """The article on the page images of a PDF without a text layer (`pages`: each page's PIL images).

    Raises CorpusError when OCR finds no text on any page either.
    """
    found = [[line for image in images for line in image_lines(_bounded(image, name))] for images in pages]
    if not any(_has_text(lines) for lines in found):
        raise CorpusError(f"{name}: has no text layer, and OCR found no text on its pages (blank, or a scan too "
                          f"blurred or small?): scan it again at 300 dpi, or add its text as a .txt file",
                          zh=f"{name}：PDF 没有文字层，页面图片上也没有识别出文字：请以 300 dpi 重新扫描，"
                             "或把文字另存为 .txt 文件。")
    return document_of_pages(found, name, metadata_title)


def ocr_lines(image) -> list[str]:
    """The text lines of a PIL image in reading order (see `image_lines`)."""
    return [line.text for line in image_lines(image)]


def image_lines(image) -> list[Line]:
    """The lines of a PIL image in reading order: top to bottom, columns left to right, boxes on one
    visual line joined left to right; results scored below MIN_CONFIDENCE are dropped."""
    return lines_in_reading_order(_recognised(image))


def _has_text(lines: list[Line]) -> bool:
    return any(ch.isalnum() for line in lines for ch in line.text)


def _open_image(data: bytes, name: str):
    """The image in `data`, upright (as the phone's EXIF says), bounded in size, as RGB on white."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise CorpusError(_too_large(name, "far more pixels than that"), zh=_TOO_LARGE_ZH.format(name=name)) from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise _damaged(name, error) from error
    return _bounded(image, name)


_TOO_LARGE_ZH = "{name}：图片过大（超过八千万像素），不予读取：请截取文章部分或缩小后再上传。"


def _too_large(name: str, size: str) -> str:
    return (f"{name}: the image is too large to read (at most {MAX_PIXELS:,} pixels; it has {size}): "
            "crop it to the article or scale it down")


def _damaged(name: str, error: Exception) -> CorpusError:
    return CorpusError(f"{name}: a damaged or unreadable image ({type(error).__name__}: {error}): re-save it "
                       "as .png or .jpg, or add its text as a .txt file",
                       zh=f"{name}：图片已损坏或无法读取：请另存为 .png 或 .jpg 后再试。")


def _bounded(image, name: str):
    """A PIL image checked against MAX_PIXELS, turned upright, flattened to RGB, at most MAX_WIDTH wide."""
    from PIL import Image, ImageOps

    width, height = image.size
    if width * height > MAX_PIXELS:
        raise CorpusError(_too_large(name, f"{width} x {height}"), zh=_TOO_LARGE_ZH.format(name=name))
    try:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, "white")
            flat.paste(rgba, mask=rgba.getchannel("A"))
            image = flat
        else:
            image = image.convert("RGB")
    except (OSError, ValueError, SyntaxError) as error:  # a truncated or corrupt file fails when decoded
        raise _damaged(name, error) from error
    if image.width > MAX_WIDTH:
        image = image.resize((MAX_WIDTH, max(1, round(image.height * MAX_WIDTH / image.width))),
                             Image.Resampling.LANCZOS)
    return image


def _recognised(image) -> list[TextBox]:
    """The text boxes of an RGB image, read strip by strip; each box kept once, from the strip it lies inside."""
    boxes = []
    step = STRIP - OVERLAP
    for top in range(0, max(1, image.height - OVERLAP), step):
        bottom = min(image.height, top + STRIP)
        own_top = top + OVERLAP / 2 if top else 0
        own_bottom = bottom - OVERLAP / 2 if bottom < image.height else image.height
        for box in _read_strip(image.crop((0, top, image.width, bottom)), top):
            if own_top <= box.middle < own_bottom:
                boxes.append(box)
        if bottom >= image.height:
            break
    return boxes


def _read_strip(strip, top: float) -> Iterable[TextBox]:
    engine = _ocr_engine()
    with _engine_busy:
        result = engine(strip)
    if result.boxes is None or result.txts is None:
        return []
    found = []
    for points, text, score in zip(result.boxes, result.txts, result.scores):
        if score < MIN_CONFIDENCE or not text.strip():
            continue
        xs = [float(p[0]) for p in points]
        ys = [float(p[1]) + top for p in points]
        found.append(TextBox(min(xs), min(ys), max(xs), max(ys), text.strip()))
    return found


def _ocr_engine():
    """The shared rapidocr engine, made on first use with the models inside rapidocr's wheel (nothing downloaded).

    onnxruntime takes as many threads as OMP_NUM_THREADS says (`qa.config.omp_threads`: set by the user, or by
    `qa.index.embedding.limit_threads`), else all cores.
    """
    global _engine
    if _engine is None:
        with _engine_made:
            if _engine is None:
                _engine = _make_engine()
    return _engine


def _make_engine():
    import rapidocr

    models = Path(rapidocr.__file__).parent / "models"
    paths = {}
    for task in ("det", "rec"):
        found = sorted(models.glob(f"*_{task}_*.onnx"))
        if not found:
            raise CorpusError(f"rapidocr's {task} model is missing from {models}: reinstall the project "
                              "(pip install -e .), which brings rapidocr with its models",
                              zh="文字识别（OCR）模型缺失：请重新安装本项目的依赖。")
        paths[task] = str(found[-1])
    threads = omp_threads()
    params = {
        "Global.log_level": "error",
        "Global.text_score": 0.0,  # low-confidence results are dropped here, by MIN_CONFIDENCE
        "Global.use_cls": False,  # screenshots and scans are upright; the orientation model only costs time
        "Global.max_side_len": STRIP + OVERLAP,  # strips come at most this large: never shrunk again
        "Det.model_path": paths["det"],
        "Rec.model_path": paths["rec"],  # the model holds its own character list: no dictionary download
        "EngineConfig.onnxruntime.intra_op_num_threads": -1 if threads is None else threads,
    }
    return rapidocr.RapidOCR(params=params)
