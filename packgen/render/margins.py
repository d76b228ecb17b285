"""Page margins for a composed booklet, without laying out a page for each shared page.

A booklet's margin boxes show two kinds of things. What the member's own pages set (running strings:
the member's name, the plan's label) is the same on every page of a run of shared sections, since a
shared section sets none (:mod:`packgen.render.preconditions`). Page numbers ("第 X 页 / 共 Y 页")
differ from page to page, but not from member to member: every booklet of a plan with the same
number of pages has the same numbers on the same pages. So a booklet is put together from:

- the member's **own document**: the personal pages, and in place of each run of shared pages one
  *stand-in* page, all without the margin boxes that show page numbers. A stand-in page is blank
  but for the margins the member's strings give it: they are drawn on each page of the run. When
  left- and right-hand pages may differ (mirrored margins, a break to a right-hand page), a run has
  a stand-in for each side of the sheet it covers (one to three, keeping the pages after the run on
  their side);
- the **shared runs**, rendered once without margins (:mod:`packgen.render.compose`);
- the **numbers sheet**: a document with as many pages as the booklet, of the same kinds, showing
  only the margin boxes with page numbers, rendered once for all booklets alike and drawn on every
  page of each of them.

The margin boxes are split by edge: a box with page numbers takes every box on its edge of the page
to the numbers sheet, so boxes that share an edge are still laid out together. A template whose
margin boxes show strings and numbers on one edge, that marks a margin declaration ``!important``,
whose shared pages are named pages, or that makes blank pages, is composed the former way (a blank
placeholder page for each shared page), which is always right.

The outline and the anchors links lead to are written from what each document knows of its pages,
as WeasyPrint would have written them for the whole booklet.
"""

from __future__ import annotations

import html as html_text
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tinycss2
import tinyhtml5

from packgen.render.compose import SharedPart, Split, draw_form, save
from packgen.render.stylesheet_sources import stylesheets

#: margin boxes by the edge (or corner) they share: boxes of one edge are laid out together
_EDGES: dict[str, tuple[str, ...]] = {
    "top": ("top-left", "top-center", "top-right"),
    "bottom": ("bottom-left", "bottom-center", "bottom-right"),
    "left": ("left-top", "left-middle", "left-bottom"),
    "right": ("right-top", "right-middle", "right-bottom"),
    **{corner: (corner,) for corner in ("top-left-corner", "top-right-corner", "bottom-left-corner", "bottom-right-corner")},
}  # fmt: skip
_BOX_EDGE = {box: edge for edge, boxes in _EDGES.items() for box in boxes}
STANDIN_ID = "packgen-run-{}"  #: the id on the first stand-in page of each run
_HEAD_END_RE = re.compile(r"</head\s*>", re.IGNORECASE)
_BODY_RE = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_TOKEN_RE = re.compile(r"<!--packgen-shared:(\d+)-->")
_SCALE = 0.75  #: PDF points per CSS pixel


@dataclass(frozen=True)
class MarginPlan:
    """Which margin boxes show page numbers (drawn from the numbers sheet) and which the rest."""

    numbers: tuple[str, ...]
    others: tuple[str, ...]

    def own_css(self) -> str:
        """For the member's own document: no margin box that shows page numbers."""
        return _off(self.numbers)

    def sheet_css(self) -> str:
        """For the numbers sheet: nothing but the margin boxes that show page numbers."""
        page = "background: none !important; border: none !important; marks: none !important;"
        return f"@page {{ {page} }}" + _off(self.others)


def _off(boxes: Sequence[str]) -> str:
    return "@page { " + " ".join(f"@{box} {{ content: none !important; }}" for box in boxes) + " }"


def plan_margins(head: str, base_url: str, readable: tuple[Path, ...]) -> MarginPlan | None:
    """How to split ``head``'s margin boxes (the booklet's head, ending with its ``<body>`` tag), or
    None when its stylesheets do not allow it (see the module's text) or cannot all be read here."""
    sheets, unread = stylesheets(tinyhtml5.parse(f"{head}</body></html>"), base_url, readable)
    if unread:
        return None
    shows: dict[str, set[str]] = {edge: set() for edge in _EDGES}
    for _, css in sheets:
        for box, what in _margin_contents(css):
            if what == "unknown":
                return None
            shows[_BOX_EDGE[box]].add(what)
    if any({"string", "number"} <= found for found in shows.values()):
        return None
    numbers = tuple(box for edge, boxes in _EDGES.items() if "number" in shows[edge] for box in boxes)
    others = tuple(box for boxes in _EDGES.values() for box in boxes if box not in numbers)
    return MarginPlan(numbers, others)


