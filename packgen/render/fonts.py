"""Which characters the installed fonts can print, asked of fontconfig (as WeasyPrint/Pango use it).

A character that no installed font covers would print as an empty box; packgen refuses such a
booklet before writing it and names the characters (see ``Renderer.check_glyphs``).
"""

from __future__ import annotations

import bisect
import functools
import shutil
import subprocess
from dataclasses import dataclass

#: The families the default stylesheet asks for, in order (print.css says the same; a test checks):
#: Noto/Source Han on Linux, Songti/STSong/PingFang on macOS, SimSun/Microsoft YaHei/SimHei on Windows.
SERIF_STACK = ("Noto Serif CJK SC", "Source Han Serif SC", "Songti SC", "STSong", "SimSun")
SANS_STACK = ("Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "SimHei")

#: Not drawn as glyphs, so no font needs to cover them: line breaks and tabs, and Unicode's default
#: ignorable code points (zero-width joiners, bidi marks, soft hyphen, variation selectors such as
#: the ideographic ones after a name's character, tags), which Pango lays out as nothing.
_INVISIBLE = {"\n", "\r", "\t"}
_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)  # fmt: skip


def _invisible(char: str) -> bool:
    code = ord(char)
    return char in _INVISIBLE or any(start <= code <= end for start, end in _IGNORABLE)


@dataclass(frozen=True)
class Coverage:
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def covers(self, char: str) -> bool:
        code = ord(char)
        index = bisect.bisect_right(self.starts, code) - 1
        return index >= 0 and code <= self.ends[index]


@functools.lru_cache(maxsize=1)
def installed_coverage() -> Coverage | None:
    """Union of every installed font's character set, or None when fontconfig's tools are missing."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    result = subprocess.run(
        [fc_list, "--format", "%{charset}\n"], capture_output=True, text=True, check=False, timeout=60
    )
    ranges: list[tuple[int, int]] = []
    for token in result.stdout.split():
        first, _, last = token.partition("-")
        try:
            ranges.append((int(first, 16), int(last or first, 16)))
        except ValueError:
            continue
    ranges.sort()
    merged: list[list[int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return Coverage(tuple(r[0] for r in merged), tuple(r[1] for r in merged))


def missing_glyphs(text: str) -> list[str]:
    """Characters of ``text`` that no installed font covers, in order of first appearance."""
    coverage = installed_coverage()
    if coverage is None or not text:
        return []
    return [
        char
        for char in dict.fromkeys(text)  # each distinct character once, in order
        if not _invisible(char) and not char.isspace() and not coverage.covers(char)
    ]


def resolve_family(family: str) -> tuple[str, str] | None:
    """The font fontconfig picks for ``family``: (family it really is, file), or None."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    result = subprocess.run(
        [fc_match, "--format", "%{family[0]}\t%{file}", f"{family}:lang=zh-cn"],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    found, _, path = result.stdout.partition("\t")
    return (found, path) if found else None


def chinese_fonts() -> list[tuple[str, str]]:
    """Installed fonts that declare Chinese coverage: (family, file)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    result = subprocess.run(
        [fc_list, "--format", "%{family[0]}\t%{file}\n", ":lang=zh-cn"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    fonts = {tuple(line.split("\t", 1)) for line in result.stdout.splitlines() if "\t" in line}
    return sorted(fonts)  # type: ignore[arg-type]


def font_used(stack: tuple[str, ...]) -> tuple[str, str] | None:
    """The font a booklet really prints with for a CSS family ``stack``: the first family installed.

    Falls back to what fontconfig substitutes for Chinese text when none of them is installed.
    """
    for family in stack:
        found = resolve_family(family)
        if found is not None and found[0].lower() == family.lower():
            return found
    return resolve_family(stack[0])
