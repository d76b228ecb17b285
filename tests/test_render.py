"""Booklets read back from real PDFs: page size and count, footers, running header, TOC, QR codes."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import segno
import yaml
from booklets import MM, page_texts, qr_matrix_on_page, small_workspace, toc_entries, words
from conftest import PROFILES, ROOT, requires_poppler
from pypdf import PdfReader

from packgen.assets import builtin_templates_dir
from packgen.build import read_and_assign
from packgen.config import Config, default_config_text, load_config
from packgen.content.plans import booklet_content, format_date
from packgen.errors import ConfigError
from packgen.render import Renderer
from packgen.render.fonts import SANS_STACK, SERIF_STACK
from packgen.render.templates import LABELS
from packgen.roster.members import member_from_mapping
from packgen.rules import assign_plans

pytestmark = requires_poppler

#: one member per plan from the bundled example roster
EXAMPLE = {"delivered": "QS0001", "self_study": "QS0036", "online": "QS0037"}


@pytest.fixture(scope="module")
def example_booklets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str, str]]:
    """plan -> (pdf, member name, plan label), rendered once for the module with the default config."""
    out = tmp_path_factory.mktemp("booklets")
    config = yaml.safe_load(default_config_text())
    for plan in config["plans"].values():  # three built-in chapters keep it quick; TOC still spans parts
        plan["materials"] = plan["materials"][:3]
    (out / "packgen.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", "1796000000")
        config = load_config(workspace=out)
        _, assigned = read_and_assign(config, [PROFILES])
        renderer = Renderer(config)
        result = {}
        for member, assignment in assigned:
            if member.id in EXAMPLE.values():
                assert EXAMPLE[assignment.plan] == member.id
                pdf = out / f"{member.id}.pdf"
                pdf.write_bytes(renderer.pdf(booklet_content(config, member, assignment)))
                result[assignment.plan] = (pdf, member.name, config.plans[assignment.plan].label)
    assert set(result) == set(EXAMPLE)
    return result


@pytest.mark.parametrize("plan", sorted(EXAMPLE))
def test_a5_pages_numbered_x_of_y_with_name_and_plan_in_header(example_booklets, plan: str) -> None:
    pdf, name, label = example_booklets[plan]
    reader = PdfReader(pdf)
    for page in reader.pages:
        assert (round(float(page.mediabox.width) / MM), round(float(page.mediabox.height) / MM)) == (148, 210)
    texts = page_texts(pdf)
    total = len(reader.pages)
    assert len(texts) == total >= 12
    assert "第 1 页" not in texts[0]  # the cover carries no header or footer
    boxes = words(pdf)
    for number in range(2, total + 1):
        assert f"第 {number} 页 / 共 {total} 页" in texts[number - 1], f"page {number}"
        header = [w[0] for w in boxes[number - 1] if w[4] < 19 * MM]  # above the top margin
        assert name in header and label in header, f"page {number}: header {header}"


@pytest.mark.parametrize("plan", sorted(EXAMPLE))
def test_toc_page_numbers_point_at_their_headings(example_booklets, plan: str) -> None:
    pdf, _, _ = example_booklets[plan]
    texts = page_texts(pdf)
    entries = toc_entries(pdf)
    assert len(entries) >= 9, entries  # the parts and three chapters
    for title, number in entries:
        # the heading opens its page: after the running header (name, plan) and a chapter number
        top = [line for line in texts[number - 1].splitlines() if line.strip()][:4]
        assert title in top, f"TOC says {title!r} is on page {number}, which starts {top}"


def test_online_booklet_prints_a_scannable_qr_code_per_link(example_booklets, tmp_path: Path) -> None:
    pdf, _, _ = example_booklets["online"]
    texts = page_texts(pdf)
    links = load_config(workspace=tmp_path).plans["online"].links
    assert links
    for link in links:
        page = next(i + 1 for i, t in enumerate(texts) if link.title in t and "扫描二维码" in t)
        qr = segno.make(link.url, error="m")
        size = qr.symbol_size(border=0)[0]
        expected = [[bool(v) for v in row] for row in qr.matrix]
        assert qr_matrix_on_page(pdf, page, link.title, size, tmp_path) == expected


def test_self_study_booklet_has_no_qr_page(example_booklets) -> None:
    pdf, _, _ = example_booklets["self_study"]
    assert not any("扫描二维码" in t for t in page_texts(pdf))


@pytest.mark.parametrize(
    ("size", "millimetres"), [("A4", (210, 297)), ("B5", (176, 250))]
)  # fmt: skip
def test_page_size_from_config_and_english_variant(tmp_path: Path, size: str, millimetres) -> None:
    workspace = small_workspace(tmp_path / "ws", page={"size": size, "language": "en"})
    config = load_config(workspace=workspace)
    _, assigned = read_and_assign(config, [])
    member, assignment = assigned[0]
    pdf = tmp_path / "b.pdf"
    pdf.write_bytes(Renderer(config).pdf(booklet_content(config, member, assignment)))
    reader = PdfReader(pdf)
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / MM), round(float(box.height) / MM)) == millimetres
    texts = page_texts(pdf)
    total = len(texts)
    assert f"Page 2 of {total}" in texts[1]
    assert LABELS["en"]["letter_title"] in texts[1] and f"Dear {member.name}," in texts[1]
    assert "Contents" in texts[2]
    assert reader.trailer["/Root"]["/Lang"] == "en"
    why = {
        "rule": f"Rule \u201c{assignment.rule}\u201d: {assignment.reason}",
        "override": "Plan set by you or your branch: ",
        "default": assignment.reason,
    }[assignment.source]
    assert why in texts[1].replace("\n", " ") and "规则“" not in texts[1]
    start, end = config.training.start, config.training.end
    assert f"{start.day} {start:%B} {start.year} — {end.day} {end:%B} {end.year}" in texts[0]
    labels = ("Signature", "Date", "Chat group")  # English labels take an English colon
    assert not any(f"{label}：" in text for text in texts for label in labels)
    assert any("Signature:" in text for text in texts)


@pytest.mark.parametrize("marks", [True, False])
def test_bleed_widens_the_sheet_and_crop_marks_print_in_it(tmp_path: Path, marks: bool) -> None:
    from PIL import Image

    workspace = small_workspace(tmp_path / "ws", page={"size": "A5", "bleed": "3mm", "crop_marks": marks})
    config = load_config(workspace=workspace)
    _, assigned = read_and_assign(config, [])
    member, assignment = assigned[0]
    pdf = tmp_path / "b.pdf"
    pdf.write_bytes(Renderer(config).pdf(booklet_content(config, member, assignment)))
    page = PdfReader(pdf).pages[1]
    trim, media = page.trimbox, page.mediabox
    assert (round(float(trim.width) / MM), round(float(trim.height) / MM)) == (148, 210)
    assert (round(float(media.width) / MM), round(float(media.height) / MM)) == (154, 216)
    subprocess.run(
        ["pdftoppm", "-r", "100", "-png", "-singlefile", "-f", "2", "-l", "2", str(pdf), str(tmp_path / "p")],
        check=True,
    )
    image = Image.open(tmp_path / "p.png").convert("L")
    bleed = round(3 * MM * 100 / 72)  # pixels outside the trim box; the marks run along its edges
    top_strip = image.crop((0, 0, image.width, bleed))
    assert (top_strip.getextrema()[0] < 128) is marks


def test_same_inputs_build_byte_identical_pdfs_with_metadata(run, tmp_path: Path) -> None:
    small_workspace(tmp_path)
    for out in ("first", "second"):
        result = run("build", "-q", "-j", "1", "--only", "A1", "-o", tmp_path / out)
        assert result.exit_code == 0, result.output
    first = sorted((tmp_path / "first" / "booklets").iterdir())
    assert [p.name for p in first] == ["A1.pdf"]
    for pdf in first:
        assert pdf.read_bytes() == (tmp_path / "second" / "booklets" / pdf.name).read_bytes()
    reader = PdfReader(first[0])
    meta = reader.metadata
    assert meta is not None
    assert (meta.title, meta.author, meta.subject) == (
        "2026—2027年度党员冬训 · 张三",
        "中共青山镇委员会",
        "线上联学 · 张三",
    )
    assert meta["/CreationDate"] == meta["/ModDate"] == "D:20261130005320Z"  # SOURCE_DATE_EPOCH=1796000000
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"


def test_print_css_asks_for_the_font_stacks_doctor_reports() -> None:
    css = (builtin_templates_dir() / "print.css").read_text(encoding="utf-8")
    body = re.search(r"html \{\s*font-family: ([^;]+);", css)
    assert body is not None
    families = [f.strip().strip('"') for f in body.group(1).split(",")]
    assert families[: len(SERIF_STACK)] == list(SERIF_STACK)
    assert families[len(SERIF_STACK) : len(SERIF_STACK) + len(SANS_STACK) - 1] == list(SANS_STACK[:-1])


def test_doctor_names_the_fonts_booklets_print_with(run) -> None:
    result = run("doctor", "--json")
    report = json.loads(result.output)
    body, headings = report["fonts_used"]["body text"], report["fonts_used"]["headings"]
    assert body[0] in SERIF_STACK and Path(body[1]).is_file()
    assert headings[0] in SANS_STACK and Path(headings[1]).is_file()
    assert result.exit_code == (0 if report["ok"] else 1)
    from weasyprint.text.ffi import pango

    number = pango.pango_version()
    assert report["pango"] == f"{number // 10000}.{number // 100 % 100}.{number % 100}"
    assert report["shortcuts"] == "on"  # packgen/render/accel: checked for this WeasyPrint
    text = run("doctor").output
    line = next(line for line in text.splitlines() if "font for body text" in line)
    assert body[0] in line
    line = next(line for line in text.splitlines() if "rendering shortcuts" in line)
    assert line.split("shortcuts")[1].strip(" │|") == "on"


def edit_online_plan(workspace: Path, edit: Callable[[dict[str, Any]], object]) -> None:
    """Change the online plan in the workspace's packgen.yaml with ``edit``."""
    path = workspace / "packgen.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data["plans"]["online"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def render_online_member(workspace: Path, pdf: Path) -> Config:
    """Render the workspace's first online member's booklet to ``pdf``; the loaded config."""
    config = load_config(workspace=workspace)
    _, assigned = read_and_assign(config, [])
    member, assignment = next((m, a) for m, a in assigned if a.plan == "online")
    pdf.write_bytes(Renderer(config).pdf(booklet_content(config, member, assignment)))
    return config


