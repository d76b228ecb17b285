"""PDF courseware drawn onto the pages a booklet's template reserves for it."""

from __future__ import annotations

import contextlib
import io
from typing import Any

from packgen.content.plans import BookletContent
from packgen.errors import ConfigError
from packgen.render import compose
from packgen.render.templates import TEMPLATE

#: Where a courseware page goes on its placeholder page: inside the booklet's margins (print.css).
_COURSEWARE_MARGINS_MM = (19.0, 14.0, 17.0, 14.0)  # top, right, bottom, left


def include_courseware(pdf: bytes, content: BookletContent) -> bytes:
    """Draw each PDF courseware page onto the placeholder page the template reserved for it.

    The template gives every courseware page an empty page whose anchor is ``{anchor}-p{n}``, so the
    page numbers, footers and table of contents already count them; here each placeholder gets its
    courseware page scaled to fit inside the margins, under the booklet's running header and footer.
    Without PDF materials the bytes are returned untouched.
    """
    courseware = [m for m in content.materials if m.kind == "pdf"]
    if not courseware:
        return pdf
    import pikepdf

    booklet = pikepdf.Pdf.open(io.BytesIO(pdf))
    pages = _named_pages(booklet)
    mm = 72 / 25.4
    top, right, bottom, left = (v * mm for v in _COURSEWARE_MARGINS_MM)
    drawn = 0
    with contextlib.ExitStack() as opened:  # the sources stay open until saved: qpdf copies then
        sources = [opened.enter_context(pikepdf.Pdf.open(m.path)) for m in courseware]
        for material, source in zip(courseware, sources, strict=True):
            for number, page in enumerate(source.pages):
                target_index = pages.get(f"{material.anchor}-p{number}")
                if target_index is None:  # a template override dropped the placeholders
                    raise ConfigError(
                        f"template {TEMPLATE}: no placeholder page '{material.anchor}-p{number}' for courseware "
                        f"{material.path}; keep the courseware pages of the built-in materials block"
                    )
                target = booklet.pages[target_index]
                box = target.trimbox
                area = pikepdf.Rectangle(
                    float(box[0]) + left, float(box[1]) + bottom, float(box[2]) - right, float(box[3]) - top
                )
                form = booklet.copy_foreign(page.as_form_xobject())
                compose.draw_form(target, form, f"/PackgenCourseware{drawn}", area)  # pages share resources
                drawn += 1
        return compose.save(booklet)


def _named_pages(booklet: Any) -> dict[str, int]:
    """The page index of each named destination (an anchor) in a WeasyPrint PDF opened with pikepdf."""
    import pikepdf

    numbers: dict[tuple[int, int], int] = {page.obj.objgen: n for n, page in enumerate(booklet.pages)}
    names = booklet.Root.get("/Names")
    dests = names.get("/Dests") if names is not None else None
    found: dict[str, int] = {}
    for name, dest in pikepdf.NameTree(dests).items() if dests is not None else []:
        target: Any = dest.get("/D") if isinstance(dest, pikepdf.Dictionary) else dest
        number = numbers.get(target[0].objgen)
        if number is not None:
            found[str(name)] = number
    return found