def _margin_contents(css: str) -> list[tuple[str, str]]:
    """(margin box, what its content shows: string, number, static or unknown) for every margin box
    declared in ``css``'s page rules; ``unknown`` also for a page rule with an ``!important``."""
    found: list[tuple[str, str]] = []
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type != "at-rule" or rule.content is None:
            continue
        if rule.lower_at_keyword == "media":
            found += _margin_contents(tinycss2.serialize(rule.content))
        elif rule.lower_at_keyword == "page":
            for item in tinycss2.parse_blocks_contents(
                rule.content, skip_comments=True, skip_whitespace=True
            ):
                if item.type == "declaration" and item.important:
                    found.append(("top-left", "unknown"))
                elif item.type == "at-rule" and item.lower_at_keyword in _BOX_EDGE and item.content:
                    found += [(item.lower_at_keyword, _shows(d)) for d in _declarations(item.content)]
    return found


def _declarations(content: list[Any]) -> list[Any]:
    items = tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True)
    return [d for d in items if d.type == "declaration" and (d.lower_name == "content" or d.important)]


def _shows(declaration: Any) -> str:
    if declaration.important:
        return "unknown"
    functions = {t.lower_name for t in declaration.value if t.type == "function"}
    if functions & {"target-counter", "target-counters", "target-text", "leader"}:
        return "unknown"
    if functions & {"counter", "counters"}:
        return "number"
    if functions & {"string", "element", "attr"}:
        return "string"
    return "static"


def standins(pages: int, sided: bool = True) -> int:
    """Stand-in pages for a run of ``pages``: one, or where the sides of the sheet may differ
    (``sided``), one per side it covers, as many as keep the parity of the pages after it."""
    if not sided:
        return 1
    return 1 if pages == 1 else 2 if pages % 2 == 0 else 3


def own_html(booklet: Split, parts: list[SharedPart], plan: MarginPlan, sided: bool = True) -> str:
    """The member's own document: the personal HTML with each run's sections replaced by its
    stand-in pages, and no margin box that shows page numbers."""
    blocks: dict[int, str] = {}
    for run, (sections, part) in enumerate(zip(booklet.runs, parts, strict=True)):
        first = f'<div class="packgen-standin" id="{STANDIN_ID.format(run)}"></div>'
        more = standins(part.pages, sided) - 1
        blocks[sections[0]] = first + '<div class="packgen-standin"></div>' * more
        blocks.update((section, "") for section in sections[1:])
    personal = _TOKEN_RE.sub(lambda m: blocks[int(m.group(1))], booklet.personal)
    css = f"<style>.packgen-standin {{ break-before: page }} {plan.own_css()}</style>"
    head_end = _HEAD_END_RE.search(personal) or _BODY_RE.search(personal)
    assert head_end is not None  # split() found the body
    return f"{personal[: head_end.start()]}{css}{personal[head_end.start() :]}"


@dataclass
class Layout:
    """Where the pages of the member's own document and of each run go in the booklet."""

    total: int  #: pages in the booklet
    own: list[int]  #: per page of the own document: its booklet index, or -1 for a stand-in
    firsts: list[int]  #: per run: the booklet index of its first page
    standins: list[list[int]]  #: per run: the own document's pages that stand in for it
    kinds: list[tuple[str, bool]]  #: per booklet page: (page name, blank)


