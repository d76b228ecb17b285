"""Saddle-stitch imposition for an office duplex printer: two booklet pages a side on a sheet twice
the page size (A5 pages on A4 landscape, A4 on A3, B5 on B4), in the order that printing both sides,
folding the stack in the middle and stapling on the fold gives each booklet in reading order.

For a booklet of ``n`` pages (``n`` a multiple of 4), sheet ``s`` (0 for the outermost) carries on
its front the pages ``n - 2s`` (left) and ``2s + 1`` (right), on its back ``2s + 2`` and
``n - 2s - 1``: for 12 pages the sides read 12|1, 2|11, 10|3, 4|9, 8|5, 6|7. Each booklet is
padded with blank pages to a multiple of 4 and starts on a new sheet. The back of a sheet is drawn
for a printer that turns the sheet over on its short edge; for one that turns it on the long edge,
the backs are drawn upside down (``flip: long_edge``).

Each page is drawn as a form XObject of its trim box (pikepdf), so a print-shop file's bleed and
crop marks are left off; the two pages meet at the fold, the sheet's slack goes to its outer edges.
Fold marks are short lines on the fold at the top and bottom edge; crop marks go round the two
pages only where the sheet leaves at least 3 mm (never for A5 on A4, which leaves 0.5 mm).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pikepdf

MM = 72 / 25.4
#: landscape sheets (width, height) in points
SHEETS = {
    "A4": (297 * MM, 210 * MM),
    "A3": (420 * MM, 297 * MM),
    "B4": (353 * MM, 250 * MM),
    "SRA3": (450 * MM, 320 * MM),
}
#: the sheet twice a page size: (page width, height) in mm -> sheet
_TWICE = {(148, 210): "A4", (210, 297): "A3", (176, 250): "B4"}
MARK_ROOM = 3 * MM  #: the slack a crop mark needs around the two pages
FOLD_MARK = 4 * MM


@dataclass(frozen=True)
class Imposed:
    """What :func:`impose_saddle` wrote."""

    sheets: int  #: sheets of paper (two sides each)
    sheet: str  #: the sheet size's name
    crop_marks: bool  #: whether crop marks were drawn (asked for, and the sheet left room)


def saddle_order(pages: int) -> list[tuple[int, int]]:
    """(left, right) page numbers (1-based) of each sheet side in print order: front, back, front …
    ``pages`` is a multiple of 4."""
    if pages % 4:
        raise ValueError(f"a saddle-stitched booklet has a multiple of 4 pages, not {pages}")
    sides = []
    for sheet in range(pages // 4):
        sides.append((pages - 2 * sheet, 2 * sheet + 1))  # front
        sides.append((2 * sheet + 2, pages - 2 * sheet - 1))  # back
    return sides


def sheet_for(trim: tuple[float, float], sheet: str = "auto") -> str:
    """The sheet's name for pages of ``trim`` (width, height in points): ``auto`` is twice the page."""
    if sheet != "auto":
        return sheet
    size = (round(trim[0] / MM), round(trim[1] / MM))
    if size not in _TWICE:
        raise ValueError(f"no sheet is twice a page of {size[0]} × {size[1]} mm; choose imposition: sheet")
    return _TWICE[size]


