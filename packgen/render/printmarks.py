"""Bleed and printer's marks for the print shop, drawn onto a finished booklet.

WeasyPrint 70 draws CSS ``marks: crop cross`` as the first thing on a page, inside its bleed, so
anything that runs into the bleed (the cover's red band) paints over them; and it caps the
BleedBox it writes at 10 pt (3.53 mm) from the trim, whatever the ``bleed:``. So the booklet is
rendered with ``bleed:`` alone and this module, after the shared pages are composed and the
courseware added, gives every page:

* a BleedBox of the trim plus the whole bleed, the TrimBox left as the page size;
* a sheet (MediaBox) grown by the bleed, a gap and the marks' length, when there are marks;
* its content clipped to the BleedBox, then the marks drawn after it, on top, outside the bleed:
  crop marks at the corners on the trim lines, a registration target in the middle of each side.

Marks are 0.25 pt lines in the registration colour (``/Separation /All``: on every plate). Nothing
moves (the origin stays), so links, bookmarks and text positions are untouched.
"""

from __future__ import annotations

from typing import Any

import pikepdf

MM = 72 / 25.4
MARK_LENGTH = 5 * MM  #: how long a crop mark is
MARK_GAP = 2 * MM  #: between the trim line and a mark, at the least (a mark never enters the bleed)
LINE_WIDTH = 0.25  #: points


def slug(bleed: float) -> float:
    """How far the sheet reaches beyond the trim on each side when marks are drawn (points)."""
    return max(bleed, MARK_GAP) + MARK_LENGTH + 1 * MM


def mark_pages(pdf: pikepdf.Pdf, bleed: float, marks: bool) -> None:
    """Set every page's BleedBox to the trim plus ``bleed`` (points); with ``marks``, grow the sheet
    and draw crop marks and registration targets outside the bleed, on top of the page."""
    colour = _registration(pdf) if marks else None
    offset = max(bleed, MARK_GAP)
    for page in pdf.pages:
        trim = [float(v) for v in page.obj.get("/TrimBox", page.mediabox)]
        x0, y0, x1, y1 = trim
        bleed_box = [x0 - bleed, y0 - bleed, x1 + bleed, y1 + bleed]
        page.obj.TrimBox = pikepdf.Array(trim)
        page.obj.BleedBox = pikepdf.Array(bleed_box)
        if colour is None:
            continue
        reach = slug(bleed)
        page.obj.MediaBox = pikepdf.Array([x0 - reach, y0 - reach, x1 + reach, y1 + reach])
        if "/CropBox" in page.obj:
            del page.obj["/CropBox"]  # the whole sheet, marks included, is what a viewer and a RIP show
        bx0, by0, bx1, by1 = bleed_box
        clip = f"q {bx0:.3f} {by0:.3f} {bx1 - bx0:.3f} {by1 - by0:.3f} re W n\n"
        page.contents_add(clip.encode(), prepend=True)
        name = page.add_resource(colour, pikepdf.Name.ColorSpace, pikepdf.Name("/PackgenRegistration"))
        ops = _marks(trim, offset)
        page.contents_add(f"Q\nq {LINE_WIDTH} w {name} CS 1 SCN 0 J [] 0 d\n{ops}Q\n".encode())
        page.contents_coalesce()


def _registration(pdf: pikepdf.Pdf) -> pikepdf.Array:
    """The registration colour: a separation every plate prints (``/All``), black on a CMYK proof."""
    tint = pdf.make_indirect(
        pikepdf.Dictionary(FunctionType=2, Domain=[0, 1], C0=[0, 0, 0, 0], C1=[1, 1, 1, 1], N=1)
    )
    return pikepdf.Array([pikepdf.Name.Separation, pikepdf.Name.All, pikepdf.Name.DeviceCMYK, tint])


def _marks(trim: list[float], offset: float) -> str:
    """Drawing operators: a crop mark on each trim line at each corner, a target on each side."""
    x0, y0, x1, y1 = trim
    ops: list[str] = []
    for x, dx in ((x0, -1), (x1, 1)):
        for y, dy in ((y0, -1), (y1, 1)):
            ops.append(_line(x + dx * offset, y, x + dx * (offset + MARK_LENGTH), y))
            ops.append(_line(x, y + dy * offset, x, y + dy * (offset + MARK_LENGTH)))
    radius, centre = MARK_LENGTH * 0.35, offset + MARK_LENGTH / 2
    mid_x, mid_y = (x0 + x1) / 2, (y0 + y1) / 2
    for tx, ty in ((mid_x, y1 + centre), (mid_x, y0 - centre), (x0 - centre, mid_y), (x1 + centre, mid_y)):
        ops.append(_circle(tx, ty, radius))
        ops.append(_line(tx - radius * 1.4, ty, tx + radius * 1.4, ty))
        ops.append(_line(tx, ty - radius * 1.4, tx, ty + radius * 1.4))
    return "".join(ops)


def _line(xa: float, ya: float, xb: float, yb: float) -> str:
    return f"{xa:.3f} {ya:.3f} m {xb:.3f} {yb:.3f} l S\n"


def _circle(cx: float, cy: float, r: float) -> str:
    k = 0.5523 * r  # four Bézier quarters
    points: list[Any] = [
        (cx + r, cy + k, cx + k, cy + r, cx, cy + r),
        (cx - k, cy + r, cx - r, cy + k, cx - r, cy),
        (cx - r, cy - k, cx - k, cy - r, cx, cy - r),
        (cx + k, cy - r, cx + r, cy - k, cx + r, cy),
    ]
    curves = "".join("{:.3f} {:.3f} {:.3f} {:.3f} {:.3f} {:.3f} c ".format(*p) for p in points)
    return f"{cx + r:.3f} {cy:.3f} m {curves}h S\n"
