"""The engine: one door to WeasyPrint, its shortcuts behind one version gate and only while packgen
renders, a plain path that always works, and every shortcut checked rather than trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import weasyprint
from booklets import page_images, small_workspace
from conftest import pdffonts, pdftotext, requires_poppler
from weasyprint import HTML

from packgen.build import read_and_assign
from packgen.config import load_config
from packgen.content.plans import booklet_content
from packgen.render import Renderer, accel, compose, margins
from packgen.render.accel import speedups

pytestmark = requires_poppler


def _first(workspace: Path):  # type: ignore[no-untyped-def]
    config = load_config(workspace=workspace)
    _, assigned = read_and_assign(config, [workspace / "profiles"])
    return config, booklet_content(config, *assigned[0])


def test_the_shortcuts_are_in_place_only_while_packgen_renders(tmp_path: Path) -> None:
    from weasyprint.layout import page

    original = page.set_page_type_computed_styles
    config, content = _first(small_workspace(tmp_path / "ws"))
    Renderer(config).pdf(content)
    assert page.set_page_type_computed_styles is original  # a script's own documents: WeasyPrint as it is
    with accel.active():
        assert page.set_page_type_computed_styles is not original
        with accel.active():  # re-entrant: the inner one leaves them to the outer
            pass
        assert page.set_page_type_computed_styles is not original
    assert page.set_page_type_computed_styles is original


def test_an_unchecked_weasyprint_turns_every_shortcut_off(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(weasyprint, "__version__", "71.0")
    monkeypatch.setattr(speedups, "install", lambda: pytest.fail("a shortcut was put in place"))
    off = (
        "off: WeasyPrint 71.0 is not one they were checked against (70.x); booklets are the same, "
        "builds slower"
    )
    assert accel.status() == off
    doctor = run("doctor", "--json")
    assert json.loads(doctor.stdout)["shortcuts"] == off
    small_workspace(tmp_path)
    result = run("build", "-j", "1")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == f"note: rendering shortcuts {off}"
    fonts = pdffonts(tmp_path / "output" / "booklets" / "A1.pdf")
    assert "CID Type 0C (OT)" in fonts  # WeasyPrint's own font subsets


def test_plain_render_is_weasyprint_as_it_is(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = small_workspace(tmp_path)
    config, content = _first(workspace)
    monkeypatch.setenv("PACKGEN_PLAIN_RENDER", "1")
    renderer = Renderer(config)
    assert renderer.plain and not renderer.fast
    plain = renderer.pdf(content)
    alone = HTML(string=renderer.html(content), base_url=renderer.base_url).write_pdf()
    assert plain == alone  # no shortcut, no shared parts: the bytes a user's WeasyPrint loop writes
    result = run("build", "-j", "1", "-o", "env", "--quiet")
    assert result.exit_code == 0 and (tmp_path / "env" / "booklets" / "A1.pdf").read_bytes() == plain
    monkeypatch.delenv("PACKGEN_PLAIN_RENDER")
    result = run("build", "-j", "2", "--plain-render", "-o", "option")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "note: rendering shortcuts off: plain rendering asked for (PACKGEN_PLAIN_RENDER=1 or --plain-render)"
    )
    assert (tmp_path / "option" / "booklets" / "A1.pdf").read_bytes() == plain
    assert (tmp_path / "option" / "booklets" / "A1.pdf").read_bytes() != Renderer(config).pdf(content)


def test_a_compact_font_not_written_bare_is_caught_and_written_the_plain_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import weasyprint.pdf

    real = weasyprint.pdf.build_fonts_dictionary

    def copying(pdf, fonts, *args):  # type: ignore[no-untyped-def]
        """A WeasyPrint that copies each font's bytes into the PDF: the swap finds none of them."""
        result = real(pdf, fonts, *args)
        for obj in pdf.objects:
            if getattr(obj, "extra", None) and obj.extra.get("Subtype") == "/OpenType":
                obj.stream[0] = bytes(bytearray(obj.stream[0]))
        return result

    config, content = _first(small_workspace(tmp_path / "ws"))
    renderer = Renderer(config)
    renderer.fast = False
    good = tmp_path / "good.pdf"
    with accel.without_compact_fonts():
        good.write_bytes(renderer.pdf(content))
    monkeypatch.setattr(weasyprint.pdf, "build_fonts_dictionary", copying)
    caught = tmp_path / "caught.pdf"
    caught.write_bytes(renderer.pdf(content))
    assert speedups.compact_fonts  # only that document was written without them
    assert "CID Type 0C (OT)" in pdffonts(caught)  # WeasyPrint's own subsets, whose glyph ids hold
    assert pdftotext(caught) == pdftotext(good)
    assert page_images(caught) == page_images(good)


SHARED_STRING = """{% extends "builtin/booklet.html.j2" %}
{% block head %}<style>
@page { @top-center { content: string(chapter); font-size: 7pt; } }
.chapter h1 { string-set: chapter content(); }
</style>{% endblock %}
"""


def test_a_template_that_sets_running_strings_in_a_shared_part_is_rendered_whole_with_a_warning(
    run, tmp_path: Path
) -> None:
    workspace = small_workspace(tmp_path)
    (workspace / "templates").mkdir()
    (workspace / "templates" / "booklet.html.j2").write_text(SHARED_STRING, encoding="utf-8")
    result = run("validate")
    warning = (
        "warning: <style> in the booklet, line 3: '.chapter h1 { string-set: … }' applies to <h1> "
        "短章：学习方法 in a shared section ({% call shared() %}), which is laid out apart from the "
        "member's pages, so its running string would not carry over; these booklets are rendered whole "
        "(correct, but slower). Move the rule to a part that is not shared, or take the section out of "
        "shared()"
    )
    assert warning in result.stderr.splitlines(), result.stderr
    config, content = _first(workspace)
    renderer = Renderer(config)
    fast = renderer.pdf(content)
    renderer.fast = False
    assert fast == renderer.pdf(content)  # rendered whole: the chapter title heads its pages
    (tmp_path / "b.pdf").write_bytes(fast)
    chapter_pages = [page for page in pdftotext(tmp_path / "b.pdf").split("\f") if "学习方法" in page]
    assert len(chapter_pages) >= 2


def test_a_counter_a_shared_part_resets_itself_keeps_it_composed(tmp_path: Path) -> None:
    workspace = small_workspace(tmp_path)
    (workspace / "templates").mkdir()
    (workspace / "templates" / "booklet.html.j2").write_text(
        '{% extends "builtin/booklet.html.j2" %}{% block head %}<style>'
        ".chapter { counter-reset: para; } .chapter p { counter-increment: para; }"
        ".letter p { counter-increment: letterpara; }</style>{% endblock %}",
        encoding="utf-8",
    )
    config, content = _first(workspace)
    renderer = Renderer(config)
    booklet = compose.split(lambda hook: renderer._html(content, hook))
    assert renderer.compose_breaches(booklet) == []  # para is reset within; the letter is personal


def test_a_booklet_that_cannot_be_composed_is_rendered_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, content = _first(small_workspace(tmp_path))
    renderer = Renderer(config)
    failing = lambda *args: (_ for _ in ()).throw(ValueError("no room"))  # noqa: E731
    monkeypatch.setattr(compose, "overlay", failing)  # either way of composing fails
    monkeypatch.setattr(margins, "assemble", failing)
    fast = renderer.pdf(content)
    renderer.fast = False
    assert fast == renderer.pdf(content) and renderer.fallbacks == 1
