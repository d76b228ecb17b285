"""Helpers for tests that render booklets and read the PDFs back (pypdf, poppler, Pillow)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml
from conftest import pdftotext

from packgen.config import default_config_text

MM = 72 / 25.4

CHAPTER = """# 短章：学习方法

流动党员在外学习，贵在坚持。本章只有两段，供测试使用。

## 一、每天读一页

每天读一页材料，写下一句体会。
"""


#: a template's loop that never ends (10^10 steps): what the time limits must stop
FOREVER = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


def override_letter(workspace: Path, line: str) -> Path:
    """A workspace template extending the built-in booklet, its letter block being ``line``."""
    template = workspace / "templates" / "booklet.html.j2"
    template.parent.mkdir(exist_ok=True)
    template.write_text(
        f'{{% extends "builtin/booklet.html.j2" %}}\n{{% block letter %}}\n{line}\n{{% endblock %}}\n',
        encoding="utf-8",
    )
    return template


def small_workspace(root: Path, members_csv: str | None = None, **overrides: Any) -> Path:
    """A workspace whose plans carry one short chapter, so a booklet renders in about a second.

    ``overrides`` replace top-level config sections (``page={...}``, ``allowed_hosts=[...]``).
    """
    root.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load(default_config_text())
    (root / "materials").mkdir(exist_ok=True)
    (root / "materials" / "short.md").write_text(CHAPTER, encoding="utf-8")
    for plan in config["plans"].values():
        plan["materials"] = ["materials/short.md"]
    config["profiles"] = ["profiles"]
    config.update(overrides)
    (root / "packgen.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    (root / "profiles").mkdir(exist_ok=True)
    (root / "profiles" / "roster.csv").write_text(
        members_csv
        or "党员编号,姓名,所在党支部,流动类型,网络条件,邮寄地址\n"
        "A1,张三,东湖村党支部,境外,良好,\n"
        "A2,李四,西山村党支部,市内,较差,临江县人民路1号\n",
        encoding="utf-8",
    )
    return root


def page_texts(pdf: Path) -> list[str]:
    """The text of each page (pdftotext separates pages with form feeds)."""
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text.split("\f")[:-1]


def toc_entries(pdf: Path) -> list[tuple[str, int]]:
    """The contents page's entries as (title, page number), read from its layout text.

    A chapter's line starts with its number ("第一章"); the title is the text just before the page number.
    """
    page = next(i + 1 for i, text in enumerate(page_texts(pdf)) if "\n目录\n" in text)
    entries = []
    for line in pdftotext(pdf, page, page, layout=True).splitlines():
        parts = re.split(r"\s{2,}", line.strip())
        if len(parts) >= 2 and parts[-1].isdigit():
            entries.append((parts[-2], int(parts[-1])))
    return entries


def words(pdf: Path, page: int | None = None) -> list[list[tuple[str, float, float, float, float]]]:
    """Words per page with their boxes in points, (text, x0, y0, x1, y1), y from the top.

    One list per page of the document, or a single-element list for the 1-based ``page``.
    """
    pages = ["-f", str(page), "-l", str(page)] if page else []
    html = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-bbox", *pages, str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    return [
        [
            (text, float(x0), float(y0), float(x1), float(y1))
            for x0, y0, x1, y1, text in re.findall(pattern, chunk)
        ]
        for chunk in html.split("<page ")[1:]
    ]


def qr_matrix_on_page(pdf: Path, page: int, caption: str, size: int, tmp: Path) -> list[list[bool]]:
    """Read back the QR code printed above ``caption``: ``size`` x ``size`` modules, True is dark.

    The page is rasterised with pdftoppm; the code's dark bounding box (finder patterns sit in
    three corners, so it is the symbol itself) is cut into modules and each is sampled at its centre.
    """
    from PIL import Image

    dpi = 200
    stem = tmp / f"qr-page-{page}"
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", "-singlefile", "-f", str(page), "-l", str(page), str(pdf), str(stem)],
        check=True,
    )  # fmt: skip
    image = Image.open(f"{stem}.png").convert("L")
    box = next(w for w in words(pdf, page)[0] if w[0] == caption)
    centre, top = (box[1] + box[3]) / 2, box[2]
    scale = dpi / 72
    region = (
        int((centre - 20 * MM) * scale), int((top - 32 * MM) * scale),
        int((centre + 20 * MM) * scale), int(top * scale),
    )  # fmt: skip
    crop = image.crop(region)
    dark = crop.point(lambda v: 255 if v < 128 else 0)
    bbox = dark.getbbox()
    assert bbox is not None, f"nothing printed above {caption!r}"
    x0, y0, x1, y1 = bbox
    step_x, step_y = (x1 - x0) / size, (y1 - y0) / size
    return [
        [
            crop.getpixel((int(x0 + (i + 0.5) * step_x), int(y0 + (j + 0.5) * step_y))) < 128
            for i in range(size)
        ]
        for j in range(size)
    ]


def page_images(pdf: Path) -> list[bytes]:
    """Each page of ``pdf`` as poppler draws it (greyscale, 40 dpi), to compare two PDFs page by page."""
    folder = pdf.with_suffix("")
    folder.mkdir()
    subprocess.run(["pdftoppm", "-r", "40", "-gray", str(pdf), str(folder / "p")], check=True)
    return [path.read_bytes() for path in sorted(folder.iterdir())]


def cmyk_profile(path: Path, description: str = "Test press CMYK") -> Path:
    """A minimal ICC header of a CMYK printer profile with a description: what PDF/X's output intent
    carries (packgen reads the header and the description; it converts no colour with it)."""
    import struct

    text = description.encode("ascii") + b"\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 79
    table = struct.pack(">I4sII", 1, b"desc", 128 + 4 + 12, len(desc))
    size = 128 + len(table) + len(desc)
    header = struct.pack(
        ">I4sI4s4s4s12s4s", size, b"none", 0x02100000, b"prtr", b"CMYK", b"Lab ", b"\0" * 12, b"acsp"
    )
    path.write_bytes(header.ljust(128, b"\0") + table + desc)
    return path


def pdf_text_sizes(pdf: Path, page: int) -> dict[float, int]:
    """Characters per printed text size (points, to 0.1) on 1-based ``page``: the font size times the
    text matrix's and the transformation's vertical scale (WeasyPrint writes sizes in CSS pixels)."""
    import math
    from collections import Counter

    from pypdf import PdfReader

    sizes: Counter[float] = Counter()

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if text.strip():
            printed = size * math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
            sizes[round(printed, 1)] += len(text.strip())

    PdfReader(pdf).pages[page - 1].extract_text(visitor_text=visit)
    return dict(sizes)
