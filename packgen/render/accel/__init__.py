"""Shortcuts that lean on WeasyPrint's internals, behind one version gate.

``speedups`` spares WeasyPrint work it repeats (page styles, font subsets, font file copies) and
subsets CJK fonts compactly; ``stylesheets`` hands WeasyPrint stylesheets parsed once per process.
Both were checked against :data:`CHECKED` only: with any other WeasyPrint they stay off as a whole
and packgen renders with WeasyPrint as it is (the same booklets, only slower), and so they do when
``PACKGEN_PLAIN_RENDER=1`` (``build --plain-render``) asks for WeasyPrint as it is.

They are in place only while packgen renders (:func:`active`), so a script that uses packgen as a
library keeps WeasyPrint unchanged for its own documents. (Two threads, one rendering through
packgen and one with WeasyPrint directly, would share them while packgen renders.)
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

from packgen.render.accel import speedups
from packgen.render.accel.pages import page_kinds
from packgen.render.accel.speedups import FontsNotSwapped
from packgen.render.accel.stylesheets import TAKEN, Stylesheets

#: the WeasyPrint versions these shortcuts were checked against, byte for byte
CHECKED = ("70.",)
PLAIN_RENDER = "PACKGEN_PLAIN_RENDER"  #: set to 1 to render without any shortcut

__all__ = [
    "CHECKED", "PLAIN_RENDER", "TAKEN", "FontsNotSwapped", "Stylesheets", "active", "page_kinds", "plain_asked",
    "status", "supported", "without_compact_fonts",
]  # fmt: skip

_lock = threading.Lock()
_depth = 0  #: renders under way in this process that put the shortcuts in place


def weasyprint_version() -> str:
    """The installed WeasyPrint's version, without importing it when it is not yet (~0.5 s)."""
    loaded = sys.modules.get("weasyprint")
    if loaded is not None:
        return str(loaded.__version__)
    from importlib.metadata import version

    return version("weasyprint")


def supported() -> bool:
    """Whether the installed WeasyPrint is one the shortcuts were checked against."""
    return weasyprint_version().startswith(CHECKED)


def plain_asked() -> bool:
    """Whether the environment asks for rendering without any shortcut (``PACKGEN_PLAIN_RENDER=1``)."""
    return os.environ.get(PLAIN_RENDER, "").strip() not in ("", "0")


def status(plain: bool = False) -> str:
    """``on``, or ``off: why`` (for ``packgen doctor`` and the first line of a build)."""
    if plain or plain_asked():
        return f"off: plain rendering asked for ({PLAIN_RENDER}=1 or --plain-render)"
    if not supported():
        return (
            f"off: WeasyPrint {weasyprint_version()} is not one they were checked against "
            f"({', '.join(CHECKED)}x); booklets are the same, builds slower"
        )
    return "on"


@contextlib.contextmanager
def active(enabled: bool = True) -> Iterator[bool]:
    """The shortcuts in place for what runs inside (when ``enabled`` and the version allows), then
    WeasyPrint as it was. Re-entrant; shortcuts someone else put in place are left to them.
    Yields whether they are in place."""
    global _depth
    if not enabled or not supported():
        yield False
        return
    with _lock:
        if _depth == 0 and not speedups.installed():
            speedups.install()
            _depth = 1
        elif _depth:
            _depth += 1
        owned = bool(_depth)
    try:
        yield True
    finally:
        if owned:
            with _lock:
                _depth -= 1
                if _depth == 0:
                    speedups.uninstall()


@contextlib.contextmanager
def without_compact_fonts() -> Iterator[None]:
    """CID-keyed CFF fonts subset as WeasyPrint does, for what runs inside (see :class:`FontsNotSwapped`)."""
    before, speedups.compact_fonts = speedups.compact_fonts, False
    try:
        yield
    finally:
        speedups.compact_fonts = before


def install() -> bool:
    """Put the shortcuts in place for the rest of the process (tests, benchmarks); whether they are."""
    return supported() and speedups.install()


def uninstall() -> None:
    """Put WeasyPrint back as it was (tests and the benchmark's plain loop compare the two)."""
    speedups.uninstall()
