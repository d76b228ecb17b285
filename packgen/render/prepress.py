"""What a print shop needs, applied to a finished booklet or print run: bleed and crop marks
(:mod:`packgen.render.printmarks`) and the PDF/X markers (:mod:`packgen.render.pdfx`).

They come after everything else that makes a booklet (its shared pages composed, the courseware
added), since those place pages by the page's boxes, and before print runs are combined, which
copy each page with its boxes. A print run is a new file: it gets the PDF/X markers again.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packgen.config.schema import Config
from packgen.render import pdfx, printmarks


@dataclass(frozen=True)
class Prepress:
    """The config's print-shop settings (picklable: print runs are combined in worker processes)."""

    bleed: float = 0.0  #: points
    marks: bool = False
    variant: str = "none"
    profile: Path | None = None  #: the ICC output profile, for a PDF/X variant

    @classmethod
    def of(cls, config: Config) -> Prepress:
        page = config.page
        profile = config.resolve(page.output_profile) if page.output_profile else None
        return cls(page.bleed_pt, page.crop_marks, page.pdf_variant, profile)

    @property
    def active(self) -> bool:
        return self.marks or self.bleed > 0 or self.variant != "none"

    def booklet(self, data: bytes) -> bytes:
        """A finished booklet's bytes with its bleed box, marks and PDF/X markers."""
        if not self.active:
            return data
        import pikepdf

        with pikepdf.Pdf.open(io.BytesIO(data)) as pdf:
            if self.marks or self.bleed > 0:
                printmarks.mark_pages(pdf, self.bleed, self.marks)
            self.mark(pdf, hashlib.sha256(data).hexdigest())
            buffer = io.BytesIO()
            pdf.save(buffer, **self.save_options())
        return buffer.getvalue()

    def mark(self, pdf: Any, document_id: str) -> None:
        """The PDF/X markers, when the config asks for a variant (print runs: after combining)."""
        if self.variant != "none":
            assert self.profile is not None  # the config's schema requires one
            pdfx.mark_pdfx(pdf, self.variant, pdfx.read_profile(self.profile), document_id)

    def save_options(self, **defaults: Any) -> dict[str, Any]:
        """pikepdf's ``save`` options: the variant's version, else ``defaults`` (and a fixed id)."""
        if self.variant != "none":
            return pdfx.save_options(self.variant)
        return {"deterministic_id": True, **defaults}