def test_pdf_courseware_pages_are_included_numbered_and_in_the_toc(tmp_path: Path) -> None:
    from weasyprint import HTML

    workspace = small_workspace(tmp_path / "ws")
    HTML(
        string="<style>@page { size: A4 landscape }</style><h1>Slide one: 党章</h1>"
        "<h1 style='break-before: page'>Slide two</h1>"
    ).write_pdf(workspace / "materials" / "deck.pdf")
    edit_online_plan(workspace, lambda plan: plan["materials"].append("materials/deck.pdf"))
    pdf = tmp_path / "b.pdf"
    render_online_member(workspace, pdf)
    texts = page_texts(pdf)
    total = len(texts)
    number = dict(toc_entries(pdf))["deck"]
    assert "deck" in texts[number - 1] and "课件" in texts[number - 1]
    assert "Slide one: 党章" in texts[number] and f"第 {number + 1} 页 / 共 {total} 页" in texts[number]
    assert "Slide two" in texts[number + 1] and f"第 {number + 2} 页 / 共 {total} 页" in texts[number + 1]


def test_example_template_override_changes_blocks_and_keeps_the_rest(run, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples" / "custom-template", tmp_path, dirs_exist_ok=True)
    result = run("build", "-q", "-j", "1", "--only", "QS0004")
    assert result.exit_code == 0, result.output
    texts = page_texts(tmp_path / "output" / "booklets" / "QS0004.pdf")
    assert "支部书记寄语" in texts[2] and "陈静同志：东湖村党支部" in texts[2]  # the added page
    assert "致流动党员的一封信" in texts[1]  # super() kept the built-in letter
    assert "\n目录\n" in texts[3]
    assert "内部学习资料" in texts[-1] and "流动党员个性化学习辅导手册 · QS0004" not in texts[-1]


def test_a_footer_box_added_by_a_template_shares_the_bottom_margin(tmp_path: Path) -> None:
    workspace = small_workspace(tmp_path / "ws")
    (workspace / "templates").mkdir()
    (workspace / "templates" / "booklet.html.j2").write_text(
        '{% extends "builtin/booklet.html.j2" %}{% block head %}'
        '<style>@page { @bottom-right { content: "内部资料 注意保存"; } }</style>{% endblock %}',
        encoding="utf-8",
    )
    pdf = tmp_path / "b.pdf"
    render_online_member(workspace, pdf)
    texts = page_texts(pdf)
    for number, text in enumerate(texts[1:], start=2):  # the cover has no footer
        assert "内部资料 注意保存" in text and f"第 {number} 页 / 共 {len(texts)} 页" in text, text


def test_the_page_number_is_centred_on_every_page_but_the_cover(tmp_path: Path) -> None:
    pdf = tmp_path / "b.pdf"
    render_online_member(small_workspace(tmp_path / "ws"), pdf)
    pages = words(pdf)
    width = 148 * MM  # A5
    for number, page in enumerate(pages[1:], start=2):
        footer = [w for w in page if w[2] > 194 * MM]  # the bottom margin (17 mm): below the text
        assert [w[0] for w in footer] == ["第", str(number), "页", "/", "共", str(len(pages)), "页"]
        middle = (footer[0][1] + footer[-1][3]) / 2
        assert abs(middle - width / 2) < 0.5, (number, middle, width / 2)


def test_long_schedule_breaks_between_rows_and_repeats_its_header(tmp_path: Path) -> None:
    sessions = [
        {"date": f"2026-12-{day:02d}", "time": "20:00", "title": f"线上学习第{day}次"} for day in range(1, 32)
    ]
    workspace = small_workspace(tmp_path / "ws")
    edit_online_plan(workspace, lambda plan: plan.update(sessions=sessions))
    pdf = tmp_path / "b.pdf"
    render_online_member(workspace, pdf)
    pages = [t for t in page_texts(pdf) if "线上学习第" in t and "\n目录\n" not in t]
    assert len(pages) >= 2  # the table spans pages
    rows = []
    for text in pages:
        lines = [line for line in text.splitlines() if line.strip()]
        assert {"时间", "内容", "完成"} <= set(lines), "the header row repeats on every page"
        rows += re.findall(r"线上学习第(\d+)次", text)
    assert rows == [str(day) for day in range(1, 32)]  # each row whole, once, in order


def test_readme_shows_committed_page_images_of_each_plan() -> None:
    from PIL import Image

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    images = re.findall(r'<img src="(docs/images/(?!serve-)[^"]+\.png)"', readme)  # serve-: screenshots
    for plan in EXAMPLE:
        assert sum(image.startswith(f"docs/images/{plan}-") for image in images) >= 4
    for image in images:
        with Image.open(ROOT / image) as png:
            width, height = png.size
        assert png.format == "PNG" and abs(height / width - 210 / 148) < 0.01, image


def test_every_online_session_link_gets_its_own_qr_code(tmp_path: Path) -> None:
    workspace = small_workspace(tmp_path / "ws")
    url = "https://meet.example.org/qingshan/2026-12-12"
    edit_online_plan(workspace, lambda plan: plan["sessions"][0].update(link=url))
    pdf = tmp_path / "b.pdf"
    config = render_online_member(workspace, pdf)
    page = next(i + 1 for i, t in enumerate(page_texts(pdf)) if "扫描二维码" in t)
    qr = segno.make(url, error="m")
    expected = [[bool(v) for v in row] for row in qr.matrix]
    title = config.plans["online"].sessions[0].title
    assert qr_matrix_on_page(pdf, page, title, qr.symbol_size(border=0)[0], tmp_path) == expected


def test_unreadable_pdf_courseware_names_the_file(tmp_path: Path) -> None:
    workspace = small_workspace(tmp_path / "ws")
    (workspace / "materials" / "deck.pdf").write_bytes(b"not a pdf at all")
    edit_online_plan(workspace, lambda plan: plan["materials"].append("materials/deck.pdf"))
    with pytest.raises(ConfigError) as refused:
        load_config(workspace=workspace)
    message = str(refused.value)
    deck = (workspace / "materials" / "deck.pdf").resolve()
    assert f"Config value 'plans.online.materials.1': material '{deck}' is not a readable PDF (" in message


def test_many_qr_codes_start_under_the_links_heading(tmp_path: Path) -> None:
    workspace = small_workspace(tmp_path / "ws")
    long_url = "https://study.example.org/qingshan/" + "x" * 160
    links = [{"title": f"链接{n}", "url": f"https://example.org/{n}"} for n in range(1, 5)]
    edit_online_plan(
        workspace, lambda plan: plan.update(links=[{"title": "长链接", "url": long_url}, *links])
    )
    pdf = tmp_path / "b.pdf"
    render_online_member(workspace, pdf)
    texts = page_texts(pdf)
    page = next(i for i, t in enumerate(texts) if "扫描二维码" in t)
    assert "长链接" in texts[page] and "链接1" in texts[page]  # a row that fits is not pushed over
    assert all(f"链接{n}" in texts[page] + texts[page + 1] for n in range(1, 5))


def test_session_qr_caption_prints_the_date_as_the_schedule_does(tmp_path: Path) -> None:
    workspace = small_workspace(tmp_path / "ws")
    edit_online_plan(workspace, lambda plan: plan["sessions"][0].update(link="https://meet.example.org/j/1"))
    pdf = tmp_path / "b.pdf"
    config = render_online_member(workspace, pdf)
    day = config.plans["online"].sessions[0].date
    page = next(t for t in page_texts(pdf) if "扫描二维码" in t)
    assert f"{day.month}月{day.day}日" in page and day.isoformat() not in page


@pytest.mark.parametrize(
    ("n", "written"),
    [(1, "一"), (10, "十"), (11, "十一"), (14, "十四"), (20, "二十"), (99, "九十九"), (100, "100")],
)
def test_chapter_numbers_are_chinese_numerals_past_ten(n: int, written: str) -> None:
    assert LABELS["zh"]["chapter_no"](n) == f"第{written}章"


def test_dates_print_without_leading_zeros() -> None:
    day = dt.date(2026, 3, 5)
    assert [format_date(day, "zh"), format_date(day, "zh", year=True)] == ["3月5日", "2026年3月5日"]
    assert [format_date(day, "en"), format_date(day, "en", year=True)] == ["Mar 5", "5 March 2026"]


@pytest.mark.parametrize(
    ("fields", "says", "never"),
    [
        ({"流动类型": "市内", "流入地": "临江县城关镇", "从事职业": "退休（随子女居住）"},
         "您现在在临江县城关镇，平时不便回支部参加学习，组织始终惦记着您。", "退休"),
        ({"流动类型": "省外", "流入地": "上海市浦东新区", "从事职业": "软件工程师"},
         "您现在在上海市浦东新区，从事软件工程师工作，虽然身在异地，组织始终惦记着您。", "您现在上海"),
        ({"流动类型": "在途", "流入地": "长途货运（沪陕线）", "从事职业": "货车司机"},
         "您常年奔波在路上，从事货车司机工作，虽然身在异地，组织始终惦记着您。", "在长途货运"),
    ],
)  # fmt: skip
def test_the_letter_says_where_the_member_is_in_plain_words(
    tmp_path: Path, fields: dict[str, str], says: str, never: str
) -> None:
    config = load_config(workspace=small_workspace(tmp_path / "ws"))
    person = member_from_mapping({"id": "A1", "name": "张三", **fields}, source="r.csv")
    (assigned,) = assign_plans(config, [person])
    html = Renderer(config).html(booklet_content(config, *assigned))
    letter = html[html.index('id="letter"') : html.index('id="toc"')]
    assert says in letter and never not in letter


def test_doctor_without_fontconfig_tools_says_to_install_fontconfig(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from packgen.render import fonts
    from packgen.render.machine import diagnose

    real = shutil.which
    monkeypatch.setattr(fonts.shutil, "which", lambda name: None if name.startswith("fc-") else real(name))
    fonts.installed_coverage.cache_clear()
    try:
        report = diagnose()
    finally:
        fonts.installed_coverage.cache_clear()
    assert report["problems"] == [
        "fontconfig's fc-list and fc-match are missing: fonts cannot be checked and glyph checks are off "
        "(apt-get install fontconfig)"
    ]
    assert report["ok"] is False
