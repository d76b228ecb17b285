"""The fast path (shared chapters rendered once, drawn onto each member's placeholder pages) prints
exactly what a plain render of the whole booklet prints: page count, text of every page, outline."""

from __future__ import annotations

import html
import io
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, requires_poppler
from pypdf import PdfReader, PdfWriter

from packgen.build import read_and_assign
from packgen.config import load_config
from packgen.content.plans import booklet_content
from packgen.render import Renderer, compose, margins
from packgen.render.shared_cache import SharedCache

pytestmark = requires_poppler

#: delivered on two routes (their schedules differ: one renderer must not mix them up) and online (QR
#: codes): the delivery table, the schedule, links and every chapter
PLAN_MEMBERS = ("QS0001", "QS0014", "QS0036")


def contents(config, ids):  # type: ignore[no-untyped-def]
    _, assigned = read_and_assign(config, [ROOT / "profiles"])
    chosen = {m.id: (m, a) for m, a in assigned if m.id in ids}
    return [booklet_content(config, *chosen[i]) for i in ids]


def pages_text(pdf: Path) -> list[list[tuple[str, float, float]]]:
    """Every word of every page with where it is printed (poppler's ``pdftotext -bbox``)."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True)
    pages = out.stdout.split("<page ")[1:]
    return [
        [(html.unescape(w), round(float(x), 1), round(float(y), 1)) for x, y, w in WORD.findall(page)]
        for page in pages
    ]


WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>')


def outline(data: bytes) -> list[tuple[str, int]]:
    reader = PdfReader(io.BytesIO(data))
    flat: list[tuple[str, int]] = []

    def walk(items: list) -> None:  # type: ignore[type-arg]
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                flat.append((item.title, reader.get_destination_page_number(item)))

    walk(reader.outline)
    return flat


def fast_and_full(config, content, tmp_path: Path, renderer: Renderer | None = None):  # type: ignore[no-untyped-def]
    renderer = renderer or Renderer(config)
    fast = renderer.pdf(content)
    renderer.fast = False
    full = renderer.pdf(content)
    renderer.fast = True
    (tmp_path / "fast.pdf").write_bytes(fast)
    (tmp_path / "full.pdf").write_bytes(full)
    return fast, full


def test_fast_booklets_read_like_full_renders(tmp_path: Path) -> None:
    config = load_config(workspace=tmp_path)
    renderer = Renderer(config)
    lengths = set()
    for content in contents(config, PLAN_MEMBERS):
        fast, full = fast_and_full(config, content, tmp_path, renderer)
        fast_pages, full_pages = pages_text(tmp_path / "fast.pdf"), pages_text(tmp_path / "full.pdf")
        assert len(fast_pages) == len(full_pages) >= 20
        lengths.add(len(fast_pages))
        for number, (got, want) in enumerate(zip(fast_pages, full_pages, strict=True), start=1):
            assert got == want, f"{content.member.id} page {number} differs"
        assert outline(fast) == outline(full)
        assert internal_links(fast) == internal_links(full) != []  # the contents page's entries
        combined = PdfWriter()  # as a print run combines booklets
        combined.append(PdfReader(io.BytesIO(fast)))
        combined.write(io.BytesIO())
        words = [" ".join(w for w, _, _ in page) for page in fast_pages]
        chapter_page = next(page for page in words if "第一章" in page.split())
        assert content.member.name in chapter_page and f"共 {len(fast_pages)} 页" in chapter_page
    # the default pages are the same on both sides: each distinct run was rendered once, for one
    # side; the table of contents (it links elsewhere in the booklet) once as it first came, then
    # once for its place, the same for all members on one plan; and the page numbers once for each
    # length of booklet
    runs: set[str] = set()
    linking: set[str] = set()
    for content in contents(config, PLAN_MEMBERS):
        booklet = compose.split(lambda hook, content=content: renderer._html(content, hook))
        for run in range(len(booklet.runs)):
            (linking if booklet.targets[run] else runs).add(booklet.run_html(run))
    assert linking and len(runs) >= 4
    assert len(renderer._shared) == len(runs) + 2 * len(linking) + len(lengths)


def test_fast_booklets_of_the_custom_template_example_read_like_full_renders(tmp_path: Path) -> None:
    # a page added after the letter, a stylesheet of its own and an image from the workspace
    example = ROOT / "examples" / "custom-template"
    config = load_config(workspace=example)
    _, assigned = read_and_assign(config, [example / "profiles"])
    firsts = {a.plan: (m, a) for m, a in reversed(assigned)}
    assert len(firsts) == 3
    renderer = Renderer(config)
    for member, assignment in firsts.values():
        content = booklet_content(config, member, assignment)
        fast, _ = fast_and_full(config, content, tmp_path, renderer)
        fast_pages, full_pages = pages_text(tmp_path / "fast.pdf"), pages_text(tmp_path / "full.pdf")
        assert len(fast_pages) == len(full_pages) >= 20
        assert fast_pages == full_pages, f"{member.id}: the fast booklet differs from the whole render"
        assert "支部书记寄语" in " ".join(w for w, _, _ in fast_pages[2])
    assert renderer.fallbacks == 0 and not any(renderer._breaches.values()) and len(renderer._shared) >= 4


def test_render_workers_of_one_build_render_each_shared_run_once(tmp_path: Path) -> None:
    config = load_config(workspace=tmp_path)
    folder = tmp_path / "shared"
    folder.mkdir()
    (content,) = contents(config, PLAN_MEMBERS[2:])
    first = Renderer(config, shared_folder=folder)
    booklet = first.pdf(content)
    runs = len(list(folder.glob("*.part")))
    assert runs == len(first._shared) >= 1

    second = Renderer(config, shared_folder=folder)  # another worker process of the same build
    rendered: list[str] = []
    document = second._document
    second._document = lambda html: rendered.append(html) or document(html)  # type: ignore[method-assign]
    assert second.pdf(content) == booklet
    assert len(rendered) == 1 and compose.NO_MARGIN_BOXES not in rendered[0]  # only the personal part
    assert len(list(folder.glob("*.part"))) == runs


def test_a_shared_folder_that_is_gone_costs_time_not_the_booklet(tmp_path: Path) -> None:
    cache = SharedCache(folder=tmp_path / "removed")
    made: list[str] = []

    def render(html: str) -> compose.SharedPart:
        made.append(html)
        return compose.SharedPart(pdf=b"%PDF", start=1, counts=[1], anchors=[["a"]], bookmarks=[[]])

    part = cache.get("<html><body><section>x</section></body></html>", render)
    assert part.counts == [1] and len(made) == 1
    assert cache.get("<html><body><section>x</section></body></html>", render) is part


MIRRORED_CSS = """
@import url("builtin.css");
@page :left { margin-left: 26mm; margin-right: 10mm; }
@page :right { margin-left: 10mm; margin-right: 26mm; }
"""

CHAPTER = """# A chapter "quoted" \\ with a link

Read [the course](https://study.example.org/course) online.

## Part one

{body}

## Part two: 'the end'

{body}
"""


def mirrored_workspace(tmp_path: Path, letter_repeats: int) -> Path:
    """A workspace whose pages have mirrored margins and whose one chapter holds a web link."""
    (tmp_path / "templates").mkdir(parents=True)
    (tmp_path / "templates" / "builtin.css").write_text(
        (ROOT / "templates" / "print.css").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "templates" / "print.css").write_text(MIRRORED_CSS, encoding="utf-8")
    body = " ".join(["The text of a long chapter that runs over several pages."] * 60)
    (tmp_path / "chapter.md").write_text(CHAPTER.format(body=body), encoding="utf-8")
    config = yaml.safe_load((ROOT / "packgen" / "config" / "default_config.yaml").read_text(encoding="utf-8"))
    for plan in config["plans"].values():
        plan["materials"] = ["chapter.md"]
        plan["summary"] = "请按周学习。" * letter_repeats
    (tmp_path / "packgen.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return tmp_path


def test_chapters_keep_their_side_links_and_quoted_titles(tmp_path: Path) -> None:
    """A longer letter moves the chapters to the other side of the sheet: the shared part follows."""
    sides = set()
    for repeats in (1, 150):
        config = load_config(workspace=mirrored_workspace(tmp_path / str(repeats), repeats))
        (content,) = contents(config, ("QS0036",))
        assert [m.path.name for m in content.materials] == ["chapter.md"]
        fast, full = fast_and_full(config, content, tmp_path)
        assert pages_text(tmp_path / "fast.pdf") == pages_text(tmp_path / "full.pdf")
        assert outline(fast) == outline(full)
        chapter_page = dict(outline(full))['A chapter "quoted" \\ with a link']
        sides.add(chapter_page % 2)
        assert uris(fast) == uris(full) != []
        assert internal_links(fast) == internal_links(full) != []
    assert sides == {0, 1}
    assert Renderer(config).pdf(content) == fast  # same inputs, byte-identical booklets


def uris(data: bytes) -> list[tuple[int, str]]:
    reader = PdfReader(io.BytesIO(data))
    return [
        (n, a.get_object()["/A"]["/URI"])
        for n, page in enumerate(reader.pages)
        for a in page.get("/Annots") or []
        if "/URI" in a.get_object().get("/A", {})
    ]


def internal_links(data: bytes) -> list[tuple[int, list[float], int, float]]:
    """(page, where, page linked to, height there) of every link to an anchor in the booklet."""
    reader = PdfReader(io.BytesIO(data))
    names = reader.named_destinations
    found = []
    for n, page in enumerate(reader.pages):
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if "/Dest" in annot:
                dest = names[str(annot["/Dest"])]
                rect = [round(float(v), 1) for v in annot["/Rect"]]
                found.append((n, rect, reader.get_destination_page_number(dest), round(float(dest.top), 1)))
    return found


def with_template(tmp_path: Path, blocks: str):  # type: ignore[no-untyped-def]
    """The config of a workspace whose booklet template extends the built-in one with ``blocks``."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "booklet.html.j2").write_text(
        '{% extends "builtin/booklet.html.j2" %}\n' + blocks, encoding="utf-8"
    )
    return load_config(workspace=tmp_path)


def test_split_takes_the_shared_sections_out() -> None:
    split = compose.split(lambda hook: "<html><body><p>only personal</p></body></html>")
    assert split.ids == [] and split.runs == [] and split.head == ""
    split = compose.split(
        lambda hook: (
            "<html><head><title>Ann</title></head><body>"
            + str(hook(caller=lambda: '<section id="c1">one</section>'))
            + str(hook(caller=lambda: "<section>two</section>"))
            + "</body></html>"
        )
    )
    assert split.ids == ["c1", "packgen-shared-1"] and split.runs == [[0, 1]]
    assert "Ann" not in split.run_html(0) and "one" not in split.personal
    assert '<section><div id="packgen-shared-1"></div>two</section>' in split.run_html(0)


def test_shared_sections_with_personal_pages_between_them_are_separate_runs() -> None:
    def render(hook):  # type: ignore[no-untyped-def]
        one, two, three = (hook(caller=lambda n=n: f'<section id="s{n}">{n}</section>') for n in (1, 2, 3))
        return f"<html><body>{one}\n  {two}<section>personal</section>{three}</body></html>"

    split = compose.split(render)
    assert split.runs == [[0, 1], [2]]
    assert ">1</section>" in split.run_html(0) and ">2</section>" in split.run_html(0)
    assert ">3</section>" in split.run_html(1) and ">1</section>" not in split.run_html(1)


def test_a_shared_section_linking_elsewhere_is_rendered_for_its_place_in_the_booklet() -> None:
    from weasyprint import HTML

    def render(hook):  # type: ignore[no-untyped-def]
        toc = hook(
            caller=lambda: (
                '<section id="toc"><a href="#s1">1</a> <a href="#toc">2</a> <a href="#me">3</a></section>'
            )
        )
        one = hook(caller=lambda: '<section id="s1">one</section>')
        style = "<style>a::after { content: '/' target-counter(attr(href url), page) }</style>"
        return f'<html><head>{style}</head><body><p id="me">personal</p>{toc}{one}</body></html>'

    split = compose.split(render)
    assert split.runs == [[0], [1]]  # the linking section is a run of its own
    assert split.targets[0] == ["s1", "me"] and split.targets[1] == []
    for first_page, start in (
        (5, 2),
        (6, 1),
    ):  # a right-hand page after two blank pages, a left one after one
        document = HTML(
            string=compose.paged_html_for(split.run_html(0), first_page, {"s1": 9, "me": 2})
        ).render()
        part = compose.read_shared(document, document.write_pdf(), ["toc"])
        assert (part.start, part.counts, part.anchors) == (start, [1], [["toc"]])
        text = PdfReader(io.BytesIO(part.pdf)).pages[start].extract_text()
        assert text.split() == ["1/9", f"2/{first_page}", "3/2"]


def test_a_contents_page_placed_elsewhere_for_another_member_shows_its_own_page_numbers(
    tmp_path: Path,
) -> None:
    config = with_template(
        tmp_path,
        '{% block letter %}<section class="part letter" id="letter">'
        "{% for _ in range(member.id[-1] | int * 30) %}<p>一段信。</p>{% endfor %}</section>{% endblock %}",
    )
    renderer = Renderer(config)
    places = []
    for content in contents(config, ("QS0001", "QS0002")):  # same plan and chapters, longer letter
        fast, full = fast_and_full(config, content, tmp_path, renderer)
        assert pages_text(tmp_path / "fast.pdf") == pages_text(tmp_path / "full.pdf")
        assert internal_links(fast) == internal_links(full) != []
        places.append(dict(outline(full))["目录"])
    assert places[0] < places[1]


def test_a_shared_section_showing_member_data_still_prints_each_members_own(tmp_path: Path) -> None:
    config = with_template(
        tmp_path,
        "{% block records %}{% call shared() %}"
        '<section class="sheet" id="records"><h1>{{ member.name }}的记录</h1></section>'
        "{% endcall %}{% endblock %}",
    )
    renderer = Renderer(config)
    for content in contents(config, ("QS0001", "QS0002")):  # same plan, same chapters, other names
        fast_and_full(config, content, tmp_path, renderer)
        fast_pages = pages_text(tmp_path / "fast.pdf")
        assert fast_pages == pages_text(tmp_path / "full.pdf")
        assert f"{content.member.name}的记录" in [w for page in fast_pages for w, _, _ in page]


def test_styles_a_template_puts_in_the_body_reach_the_shared_pages(tmp_path: Path) -> None:
    config = with_template(
        tmp_path,
        "{% block letter %}<style>.chapter h2 { margin-top: 25mm }</style>{{ super() }}{% endblock %}",
    )
    (content,) = contents(config, ("QS0036",))
    fast_and_full(config, content, tmp_path)
    assert pages_text(tmp_path / "fast.pdf") == pages_text(tmp_path / "full.pdf")


def _documents(renderer: Renderer) -> list[int]:
    """Records the page count of every document ``renderer`` lays out from now on."""
    pages: list[int] = []
    document = renderer._document

    def counted(html: str):  # type: ignore[no-untyped-def]
        laid_out = document(html)
        pages.append(len(laid_out.pages))
        return laid_out

    renderer._document = counted  # type: ignore[method-assign]
    return pages


def test_the_member_pages_are_laid_out_alone_and_the_margins_drawn_on_the_shared_pages(
    tmp_path: Path,
) -> None:
    config = load_config(workspace=tmp_path)
    renderer = Renderer(config)
    _, assigned = read_and_assign(config, [ROOT / "profiles"])
    online = [m.id for m, a in assigned if a.plan == "online" and m.id != "QS0004"]
    first, second = contents(config, ("QS0004", online[0]))  # two online members, one after the other
    renderer.pdf(first)
    laid_out = _documents(renderer)
    (tmp_path / "fast.pdf").write_bytes(renderer.pdf(second))
    pages = pages_text(tmp_path / "fast.pdf")
    # cover, letter, contacts and one stand-in for each of the two runs (contents; schedule to records)
    assert len(laid_out) == 1 and laid_out[0] == 5 and len(pages) > 30
    for number, words in enumerate(pages[1:], start=2):  # the name, the plan, the page numbers: every page
        header = {w for w, _, y in words if y < 50}  # the running header, above the page's text
        assert header == {second.member.name, "线上联学"}, (number, header)
        assert f"第 {number} 页 / 共 {len(pages)} 页" in " ".join(w for w, _, _ in words)


@pytest.mark.parametrize(
    "blocks",
    [
        "{% block head %}<style>section.contacts { break-before: right }</style>{% endblock %}",
        '{% block contacts %}<div style="break-before: recto">{{ super() }}</div>{% endblock %}',
    ],
    ids=["stylesheet", "style-attribute"],
)
def test_a_break_to_a_right_hand_page_keeps_the_pages_after_a_run_on_their_side(
    tmp_path: Path, blocks: str
) -> None:
    """With one stand-in per run, the contacts would come a page early and need no blank page before
    them; where a break to one side is asked for, each run has as many stand-ins as keep the sides."""
    config = with_template(tmp_path, blocks)
    (content,) = contents(config, ("QS0004",))
    renderer = Renderer(config)
    laid_out = _documents(renderer)
    fast, full = fast_and_full(config, content, tmp_path, renderer)
    fast_pages, full_pages = pages_text(tmp_path / "fast.pdf"), pages_text(tmp_path / "full.pdf")
    assert fast_pages == full_pages and outline(fast) == outline(full)
    assert len(fast_pages) % 2 == 1  # the contacts, last, on a right-hand page: after a blank one
    blank = " ".join(w for w, _, y in fast_pages[-2] if y > 50)  # below the running header
    assert blank == f"第 {len(fast_pages) - 1} 页 / 共 {len(fast_pages)} 页"
    assert laid_out[-2] > 5  # the member's own document: more than one stand-in for a longer run


MIXED_MARGINS = """{% block head %}<style>
@page { @bottom-left { content: string(member); font-size: 7pt; } }
</style>{% endblock %}"""


@pytest.mark.parametrize(
    "head",
    [
        MIXED_MARGINS,  # a name and the page numbers on one edge: laid out together
        "{% block head %}<style>@page { @top-left { color: #333 !important; } }</style>{% endblock %}",
    ],
    ids=["name-and-numbers-on-one-edge", "important"],
)
def test_margins_that_cannot_be_drawn_apart_get_a_placeholder_per_shared_page(
    tmp_path: Path, head: str
) -> None:
    config = with_template(tmp_path, head)
    (content,) = contents(config, ("QS0004",))
    renderer = Renderer(config)
    laid_out = _documents(renderer)
    fast, full = fast_and_full(config, content, tmp_path, renderer)
    assert pages_text(tmp_path / "fast.pdf") == pages_text(tmp_path / "full.pdf")
    assert outline(fast) == outline(full)
    assert max(laid_out) == len(pages_text(tmp_path / "fast.pdf"))  # the placeholders' document


def test_which_margin_boxes_go_to_the_numbers_sheet() -> None:
    readable = (ROOT / "templates",)

    def plan(css: str) -> margins.MarginPlan | None:
        return margins.plan_margins(f"<html><head><style>{css}</style></head><body>", "file:///x/", readable)

    split = plan("@page { @top-left { content: string(a) } @bottom-center { content: counter(page) } }")
    assert split is not None and split.numbers == ("bottom-left", "bottom-center", "bottom-right")
    assert "@bottom-center { content: none !important; }" in split.own_css()
    assert "@top-left { content: none !important; }" in split.sheet_css()
    assert (
        plan("@page { @bottom-left { content: string(a) } @bottom-right { content: counter(pages) } }")
        is None
    )
    assert plan("@page { @top-center { content: target-counter(url(#a), page) } }") is None
    assert plan("@page :first { margin: 1cm !important }") is None
    assert plan("@media print { @page { @left-top { content: counter(page) } } }").numbers == (  # type: ignore[union-attr]
        "left-top", "left-middle", "left-bottom",
    )  # fmt: skip
    remote = '<link rel="stylesheet" href="https://example.org/print.css">'
    assert margins.plan_margins(f"<html><head>{remote}</head><body>", "file:///x/", readable) is None