def impose_saddle(
    source: Path,
    target: Path | BinaryIO,
    booklets: list[tuple[int, int]],
    *,
    title: str = "",
    sheet: str = "auto",
    flip: str = "short_edge",
    fold_marks: bool = True,
    crop_marks: bool = False,
) -> Imposed:
    """Impose the ``booklets`` of ``source`` ((first page, pages), 1-based) onto ``target``."""
    with pikepdf.Pdf.open(source) as pdf:
        out = pikepdf.Pdf.new()
        first = pdf.pages[booklets[0][0] - 1] if booklets else None
        trim = _trim(first) if first is not None else [0.0, 0.0, 148 * MM, 210 * MM]
        page_w, page_h = trim[2] - trim[0], trim[3] - trim[1]
        name = sheet_for((page_w, page_h), sheet)
        width, height = SHEETS[name]
        scale = min(1.0, width / 2 / page_w, height / page_h)
        slack_x, slack_y = (width - 2 * page_w * scale) / 2, (height - page_h * scale) / 2
        room = crop_marks and min(slack_x, slack_y) >= MARK_ROOM
        marks = _marks(width, height, slack_x, slack_y, fold_marks, room)
        forms: dict[int, pikepdf.Object] = {}
        sides = 0
        for start, count in booklets:
            padded = count + (-count % 4)
            for side, pair in enumerate(saddle_order(padded)):
                drawn = []
                page = out.add_blank_page(page_size=(width, height))
                resources = page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary())
                for slot, number in enumerate(pair):
                    if number > count:
                        continue  # padding: a blank half
                    index = start + number - 2
                    if index not in forms:
                        forms[index] = out.copy_foreign(_form(pdf, pdf.pages[index]))
                    resources.XObject[f"/P{number}"] = forms[index]
                    x0, y0 = _trim(pdf.pages[index])[:2]
                    left = width / 2 - page_w * scale if slot == 0 else width / 2
                    tx, ty = left - x0 * scale, slack_y - y0 * scale
                    drawn.append(f"q {scale:.5f} 0 0 {scale:.5f} {tx:.3f} {ty:.3f} cm /P{number} Do Q\n")
                body = "".join(drawn) + marks
                if flip == "long_edge" and side % 2:
                    body = f"q -1 0 0 -1 {width:.3f} {height:.3f} cm\n{body}Q\n"
                page.obj.Contents = out.make_stream(body.encode())
                sides += 1
        out.docinfo["/Title"] = title or (target.stem if isinstance(target, Path) else "imposed")
        out.docinfo["/Creator"] = "packgen"
        out.save(target, deterministic_id=True)
    return Imposed(sides // 2, name, room)


def _trim(page: pikepdf.Page) -> list[float]:
    return [float(v) for v in page.obj.get("/TrimBox", page.mediabox)]


def _form(pdf: pikepdf.Pdf, page: pikepdf.Page) -> pikepdf.Stream:
    """The page as a form XObject clipped to its trim box (bleed and printer's marks left off)."""
    content = b""
    if "/Contents" in page.obj:
        page.contents_coalesce()
        content = page.obj.Contents.read_bytes()
    form = pdf.make_stream(
        content,
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Form,
        BBox=pikepdf.Array(_trim(page)),
        Resources=page.obj.get("/Resources", pikepdf.Dictionary()),
    )
    if "/Group" in page.obj:
        form.Group = page.obj.Group
    return form


def _marks(width: float, height: float, slack_x: float, slack_y: float, fold: bool, crop: bool) -> str:
    """Fold marks on the fold line at the top and bottom, crop marks round the two pages."""
    ops = []
    if fold:  # in the slack above and below the pages when there is some, else over their margin
        reach = slack_y - 1 * MM if slack_y >= MARK_ROOM else FOLD_MARK
        x = width / 2
        ops += [
            f"{x:.3f} {height:.3f} m {x:.3f} {height - reach:.3f} l S\n",
            f"{x:.3f} 0 m {x:.3f} {reach:.3f} l S\n",
        ]
    if crop:
        x0, y0, x1, y1 = slack_x, slack_y, width - slack_x, height - slack_y
        gap, length = 1 * MM, min(slack_x, slack_y) - 1.5 * MM
        for x, dx in ((x0, -1), (x1, 1)):
            for y, dy in ((y0, -1), (y1, 1)):
                ops.append(f"{x + dx * gap:.3f} {y:.3f} m {x + dx * (gap + length):.3f} {y:.3f} l S\n")
                ops.append(f"{x:.3f} {y + dy * gap:.3f} m {x:.3f} {y + dy * (gap + length):.3f} l S\n")
    return f"q 0.3 w 0 G [] 0 d\n{''.join(ops)}Q\n" if ops else ""
