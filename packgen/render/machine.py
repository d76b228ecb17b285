"""What this machine has for rendering booklets, and what is missing (``packgen doctor``)."""

from __future__ import annotations

import ctypes.util
import platform
import shutil
import sys
from typing import Any

from packgen import __version__
from packgen.render import accel
from packgen.render.engine import versions
from packgen.render.fonts import (
    SANS_STACK,
    SERIF_STACK,
    chinese_fonts,
    font_used,
    installed_coverage,
    missing_glyphs,
)

#: A few characters every Chinese booklet prints; if any is missing the fonts are not fit.
SAMPLE = "党员冬训学习手册第页共就地自学线上联学送学上门喆堃"


def diagnose() -> dict[str, Any]:
    report: dict[str, Any] = {
        "packgen": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "problems": [],
        "notes": [],  #: what some commands miss, though booklets print
    }
    report["poppler"] = shutil.which("pdftoppm") if shutil.which("pdftotext") else None
    if not report["poppler"]:
        report["notes"].append(
            "pdftoppm and pdftotext (poppler-utils) are missing: packgen serve shows a booklet as a link "
            "to its PDF, not page by page (apt-get install poppler-utils)"
        )
    try:
        report.update(versions())
        report["shortcuts"] = accel.status()
    except Exception as exc:  # OSError when Pango is missing, ImportError when WeasyPrint is
        report["weasyprint"] = None
        report["problems"].append(
            f"WeasyPrint cannot load: {exc}; install Pango (apt-get install libpango-1.0-0)"
        )
    subset = ctypes.util.find_library("harfbuzz-subset")
    report["harfbuzz_subset"] = subset
    if not subset:
        report["problems"].append(
            "libharfbuzz-subset is missing: CJK fonts subset ~20x slower (apt-get install libharfbuzz-subset0)"
        )
    if installed_coverage() is None:  # the font checks below ask fontconfig's tools
        report["problems"].append(
            "fontconfig's fc-list and fc-match are missing: fonts cannot be checked and glyph checks "
            "are off (apt-get install fontconfig)"
        )
        report.update(fonts_used={"body text": None, "headings": None}, chinese_fonts=[])
        report["ok"] = False
        return report
    report["fonts_used"] = {"body text": font_used(SERIF_STACK), "headings": font_used(SANS_STACK)}
    for role, found in report["fonts_used"].items():
        stack = SERIF_STACK if role == "body text" else SANS_STACK
        if found is None or found[0] not in stack:
            report["problems"].append(
                f"{role}: none of {', '.join(stack)} is installed; booklets fall back to "
                f"{found[0] if found else 'no font'} (install fonts-noto-cjk)"
            )
    report["chinese_fonts"] = [{"family": f, "file": p} for f, p in chinese_fonts()]
    if not report["chinese_fonts"]:
        report["problems"].append("no font covers Chinese: install one (apt-get install fonts-noto-cjk)")
    missing = missing_glyphs(SAMPLE)
    if missing and installed_coverage() is not None:
        report["problems"].append(f"no installed font prints {''.join(missing)}")
    report["ok"] = not report["problems"]
    return report
