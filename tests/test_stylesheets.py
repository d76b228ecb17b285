"""Stylesheets parsed once per renderer: the booklet is byte for byte what WeasyPrint makes alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from booklets import small_workspace
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

from packgen.build import read_and_assign
from packgen.config import load_config
from packgen.content.plans import booklet_content
from packgen.render import Renderer, accel
from packgen.render.accel.stylesheets import TAKEN, Stylesheets

#: a head block using what a sheet can define for the whole document, and a sheet for screens only
HEAD = """{% extends "builtin/booklet.html.j2" %}
{% block head %}
<link rel="stylesheet" href="extra.css">
<style>
@counter-style packgen-stems { system: cyclic; symbols: "甲" "乙" "丙"; suffix: "、"; }
.materials ol { list-style: packgen-stems; }
</style>
<style media="screen">h1 { color: #00f; font-size: 30pt; }</style>
<link rel="alternate stylesheet" href="extra.css" title="other">
{% endblock %}
"""


def _contents(workspace: Path) -> tuple[Renderer, list]:
    config = load_config(workspace=workspace)
    _, assigned = read_and_assign(config, [workspace / "profiles"])
    return Renderer(config), [booklet_content(config, m, a) for m, a in assigned]


def test_booklets_from_parsed_once_sheets_are_byte_identical_to_weasyprint_alone(tmp_path: Path) -> None:
    workspace = small_workspace(tmp_path / "ws")
    (workspace / "templates").mkdir()
    (workspace / "templates" / "booklet.html.j2").write_text(HEAD, encoding="utf-8")
    (workspace / "templates" / "extra.css").write_text(
        # print.css sets h1's size too: the later sheet must win, as in the document's order
        ".letter p { color: #0a5c36; } h1 { font-size: 18pt; letter-spacing: 0.1em !important; }",
        encoding="utf-8",
    )
    renderer, contents = _contents(workspace)
    renderer.fast = False  # the whole booklet in one document, as WeasyPrint alone renders it
    for content in contents:
        # the other shortcuts are in place for both (each is checked on its own in test_speedups.py)
        with accel.active(), accel.without_compact_fonts():
            ours = renderer.pdf(content)
            alone = HTML(string=renderer.html(content), base_url=renderer.base_url).write_pdf()
        assert ours == alone
    # the built-in print.css, extra.css and the head's print <style> and page <style>, once each
    assert len(renderer._engine_()._stylesheets) == 4


def _document(body: str, head: str = "") -> HTML:
    return HTML(string=f"<html><head>{head}</head><body>{body}</body></html>", base_url="file:///nowhere/")


def test_each_sheet_is_parsed_once_and_taken_out_of_every_document() -> None:
    sheets = Stylesheets(FontConfiguration())
    head = '<style>p { color: red }</style><style media="print, screen">h1 { margin: 0 }</style>'
    documents = [_document("<p style='color: blue'>一</p>", head) for _ in range(3)]
    taken = [sheets.take(document) for document in documents]
    assert taken[0] is not None and len(taken[0]) == 2
    assert all(found == taken[0] for found in taken)  # the same parsed objects for every document
    assert len(sheets) == 2
    types = [element.get("type") for element in documents[0].etree_element.iter("style")]
    assert types == [TAKEN, TAKEN]


def test_sheets_for_other_media_and_non_css_are_left_as_they_are() -> None:
    sheets = Stylesheets(FontConfiguration())
    head = (
        '<style media="screen">p { color: red }</style><style type="text/less">p { color: red }</style>'
        '<link rel="icon" href="icon.png"><link rel="stylesheet alternate" href="x.css">'
    )
    document = _document("<p>一</p>", head)
    assert sheets.take(document) == []
    assert [e.get("type") for e in document.etree_element.iter("style")] == [None, "text/less"]


@pytest.mark.parametrize("style", ["color: blue !important", "color: blue ! IMPORTANT"])
def test_an_important_style_attribute_leaves_the_document_to_weasyprint(style: str) -> None:
    """A user-origin sheet's !important would beat the attribute's, unlike the author sheet it was."""
    sheets = Stylesheets(FontConfiguration())
    document = _document(f'<p style="{style}">一</p>', "<style>p { color: red !important }</style>")
    assert sheets.take(document) is None
    assert [e.get("type") for e in document.etree_element.iter("style")] == [None]


def test_a_sheet_that_cannot_be_loaded_is_left_for_weasyprint_to_report(tmp_path: Path) -> None:
    sheets = Stylesheets(FontConfiguration())
    document = _document("<p>一</p>", f'<link rel="stylesheet" href="{(tmp_path / "gone.css").as_uri()}">')
    assert sheets.take(document) is None
    assert [e.get("type") for e in document.etree_element.iter("link")] == [None]
    assert len(sheets) == 0


def test_only_the_last_sheets_are_kept() -> None:
    sheets = Stylesheets(FontConfiguration(), size=2)
    for n in range(5):
        assert sheets.take(_document("<p>一</p>", f"<style>p {{ margin: {n}px }}</style>")) is not None
    assert len(sheets) == 2
