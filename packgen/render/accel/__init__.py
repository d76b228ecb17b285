"""Shortcuts that lean on WeasyPrint's internals, behind one version gate.

``speedups`` spares WeasyPrint work it repeats (page styles, font subsets, font file copies) and
subsets CJK fonts compactly; ``stylesheets`` hands WeasyPrint stylesheets parsed once per process.
Both were checked against :data:`CHECKED` only: with any other WeasyPrint they stay off as a whole
and packgen renders with WeasyPrint as it is (the same booklets, only slower).
"""

from __future__ import annotations

from typing import Any

from packgen.render.accel import speedups
from packgen.render.accel.stylesheets import TAKEN
from packgen.render.accel.stylesheets import Stylesheets as _Stylesheets

#: the WeasyPrint versions these shortcuts were checked against, byte for byte
CHECKED = ("70.",)

__all__ = ["CHECKED", "TAKEN", "Stylesheets", "install", "supported", "uninstall"]


def supported() -> bool:
    """Whether the installed WeasyPrint is one the shortcuts were checked against."""
    import weasyprint

    return bool(weasyprint.__version__.startswith(CHECKED))


def install() -> bool:
    """Apply the shortcuts (once per process) when the version gate allows; whether they are on."""
    return supported() and speedups.install()


def uninstall() -> None:
    """Put WeasyPrint back as it was (tests and the benchmark's plain loop compare the two)."""
    speedups.uninstall()


class Stylesheets(_Stylesheets):
    """Parsed stylesheets, handed over only where the version gate allows (else WeasyPrint's way)."""

    def take(self, document: Any) -> list[Any] | None:
        return super().take(document) if supported() else None
