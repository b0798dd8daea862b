"""A cited PDF page as an image, with the cited sentences highlighted where they are printed.

pypdfium2 (PDFium) renders the page and reports where each character sits. The sentence comes
from the indexer's text (pypdf, NFKC, hard wraps joined), which differs from PDFium's in
spacing, hyphenation and ligatures, so both are compared on letters and digits only; when
the sentence still does not appear whole, its longest shared stretches are marked instead.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageOps

_SCALE = 1.6  # ~115 dpi: body text stays legible in the side panel
_HIGHLIGHT = (250, 204, 21, 110)  # translucent yellow, as the text view's <mark>
_OUTLINE = (202, 138, 4, 255)
_MIN_STRETCH = 12  # letters a partial match must share to be marked
# PDFium is not thread-safe; Gradio calls handlers from several threads.
_PDFIUM = threading.Lock()


@dataclass(frozen=True)
class PageImage:
    image: Image.Image  # the whole page, highlights drawn on it
    cited: Image.Image  # the part of it around the highlights, margins trimmed
    page: int  # the page number as cited (the PDF's own label when it has one)
    found: int  # cited sentences located on the page
    wanted: int
    seconds: float  # time taken (a cached page takes about none)


def is_pdf_page(source: str, page: int | None) -> bool:
    return page is not None and source.lower().endswith(".pdf")


def render_page(path: str | Path, page: int, sentences: tuple[str, ...]) -> PageImage:
    """The page of `path` cited as `page`, with `sentences` highlighted (cached)."""
    file = Path(path)
    stat = file.stat()  # a changed file is rendered again, not served from the cache
    started = time.perf_counter()
    image, cited, found = _render(str(file), stat.st_mtime_ns, stat.st_size, page, sentences)
    seconds = time.perf_counter() - started
    return PageImage(image, cited, page, found, len(sentences), seconds)


Box = tuple[float, float, float, float]  # left, top, right, bottom in pixels


@lru_cache(maxsize=24)
def _render(
    path: str, _mtime: int, _size: int, page: int, sentences: tuple[str, ...]
) -> tuple[Image.Image, Image.Image, int]:
    import pypdfium2 as pdfium

    with _PDFIUM:
        pdf = pdfium.PdfDocument(path)
        try:
            # Labels repeat (front matter numbered 1-3, then the body from 1 again): of the
            # pages the citation's number can mean, the one that prints the sentences wins.
            best: tuple[int, Any, list[tuple[int, int]]] | None = None
            for at in _page_indexes(pdf, page):
                textpage = pdf[at].get_textpage()
                located = [_locate(textpage, sentence) for sentence in sentences]
                found = sum(bool(spans) for spans in located)
                if best is None or found > best[0]:
                    best = (found, at, [span for spans in located for span in spans])
            assert best is not None
            found, at, spans = best
            pdf_page = pdf[at]
            textpage = pdf_page.get_textpage()
            rects = []
            for start, end in spans:
                count = textpage.count_rects(start, end - start)
                rects += [textpage.get_rect(i) for i in range(count)]
            image = pdf_page.render(scale=_SCALE).to_pil().convert("RGBA")
            left, _bottom, _right, top = pdf_page.get_cropbox()
        finally:
            pdf.close()
    # PDF points, origin bottom left -> pixels, origin top left.
    boxes = tuple(
        ((x0 - left) * _SCALE, (top - y1) * _SCALE, (x1 - left) * _SCALE, (top - y0) * _SCALE)
        for x0, y0, x1, y1 in rects
    )
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for x0, y0, x1, y1 in boxes:
        draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), fill=_HIGHLIGHT, outline=_OUTLINE)
    marked = Image.alpha_composite(image, overlay).convert("RGB")
    return marked, marked.crop(_around(marked, boxes)), found


def _around(image: Image.Image, boxes: tuple[Box, ...]) -> tuple[int, int, int, int]:
    """The printed part of the page (margins trimmed), cut to a band around the highlights
    no taller than it is wide, so it stays legible in a narrow panel."""
    pad = 16
    ink = ImageOps.invert(image.convert("L")).getbbox() or (0, 0, *image.size)
    left, top = max(ink[0] - pad, 0), max(ink[1] - pad, 0)
    right, bottom = min(ink[2] + pad, image.width), min(ink[3] + pad, image.height)
    if not boxes:
        return left, top, right, bottom
    high = min(b[1] for b in boxes) - pad
    low = max(b[3] for b in boxes) + pad
    band = max(low - high, (right - left) * 0.6)
    middle = (high + low) / 2
    start = max(top, min(middle - band / 2, bottom - band))
    return left, int(start), right, int(min(bottom, start + band))


def _page_indexes(pdf: Any, page: int) -> list[int]:
    """0-based indexes of the pages the indexer may have numbered `page`: those labelled so
    (the number a PDF viewer shows), and the page at that position (the indexer numbers
    pages by position where their label is not a number, such as roman front matter)."""
    candidates = [i for i in range(len(pdf)) if pdf.get_page_label(i) == str(page)]
    if 1 <= page <= len(pdf) and page - 1 not in candidates:
        candidates.append(page - 1)
    if not candidates:
        raise IndexError(f"page {page} is not in this PDF ({len(pdf)} pages)")
    return candidates


def _key(text: str) -> tuple[str, list[int]]:
    """Lower-cased letters and digits of `text`, and the index in `text` of each of them."""
    chars, where = [], []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).lower():
            if c.isalnum():
                chars.append(c)
                where.append(i)
    return "".join(chars), where


def _locate(textpage: Any, sentence: str) -> list[tuple[int, int]]:
    """Character ranges [start, end) of the page that print `sentence`."""
    import pypdfium2.raw as raw

    count = textpage.count_chars()
    text = "".join(chr(raw.FPDFText_GetUnicode(textpage.raw, i)) for i in range(count))
    page_key, where = _key(text)
    wanted, _ = _key(sentence)
    if not wanted or not page_key:
        return []
    at = page_key.find(wanted)
    if at >= 0:
        return [(where[at], where[at + len(wanted) - 1] + 1)]
    blocks = SequenceMatcher(None, page_key, wanted, autojunk=False).get_matching_blocks()
    return [(where[b.a], where[b.a + b.size - 1] + 1) for b in blocks if b.size >= _MIN_STRETCH]