def lay_out(
    document: Any,
    own_kinds: list[tuple[str, bool]],
    booklet: Split,
    parts: list[SharedPart],
    sided: bool = True,
) -> Layout | None:
    """The booklet's layout from the member's own document laid out (with the stand-ins
    :func:`own_html` made for ``sided``); None when it has blank pages, or a run's pages are named
    pages or their kinds are not known (composed the former way then)."""
    where = {name: number for number, page in enumerate(document.pages) for name in page.anchors}
    starts = [where.get(STANDIN_ID.format(run), -1) for run in range(len(booklet.runs))]
    if -1 in starts or starts != sorted(starts):
        return None
    own, kinds, firsts, stands = [], [], [], []
    run, offset, skip = 0, 0, 0
    for number, kind in enumerate(own_kinds):
        if skip:
            own.append(-1)
            skip -= 1
            continue
        if run < len(starts) and number == starts[run]:
            part = parts[run]
            if len(part.kinds) != part.pages or any(name or blank for name, blank in part.kinds):
                return None
            firsts.append(number + offset)
            count = standins(part.pages, sided)
            stands.append(list(range(number, number + count)))
            kinds += part.kinds
            offset += part.pages - count
            skip = count - 1
            own.append(-1)
            run += 1
            continue
        own.append(number + offset)
        kinds.append(kind)
    if run != len(starts) or any(blank for _, blank in kinds):
        return None
    return Layout(len(kinds), own, firsts, stands, kinds)


def anchor_pages(layout: Layout, document: Any, parts: list[SharedPart]) -> dict[str, int]:
    """The booklet page number (from 1) each anchor is first found on."""
    found: dict[str, int] = {}
    for index, anchors in sorted(_anchors(layout, document, parts)):
        for name in anchors:
            found.setdefault(name, index + 1)
    return found


def _anchors(layout: Layout, document: Any, parts: list[SharedPart]) -> list[tuple[int, dict[str, Any]]]:
    """(booklet index, {anchor: (x, y)}) of every page of the booklet that holds anchors."""
    pages = [
        (index, page.anchors) for index, page in zip(layout.own, document.pages, strict=True) if index >= 0
    ]
    for part, first in zip(parts, layout.firsts, strict=True):
        pages += [(first + n, points) for n, points in enumerate(part.points)]
    return pages


def sheet_html(plain_head: str, plan: MarginPlan, kinds: list[tuple[str, bool]]) -> str:
    """The numbers sheet for a booklet whose pages are of ``kinds``: its page numbers, nothing else."""
    pages = "".join(
        f'<div style="page: {html_text.escape(name) if name else "auto"}'
        f'{"; break-before: page" if index else ""}"></div>'
        for index, (name, _) in enumerate(kinds)
    )
    return f"{plain_head}<style>{plan.sheet_css()}</style>{pages}</body></html>"


@dataclass
class _Page:
    """What the outline and anchors need of a booklet page (as a laid-out WeasyPrint page has it)."""

    bookmarks: list[Any]
    height: float


def assemble(
    own_pdf: bytes,
    document: Any,
    layout: Layout,
    parts: list[SharedPart],
    sheet: SharedPart,
    bookmark_tree: Any,
) -> bytes:
    """The booklet: the own document's pages with the numbers drawn on, and for each run its shared
    pages, each drawn over the stand-in's margins and the numbers; then its outline and anchors.

    ``bookmark_tree`` is the engine's (WeasyPrint's outline from the pages' bookmarks)."""
    import pikepdf

    booklet = pikepdf.Pdf.open(io.BytesIO(own_pdf))
    own_pages = list(booklet.pages)
    for number, index in enumerate(layout.own):
        if index >= 0:  # the own pages share one resource dictionary: a name per page
            form, _ = sheet.form(index)
            page = own_pages[number]
            draw_form(page, booklet.copy_foreign(form), f"/PackgenNumbers{index}", _box(page))
    made: list[list[Any]] = []
    for run, (part, first) in enumerate(zip(parts, layout.firsts, strict=True)):
        sides = [own_pages[n].as_form_xobject() for n in layout.standins[run][:2]]
        pages = []
        for index in range(part.pages):
            stand_in = own_pages[layout.standins[run][0]]
            page = pikepdf.Page(booklet.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Page)))
            for box in ("/MediaBox", "/CropBox", "/BleedBox", "/TrimBox", "/ArtBox"):
                if box in stand_in.obj:
                    page.obj[box] = stand_in.obj[box]
            numbers, _ = sheet.form(first + index)
            shared, links = part.form(index)
            _draw(booklet, page, [
                (sides[index % len(sides)], f"/PackgenMargins{run}_{index % len(sides)}"),
                (booklet.copy_foreign(numbers), "/PackgenNumbers"),
                (booklet.copy_foreign(shared), f"/PackgenShared{run}_{index}"),
            ])  # fmt: skip
            if links:
                page.obj.Annots = booklet.make_indirect(
                    pikepdf.Array(booklet.copy_foreign(link) for link in links)
                )
            pages.append(page)
        made.append(pages)
    for run in reversed(range(len(parts))):
        for number in reversed(layout.standins[run]):
            del booklet.pages[number]
    for run, pages in enumerate(made):
        for offset, page in enumerate(pages):
            booklet.pages.insert(layout.firsts[run] + offset, page)
    _outline_and_anchors(booklet, document, layout, parts, bookmark_tree)
    return save(booklet)


def _box(page: Any) -> Any:
    import pikepdf

    return pikepdf.Rectangle(page.mediabox)


def _draw(pdf: Any, page: Any, forms: list[tuple[Any, str]]) -> None:
    """``forms`` drawn on an empty ``page`` in order, each placed as :func:`compose.draw_form` places one."""
    import pikepdf

    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary())
    content = b""
    for form, name in forms:
        page.obj.Resources.XObject[name] = form
        content += b"q\n" + page.calc_form_xobject_placement(form, pikepdf.Name(name), _box(page)) + b"\nQ\n"
    page.obj.Contents = pdf.make_stream(content)


def _outline_and_anchors(
    booklet: Any, document: Any, layout: Layout, parts: list[SharedPart], tree: Any
) -> None:
    """The booklet's outline and named destinations, as WeasyPrint writes them for a whole render."""
    import pikepdf

    pages: list[_Page] = [_Page([], 0.0) for _ in range(layout.total)]
    for index, page in zip(layout.own, document.pages, strict=True):
        if index >= 0:
            pages[index] = _Page(list(page.bookmarks), page.height)
    for part, first in zip(parts, layout.firsts, strict=True):
        for n, (marks, height) in enumerate(zip(part.marks, part.heights, strict=True)):
            pages[first + n] = _Page(marks, height)
    references = [page.obj for page in booklet.pages]
    if "/Outlines" in booklet.Root:
        del booklet.Root["/Outlines"]
    outlines, count = _outlines(booklet, tree(pages), references)
    if outlines:
        top = booklet.make_indirect(pikepdf.Dictionary(Count=count, First=outlines[0], Last=outlines[-1]))
        for outline in outlines:
            outline.Parent = top
        booklet.Root.Outlines = top
    names: dict[str, Any] = {}
    for index, anchors in sorted(_anchors(layout, document, parts), key=lambda item: item[0]):
        for name, (x, y, *_) in anchors.items():
            if name not in names and not name.startswith("packgen-run-"):
                height = pages[index].height
                names[name] = pikepdf.Array(
                    [references[index], pikepdf.Name.XYZ, x * _SCALE, (height - y) * _SCALE, 0]
                )
    if "/Names" in booklet.Root and "/Dests" in booklet.Root.Names:
        del booklet.Root.Names["/Dests"]
    if names:
        if "/Names" not in booklet.Root:
            booklet.Root.Names = pikepdf.Dictionary()
        flat = [item for name in sorted(names) for item in (pikepdf.String(name), names[name])]
        booklet.Root.Names.Dests = pikepdf.Dictionary(Names=pikepdf.Array(flat))


def _outlines(
    pdf: Any, bookmarks: list[Any], references: list[Any], parent: Any = None
) -> tuple[list[Any], int]:
    """WeasyPrint's ``add_outlines``, writing with pikepdf: (outline items, their visible count)."""
    import pikepdf

    count, outlines = len(bookmarks), list[Any]()
    for title, (page, x, y), children, state in bookmarks:
        outline = pdf.make_indirect(
            pikepdf.Dictionary(
                Title=pikepdf.String(title), Dest=pikepdf.Array([references[page], pikepdf.Name.XYZ, x, y, 0])
            )
        )
        kids, kids_count = _outlines(pdf, children, references, outline)
        outline.Count = -kids_count if state == "closed" else kids_count
        if state != "closed":
            count += kids_count
        if outlines:
            outline.Prev = outlines[-1]
            outlines[-1].Next = outline
        if kids:
            outline.First, outline.Last = kids[0], kids[-1]
        if parent is not None:
            outline.Parent = parent
        outlines.append(outline)
    return outlines, count
