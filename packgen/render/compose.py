"""Booklets from a personal part rendered per member and shared parts rendered once per build.

Most of a booklet (the schedule, links, materials list, study chapters and record sheets) is the
same for every member on a plan, or on a delivery route; laying it out and embedding its fonts again
for each member is most of a booklet's cost. So a booklet is made of several WeasyPrint documents:

- a **shared** document for each *run* of shared sections (sections with nothing personal between
  them), with the booklet's stylesheets and every page margin box empty. It is rendered once for
  each distinct content (keyed by a hash of its HTML), kept as PDF bytes in each process and left
  in a folder for the build's other render processes (:mod:`packgen.render.shared_cache`);
- the **personal** document: the whole booklet with one blank placeholder page where each shared page
  goes. The placeholders carry the shared pages' anchors and bookmarks, so running headers,
  "page X of Y" and links come out as in a full render.

A shared section with links to anchors in the booklet (``href="#…"``: the table of contents) is a run
of its own, rendered for its place in the booklet: its document counts pages from the booklet page the
run starts on, and holds each anchor it links to elsewhere on a page numbered as in the booklet, so
``target-counter()`` prints the booklet's page numbers. It is rendered again only where that place
differs (a member whose personal pages run longer), and its links are kept.

:func:`overlay` then draws each shared page onto its placeholder as a form XObject (pikepdf), without
parsing or rewriting any content stream. The booklet has the same pages, the same text on every page
and the same outline as a plain render of the whole HTML (``tests/test_compose.py`` compares them).
Links on shared pages are kept (a link to an anchor leads to its page). A shared section must not
set running strings (``string-set``) nor continue CSS counters from the personal pages (a run's
document counts from zero).

The template marks what is shared: ``{% call shared() %}<section class="chapter" …>{% endcall %}``.
Each shared section starts on a new page and uses the page style of the pages around it. A run's
document starts on a left- or right-hand page as the run does in the booklet, so mirrored margins stay
right (see ``Renderer._composed``). A section that shows member data is still right, only slow: its
HTML differs per member, so it is rendered per member.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

#: Empties every page margin box of the shared document: headers and footers come from the personal one.
_MARGIN_BOXES = (
    "top-left-corner", "top-left", "top-center", "top-right", "top-right-corner",
    "right-top", "right-middle", "right-bottom", "bottom-right-corner", "bottom-right",
    "bottom-center", "bottom-left", "bottom-left-corner", "left-bottom", "left-middle", "left-top",
)  # fmt: skip
NO_MARGIN_BOXES = "@page { " + " ".join(f"@{box} {{ content: none; }}" for box in _MARGIN_BOXES) + " }"
SECTION_ID = "packgen-shared-{}"  #: the id given to a shared section that has none, to find its first page
#: an HTML comment, so the text checks of the rendered HTML never see it
_TOKEN = "<!--packgen-shared:{}-->"
_TOKEN_RE = re.compile(r"<!--packgen-shared:(\d+)-->")
#: a link to an anchor in the same booklet, and an element's id
_INTERNAL_LINK_RE = re.compile(r"""<a\b[^>]*?\shref\s*=\s*["']?#([^"'\s>]+)""", re.IGNORECASE)
_ID_RE = re.compile(r"""<[a-z][^>]*?\sid\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
STUBS_ID = "packgen-stubs"  #: marks the first page after a run that holds the anchors it links to
_BODY_RE = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_HEAD_END_RE = re.compile(r"</head\s*>", re.IGNORECASE)
#: title and meta tags name the member but do not change a page; the shared document drops them
_HEAD_NOISE_RE = re.compile(r"<title>.*?</title>|<meta\b[^>]*>", re.IGNORECASE | re.DOTALL)
#: styles a template puts in the body apply to the whole booklet: the shared documents get them too
_BODY_STYLE_RE = re.compile(
    r"<style\b[^>]*>.*?</style>|<link\b[^>]*\bstylesheet\b[^>]*>", re.IGNORECASE | re.DOTALL
)


def whole(*_args: Any, caller: Callable[[], str]) -> Markup:
    """The template hook for a plain render: the shared section stays where it is."""
    return Markup(caller())


@dataclass
class Split:
    """A booklet's HTML with its shared sections taken out (see :func:`split`)."""

    personal: str  #: the booklet with a token where each shared section was
    head: str  #: the booklet's head and <body> tag for the shared documents; "" without shared sections
    #: the same with the booklet's page margins (``head`` has none): for documents of margins alone
    plain_head: str = ""
    sections: list[str] = field(default_factory=list)  #: each shared section, with an id on its start
    ids: list[str] = field(default_factory=list)  #: per shared section, the id found on its first page
    #: the shared sections in runs: those with nothing personal between them, rendered as one document
    runs: list[list[int]] = field(default_factory=list)
    #: per run, the anchors elsewhere in the booklet it links to: it is then rendered for its place in
    #: the booklet (see :func:`paged_html_for`); such a run is one section alone
    targets: list[list[str]] = field(default_factory=list)

    def run_html(self, run: int) -> str:
        """The HTML of one run of shared sections: the booklet's head, then the sections alone."""
        return f"{self.head}{''.join(self.sections[i] for i in self.runs[run])}\n</body></html>"


def split(render: Callable[[Callable[..., Markup]], str]) -> Split:
    """Render a booklet's HTML once with ``render(hook)`` and take the shared sections out of it."""
    sections: list[str] = []

    def hook(*_args: Any, caller: Callable[[], str]) -> Markup:
        sections.append(str(caller()))
        return Markup(_TOKEN.format(len(sections) - 1))

    text = render(hook)
    body = _BODY_RE.search(text)
    if body is None or not sections:
        return Split(personal=text, head="")
    head = _HEAD_NOISE_RE.sub("", text[: body.start()])
    styles = "".join(m.group(0) for m in _BODY_STYLE_RE.finditer(text, body.end()))
    marked = [_mark(s, SECTION_ID.format(i)) for i, s in enumerate(sections)]
    linked = [_targets(section) for section, _ in marked]
    runs: list[list[int]] = []
    previous_end, alone = -1, False
    for token in _TOKEN_RE.finditer(text):
        section = int(token.group(1))
        linking = bool(linked[section])  # rendered for its place: a run of its own
        if runs and not text[previous_end : token.start()].strip() and not linking and not alone:
            runs[-1].append(section)
        else:
            runs.append([section])
        previous_end, alone = token.end(), linking
    return Split(
        personal=text,
        head=f"{head}<style>{NO_MARGIN_BOXES}</style>\n{body.group(0)}\n{styles}",
        plain_head=f"{head}\n{body.group(0)}\n{styles}",
        sections=[section for section, _ in marked],
        ids=[anchor for _, anchor in marked],
        runs=runs,
        targets=[[name for i in run for name in linked[i]] for run in runs],
    )


def _targets(section: str) -> list[str]:
    """The anchors ``section`` links to that it does not hold, in order."""
    own = {html.unescape(found) for found in _ID_RE.findall(section)}
    linked = [html.unescape(found) for found in _INTERNAL_LINK_RE.findall(section)]
    return [name for name in dict.fromkeys(linked) if name not in own]


def _mark(section: str, anchor: str) -> tuple[str, str]:
    """The id that finds ``section``'s first page: its first element's, or ``anchor`` added inside it."""
    opening = re.match(r"\s*<[^>]*>", section)
    if opening:
        known = re.search(r"\sid=[\"']?([^\"'\s>]+)", opening.group(0))
        if known:
            return section, html.unescape(known.group(1))
    at = opening.end() if opening else 0
    return f'{section[:at]}<div id="{anchor}"></div>{section[at:]}', anchor


@dataclass
class SharedPart:
    """The shared sections rendered once: their pages, and what each page holds for the placeholders."""

    pdf: bytes
    start: int  #: index of the first section page in ``pdf`` (after blank pages, see :func:`shared_html_for`)
    counts: list[int]  #: pages per section
    anchors: list[list[str]]  #: per section page: the ids on it
    bookmarks: list[list[tuple[int, str]]]  #: per section page: (level, label) of its bookmarks
    #: per section page: where each of its anchors is, as WeasyPrint has it: (x1, y1, x2, y2) in CSS px
    points: list[dict[str, tuple[float, ...]]] = field(default_factory=list)
    #: per section page: its bookmarks as WeasyPrint has them, (level, label, (x, y), state)
    marks: list[list[tuple[int, str, tuple[float, float], str]]] = field(default_factory=list)
    #: per section page: its height in CSS pixels, and its kind (page name, blank) where known
    heights: list[float] = field(default_factory=list)
    kinds: list[tuple[str, bool]] = field(default_factory=list)
    _forms: dict[int, Any] = field(default_factory=dict, repr=False)
    _opened: Any = field(default=None, repr=False)  #: ``pdf`` opened with pikepdf, once

    @property
    def pages(self) -> int:
        return sum(self.counts)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without what is made from ``pdf`` on demand (pikepdf objects do not pickle)."""
        return {**self.__dict__, "_forms": {}, "_opened": None}

    def form(self, index: int) -> tuple[Any, list[Any]]:
        """Section page ``index`` as a form XObject and its web links, made once (pikepdf objects)."""
        import pikepdf

        if index not in self._forms:
            if self._opened is None:
                self._opened = pikepdf.Pdf.open(io.BytesIO(self.pdf))
            shared = self._opened
            page = shared.pages[self.start + index]
            page.contents_coalesce()  # one content stream, whatever the writer made
            form = shared.make_stream(
                b"",
                Type=pikepdf.Name.XObject,
                Subtype=pikepdf.Name.Form,
                BBox=page.mediabox,
                Resources=page.obj.get("/Resources", pikepdf.Dictionary()),
            )
            if "/Contents" in page.obj:  # kept as it is compressed: not inflated and deflated per booklet
                contents = page.obj.Contents
                form.write(
                    contents.read_raw_bytes(),
                    filter=contents.get("/Filter"),
                    decode_parms=contents.get("/DecodeParms"),
                )
            links = [
                shared.make_indirect(pikepdf.Dictionary({k: v for k, v in a.items() if k != "/P"}))
                for a in _links(page)
            ]
            self._forms[index] = (form, links)
        return self._forms[index]


def _links(page: Any) -> list[Any]:
    """The links of a shared page: web links, and links to a named anchor, which the booklet has too."""
    import pikepdf

    return [
        annot
        for annot in page.obj.get("/Annots", [])
        if annot.get("/Subtype") == "/Link"
        and (annot.get("/A", {}).get("/S") == "/URI" or isinstance(annot.get("/Dest"), pikepdf.String))
    ]


def read_shared(
    document: Any, pdf: bytes, ids: list[str], kinds: list[tuple[str, bool]] | None = None
) -> SharedPart:
    """Where each shared section is in a rendered shared document (WeasyPrint ``Document``), with
    ``kinds`` (page name, blank) of the document's pages where known."""
    where: dict[str, int] = {}
    firsts: list[list[str]] = []  #: per page, the ids that first appear on it (a split box repeats its id)
    for number, page in enumerate(document.pages):
        firsts.append([name for name in page.anchors if name not in where])
        where.update((name, number) for name in firsts[-1])
    starts = [where.get(i, -1) for i in ids]
    if -1 in starts or starts != sorted(starts):
        raise ValueError(f"the shared sections {ids} are not each found on their own pages")
    end = where.get(STUBS_ID, len(document.pages))  # the pages after it only hold anchors
    bounds = [*starts, end]
    pages = document.pages[starts[0] : end]
    anchors = firsts[starts[0] : end]
    return SharedPart(
        pdf=pdf,
        start=starts[0],
        counts=[bounds[i + 1] - bounds[i] for i in range(len(ids))],
        anchors=anchors,
        bookmarks=[[(level, label) for level, label, *_ in p.bookmarks] for p in pages],
        points=[{name: p.anchors[name] for name in names} for p, names in zip(pages, anchors, strict=True)],
        marks=[list(p.bookmarks) for p in pages],
        heights=[p.height for p in pages],
        kinds=list(kinds[starts[0] : end]) if kinds else [],
    )


def shared_html_for(shared: str, first_page_left: bool) -> str:
    """The shared document's HTML, after one or two blank pages so the sections start on the right side.

    Starting after a page break also keeps the body's top margin, which only the first page has, off
    the first section, as in the booklet.
    """
    body = _BODY_RE.search(shared)
    assert body is not None
    blank = '<div style="break-after: page"></div>' * (1 if first_page_left else 2)
    return f"{shared[: body.end()]}{blank}{shared[body.end() :]}"


def paged_html_for(shared: str, first_page: int, anchors: dict[str, int]) -> str:
    """The document of a run that links to ``anchors`` (name: booklet page number) elsewhere in the
    booklet, for its place: it starts on booklet page ``first_page`` and on the same side.

    The last blank page before the run sets the page counter to ``first_page - 1``; after the run,
    a page for each page number holds the anchors that are on it in the booklet. ``target-counter()``
    then gives the booklet's numbers; only the run's own pages are drawn into the booklet.
    """
    body = _BODY_RE.search(shared)
    assert body is not None
    numbers = sorted({first_page - 1, *anchors.values()})
    rules = "".join(f"@page packgen-page-{n} {{ counter-reset: page {n}; }}" for n in numbers)
    blank = '<div style="break-after: page"></div>' if first_page % 2 else ""  # the run starts on the right
    blank += f'<div style="break-after: page; page: packgen-page-{first_page - 1}"></div>'
    stubs: list[str] = []
    for number in sorted(set(anchors.values())):
        names = "".join(f'<div id="{html.escape(a)}"></div>' for a, n in anchors.items() if n == number)
        marker = "" if stubs else f'<div id="{STUBS_ID}"></div>'
        stubs.append(f'<div style="break-before: page; page: packgen-page-{number}">{marker}{names}</div>')
    tail = "".join(stubs)
    end = shared.rindex("</body>")
    return (
        f"{shared[: body.end()]}<style>{rules}</style>{blank}{shared[body.end() : end]}{tail}{shared[end:]}"
    )


def anchor_pages(document: Any) -> dict[str, int]:
    """The booklet page number (from 1) each anchor of a rendered document is first found on."""
    where: dict[str, int] = {}
    for number, page in enumerate(document.pages, start=1):
        for name in page.anchors:
            where.setdefault(name, number)
    return where


def with_placeholders(booklet: Split, parts: list[SharedPart]) -> str:
    """The personal HTML: a blank page for every shared page, with that page's anchors and bookmarks.

    ``parts`` holds the rendered run of shared sections for each of ``booklet.runs``. A placeholder
    is as few elements as it can be, styled by class (WeasyPrint reads each ``style`` attribute
    apart): the page's first anchor is its id, each bookmark an empty element whose class gives the
    level and whose ``data-packgen-label`` the title.
    """
    blocks: dict[int, str] = {}
    levels: set[int] = set()
    for run, part in zip(booklet.runs, parts, strict=True):
        page = 0
        for section, count in zip(run, part.counts, strict=True):
            divs = []
            for _ in range(count):
                first, *others = [f' id="{html.escape(a)}"' for a in part.anchors[page]] or [""]
                inner = "".join(f"<div{anchor}></div>" for anchor in others)
                for level, label in part.bookmarks[page]:
                    inner += f'<div class="packgen-bookmark-{level}" data-packgen-label="{html.escape(label)}"></div>'
                    levels.add(level)
                divs.append(f'<div class="packgen-placeholder"{first}>{inner}</div>')
                page += 1
            blocks[section] = "".join(divs)
    rules = ".packgen-placeholder { break-before: page }" + "".join(
        f" .packgen-bookmark-{n} {{ bookmark-level: {n}; bookmark-label: attr(data-packgen-label) }}"
        for n in sorted(levels)
    )
    personal = _TOKEN_RE.sub(lambda m: blocks[int(m.group(1))], booklet.personal)
    head_end = _HEAD_END_RE.search(personal) or _BODY_RE.search(personal)
    assert head_end is not None  # split() found the body
    return f"{personal[: head_end.start()]}<style>{rules}</style>{personal[head_end.start() :]}"


def first_pages(document: Any, booklet: Split) -> list[int]:
    """The index of each run's first placeholder page in a rendered personal document."""
    where = anchor_pages(document)
    return [where[booklet.ids[run[0]]] - 1 for run in booklet.runs]


def overlay(personal_pdf: bytes, parts: list[SharedPart], firsts: list[int]) -> bytes:
    """Draw each run's shared pages onto the personal document's placeholders from page ``firsts[run]``."""
    import pikepdf

    booklet = pikepdf.Pdf.open(io.BytesIO(personal_pdf))
    for run, (part, first) in enumerate(zip(parts, firsts, strict=True)):
        for index in range(part.pages):
            page = booklet.pages[first + index]
            form, links = part.form(index)
            name = f"/PackgenShared{run}_{index}"  # pages may share one resource dictionary
            draw_form(page, booklet.copy_foreign(form), name, pikepdf.Rectangle(page.mediabox))
            if links:
                if "/Annots" not in page.obj:
                    page.obj.Annots = booklet.make_indirect(pikepdf.Array())
                page.obj.Annots.extend(booklet.copy_foreign(link) for link in links)
    return save(booklet)


def draw_form(page: Any, form: Any, name: str, rect: Any) -> None:
    """Draw ``form`` over ``page``, scaled to fit and centred in ``rect``, under a fixed resource name.

    pikepdf's ``add_overlay`` does the same with a random name, which would make rebuilds differ.
    """
    import pikepdf

    placed = page.add_resource(form, pikepdf.Name.XObject, pikepdf.Name(name))
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(b"Q\n" + page.calc_form_xobject_placement(form, placed, rect))
    page.contents_coalesce()


def save(pdf: Any) -> bytes:
    """A pikepdf document's bytes, the same for the same content (no random /ID)."""
    buffer = io.BytesIO()
    pdf.save(buffer, deterministic_id=True)
    return buffer.getvalue()
