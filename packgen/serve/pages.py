"""A booklet's pages for the browser: each page as a PNG (poppler's ``pdftoppm``) and the lines of
text on it with their places (``pdftotext -bbox-layout``), laid over the image so the browser's own
search finds booklet text and a reader can select and copy it.

poppler reads the PDF from its standard input and writes to its standard output: nothing touches
the disk. Without poppler-utils the page shows a link to the PDF instead (``packgen doctor`` says so).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import dataclass

#: pixels per inch of a page image: an A5 page is 583 px wide, sharp at the width the page shows it
DPI = 100
POPPLER_MISSING = (
    "the booklet's pages cannot be shown as images: pdftoppm and pdftotext (poppler-utils) are not "
    "installed; install poppler-utils (scripts/setup.sh does), or open the PDF"
)


@dataclass(frozen=True)
class Line:
    """One line of text on a page; its box in fractions of the page's width and height."""

    text: str
    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class Page:
    width: float  #: in points
    height: float
    lines: tuple[Line, ...]


def poppler_installed() -> bool:
    return shutil.which("pdftoppm") is not None and shutil.which("pdftotext") is not None


_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.DOTALL)
_LINE = re.compile(
    r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</line>', re.DOTALL
)
_WORD = re.compile(r"<word [^>]*>([^<]*)</word>")


def read_pages(pdf: bytes) -> list[Page]:
    """Every page's size and lines of text, read by ``pdftotext -bbox-layout``."""
    layout = _poppler(["pdftotext", "-enc", "UTF-8", "-bbox-layout", "-", "-"], pdf).decode(
        "utf-8", "replace"
    )
    pages = []
    for width, height, body in _PAGE.findall(layout):
        w, h = float(width), float(height)
        lines = tuple(
            Line(
                " ".join(html.unescape(word) for word in _WORD.findall(words)),
                float(x0) / w,
                float(y0) / h,
                (float(x1) - float(x0)) / w,
                (float(y1) - float(y0)) / h,
            )  # fmt: skip
            for x0, y0, x1, y1, words in _LINE.findall(body)
        )
        pages.append(Page(w, h, lines))
    return pages


def page_png(pdf: bytes, number: int) -> bytes:
    """Page ``number`` (1-based) as a PNG image."""
    page = str(number)
    return _poppler(["pdftoppm", "-png", "-r", str(DPI), "-f", page, "-l", page, "-singlefile", "-"], pdf)


def _poppler(command: list[str], pdf: bytes) -> bytes:
    """Run a poppler tool on the PDF given on its standard input; its standard output."""
    done = subprocess.run(command, input=pdf, capture_output=True, check=False, timeout=60)
    if done.returncode != 0:  # a PDF packgen rendered itself: poppler failing on it is a bug
        raise RuntimeError(f"{command[0]} failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout
