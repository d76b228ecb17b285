"""WeasyPrint with packgen's shortcuts writes the same bytes as without them, and they are in use;
compact font subsets change the font programs only: every page looks the same."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from booklets import page_images, small_workspace
from conftest import pdffonts, pdftotext
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

from packgen.build import read_and_assign
from packgen.config import load_config
from packgen.content.plans import BookletContent, booklet_content
from packgen.render import Renderer, accel
from packgen.render.accel import speedups


@pytest.fixture
def toggle() -> Iterator[None]:
    """Tests switch the shortcuts on and off; leave them as the process had them."""
    had, compact = bool(speedups._originals), speedups.compact_fonts
    yield
    speedups.install() if had else speedups.uninstall()
    speedups.compact_fonts = compact


def _both(render: Callable[[], bytes], renderer: Renderer | None = None) -> tuple[bytes, bytes]:
    """``render()`` with WeasyPrint as it is, then with the shortcuts that change no byte (a
    ``renderer``'s engine puts them in place itself while it renders: it is told)."""
    speedups.compact_fonts = False
    speedups.uninstall()
    if renderer is not None:
        renderer._engine_().shortcuts = False
    plain = render()
    if renderer is not None:
        renderer._engine_().shortcuts = True
    else:
        assert speedups.install()
    return plain, render()


def _compact_or_not(render: Callable[[], bytes]) -> tuple[bytes, bytes]:
    """``render()`` with the shortcuts, CID-keyed CFF fonts subset as WeasyPrint does, then compact."""
    assert speedups.install()
    speedups.compact_fonts = False
    plain = render()
    speedups.compact_fonts = True
    return plain, render()


def test_the_shortcuts_are_in_place_for_the_installed_weasyprint(toggle: None) -> None:
    # fails when WeasyPrint is upgraded past the versions they were checked against: check them
    # again (this file) and add the version to packgen.render.accel.CHECKED
    speedups.uninstall()
    assert accel.install()


def test_booklets_are_byte_identical_with_and_without_the_shortcuts(tmp_path: Path, toggle: None) -> None:
    workspace = small_workspace(tmp_path / "ws")
    config = load_config(workspace=workspace)
    _, assigned = read_and_assign(config, [workspace / "profiles"])
    renderer = Renderer(config)
    for member, assignment in assigned:
        content = booklet_content(config, member, assignment)
        plain, fast = _both(functools.partial(renderer.pdf, content), renderer)
        assert plain == fast
        renderer.fast = False  # and the whole booklet in one document
        plain, fast = _both(functools.partial(renderer.pdf, content), renderer)
        assert plain == fast
        renderer.fast = True


#: pages of every kind the page rules can tell apart, with a different header on each kind
PAGES = """
<style>
@page { size: A6; margin: 15mm; @top-center { content: "p" counter(page) "/" counter(pages); }
        @bottom-left { content: string(title); } }
@page :first { @top-center { content: "first"; color: red; } }
@page :left { margin-left: 25mm; @bottom-right { content: "left"; } }
@page :right { @bottom-right { content: "right"; width: 40mm; } }
@page :blank { @top-center { content: "blank"; } }
@page wide { size: A6 landscape; @top-left { content: "wide " counter(page); } }
h1 { string-set: title content(); break-before: right; }
.wide { page: wide; }
</style>
<h1>一 甲</h1><p>正文。</p><h1>二 乙</h1><p>正文。</p>
<div class="wide"><p>横页 Latin text, DejaVu: ünïcødé.</p><p style="break-before: page">再一页</p></div>
<h1>三 丙</h1><p style="font-family: 'DejaVu Sans'">TrueType: Glyphs ∑ ≈ ∞</p>
<p style="font-family: 'Noto Serif CJK SC'">宋体 CFF 字形</p>
"""


@pytest.mark.parametrize(
    "extra",
    [
        "",
        # selects by index: every page's styles are computed, as WeasyPrint does
        "<style>@page :nth(3) { @top-center { content: 'third'; } } @page wide:nth(2) { margin: 5mm; }</style>",
    ],
    ids=["kinds", "nth"],
)
def test_pages_of_every_kind_and_fonts_of_both_outlines_are_byte_identical(extra: str, toggle: None) -> None:
    html = f"<html><head><meta charset='utf-8'>{extra}</head><body>{PAGES}</body></html>"
    plain, fast = _both(lambda: HTML(string=html, base_url="file:///nowhere/").write_pdf())
    assert plain == fast
    document = HTML(string=html, base_url="file:///nowhere/").render()
    assert len(document.pages) >= 7  # first, right, left, blank, two wide pages and the last chapter


def test_pages_of_one_kind_share_their_styles(toggle: None) -> None:
    computed = []
    assert speedups.install()
    original = speedups._originals["page_styles"]
    speedups._originals["page_styles"] = lambda *args: computed.append(args[0]) or original(*args)
    try:
        body = "".join(f"<p style='break-before: page'>{n}</p>" for n in range(10))
        HTML(string=f"<style>@page {{ @bottom-center {{ content: counter(page); }} }}</style>{body}").render()
    finally:
        speedups._originals["page_styles"] = original
    # the first page, then the first left-hand page and the first right-hand one after it
    assert [(t.index, t.side) for t in computed] == [(0, "right"), (1, "left"), (2, "right")]


def test_fonts_embedded_whole_are_read_whole(toggle: None) -> None:
    # without subsetting, WeasyPrint writes each font's whole file: the copy the shortcut skips is made
    html = "<p style=\"font-family: 'Noto Serif CJK SC'\">宋体</p><p style=\"font-family: 'DejaVu Sans'\">Latin</p>"
    plain, fast = _both(lambda: HTML(string=html).write_pdf(full_fonts=True))
    assert plain == fast


def test_a_booklet_copies_no_whole_font_file_into_memory(tmp_path: Path, toggle: None) -> None:
    from weasyprint.pdf import fonts

    workspace = small_workspace(tmp_path / "ws")
    config = load_config(workspace=workspace)
    _, assigned = read_and_assign(config, [workspace / "profiles"])
    content = booklet_content(config, *assigned[0])
    renderer = Renderer(config)
    renderer.pdf(content)
    read: list[int] = []

    def reading(original: Callable[[object], bytes]) -> Callable[[object], bytes]:
        return lambda hb_object: read.append(len(data := original(hb_object))) or data

    renderer._engine_().shortcuts = False  # WeasyPrint as it is copies each ~18 MB Noto CJK collection
    original = fonts.get_hb_object_data
    fonts.get_hb_object_data = reading(original)
    try:
        renderer.pdf(content)
    finally:
        fonts.get_hb_object_data = original
    assert max(read) > 10_000_000
    read.clear()
    renderer._engine_().shortcuts = True
    assert speedups.install()  # with the shortcuts, only the subsets are read
    original = speedups._originals["font_data"]
    speedups._originals["font_data"] = reading(original)
    try:
        renderer.pdf(content)
    finally:
        speedups._originals["font_data"] = original
    assert read and max(read) < 2_000_000


def test_compact_font_subsets_draw_every_page_the_same(tmp_path: Path, toggle: None) -> None:
    workspace = small_workspace(tmp_path / "ws")
    config = load_config(workspace=workspace)
    _, assigned = read_and_assign(config, [workspace / "profiles"])
    renderers = {False: Renderer(config), True: Renderer(config)}  # each keeps its own shared parts

    def render(content: BookletContent) -> bytes:
        return renderers[speedups.compact_fonts].pdf(content)

    for n, (member, assignment) in enumerate(assigned[:3]):
        content = booklet_content(config, member, assignment)
        plain, compact = (tmp_path / f"{n}-plain.pdf", tmp_path / f"{n}-compact.pdf")
        plain_bytes, compact_bytes = _compact_or_not(functools.partial(render, content))
        plain.write_bytes(plain_bytes), compact.write_bytes(compact_bytes)
        # no font file holds thousands of empty glyphs: a third of the size
        assert compact.stat().st_size < plain.stat().st_size / 2
        assert pdftotext(compact) == pdftotext(plain)
        # the fonts are bare CID-keyed CFF programs, which viewers read glyphs from by CID; an
        # OpenType-wrapped one poppler reads by glyph id, and would draw other glyphs
        assert "CID Type 0C (OT)" in pdffonts(plain)
        fonts = pdffonts(compact)
        assert "CID Type 0C " in fonts and "(OT)" not in fonts and " yes yes yes " in fonts
        drawn = page_images(compact)
        assert len(drawn) >= 10 and drawn == page_images(plain)


def test_name_keyed_cff_fonts_are_subset_as_weasyprint_does(tmp_path: Path, toggle: None) -> None:
    # a CFF font without CIDs: viewers take its glyph ids as they are, so no glyph may move
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.t2CharStringPen import T2CharStringPen

    names = [".notdef", "A", "B", "C"]
    builder = FontBuilder(1000, isTTF=False)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(name): name for name in names[1:]})
    outlines = {}
    for n, name in enumerate(names):
        pen = T2CharStringPen(600, None)
        pen.moveTo((100, 0)), pen.lineTo((100, 200 + 150 * n)), pen.lineTo((500, 0)), pen.closePath()
        outlines[name] = pen.getCharString()
    builder.setupCFF("PackgenNameKeyed-Regular", {"FullName": "Packgen Name Keyed"}, outlines, {})
    builder.setupHorizontalMetrics({name: (600, 100) for name in names})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Packgen Name Keyed", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=800, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    builder.save(tmp_path / "named.otf")
    html = (
        "<style>@font-face { font-family: named; src: url(named.otf); }</style>"
        "<p style='font-family: named'>CAB</p><p style=\"font-family: 'Noto Sans CJK SC'\">中文</p>"
    )
    fonts = FontConfiguration()  # which @font-face needs
    page = HTML(string=html, base_url=f"{tmp_path.as_uri()}/")
    plain, compact = _compact_or_not(lambda: page.write_pdf(font_config=fonts))
    (tmp_path / "compact.pdf").write_bytes(compact)
    written = {
        line.split()[0].split("+")[1]: line[37:55].strip()
        for line in pdffonts(tmp_path / "compact.pdf").splitlines()[2:]
    }
    assert written == {
        "named": "CID Type 0C (OT)",
        "Noto-Sans-CJK-SC": "CID Type 0C",
    }  # only the CJK font compact
    assert len(compact) < len(plain) / 2
