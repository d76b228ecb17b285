"""For the print shop, the office printer, large print and screens, read back from real PDFs: trim
and bleed boxes, crop marks outside the bleed, PDF/X-4 markers, saddle imposition's page order, the
large-print edition's text size, the digital edition's tags."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from booklets import MM, cmyk_profile, pdf_text_sizes, small_workspace
from conftest import requires_poppler

from packgen.build import read_and_assign
from packgen.config import default_config_text, load_config
from packgen.errors import ConfigError
from packgen.outputs.impose import impose_saddle, saddle_order
from packgen.render.pdfx import NS

pytestmark = requires_poppler

BLEED = 5  #: mm: more than WeasyPrint's own BleedBox reaches (10 pt, 3.53 mm)
ROSTER = (
    "党员编号,姓名,所在党支部,流动类型,网络条件,邮寄地址,大字版\n"
    "A1,张三,东湖村党支部,境外,良好,,\n"
    "A2,李四,西山村党支部,市内,较差,临江县人民路1号,\n"
    "A3,王五,西山村党支部,市内,较差,临江县人民路2号,是\n"
)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build for a print shop: 5 mm bleed, crop marks, PDF/X-4, imposed print runs; A1 is online
    (a digital edition), A3 asked for large print in the roster."""
    root = tmp_path_factory.mktemp("shop")
    page = {"size": "A5", "bleed": f"{BLEED}mm", "crop_marks": True, "pdf_variant": "pdf/x-4",
            "output_profile": "press.icc"}  # fmt: skip
    workspace = small_workspace(root / "ws", ROSTER, page=page)
    cmyk_profile(workspace / "press.icc")
    result = subprocess.run(
        [*PACKGEN, "build", "-q", "-j", "1", "--impose", "saddle", "-o", str(root / "out")],
        cwd=workspace, capture_output=True, text=True, env=ENV,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return root / "out"


PACKGEN = [str(Path(__import__("sys").executable).parent / "packgen")]
ENV = {"SOURCE_DATE_EPOCH": "1796000000", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}


def boxes(pdf: Path) -> list[dict[str, list[float]]]:
    with pikepdf.open(pdf) as doc:
        return [
            {name: [float(v) for v in page.obj[f"/{name}"]] for name in ("MediaBox", "TrimBox", "BleedBox")}
            for page in doc.pages
        ]


def size_mm(box: list[float]) -> tuple[int, int]:
    return round((box[2] - box[0]) / MM), round((box[3] - box[1]) / MM)


def test_every_page_has_the_trim_box_and_a_bleed_box_of_the_whole_bleed(shop: Path) -> None:
    runs = [p for p in (shop / "print").glob("print-run-*.pdf") if not p.stem.endswith("-imposed")]
    files = sorted((shop / "booklets").glob("*.pdf")) + sorted(runs)
    assert [f.name for f in files] == [
        "A1.pdf", "A2.pdf", "A3.pdf", "print-run-delivered-large.pdf", "print-run-delivered.pdf",
        "print-run-online.pdf",
    ]  # fmt: skip
    for pdf in files:
        for page in boxes(pdf):
            trim, bleed, media = page["TrimBox"], page["BleedBox"], page["MediaBox"]
            assert size_mm(trim) == (148, 210)
            assert [round((b - t) / MM, 2) for b, t in zip(bleed, trim, strict=True)] == [-5, -5, 5, 5]
            # the sheet holds the marks beyond the bleed: 5 mm bleed, 5 mm marks, 1 mm to spare
            assert [round((m - t) / MM, 2) for m, t in zip(media, trim, strict=True)] == [-11, -11, 11, 11]


def test_crop_marks_sit_outside_the_bleed_over_the_cover_band(shop: Path, tmp_path: Path) -> None:
    from PIL import Image

    dpi = 100
    stem = tmp_path / "cover"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", "-l", "1", shop / "booklets" / "A1.pdf", stem],
                   check=True)  # fmt: skip
    image = Image.open(f"{stem}.png").convert("RGB")
    px = dpi / 25.4  # pixels per mm
    trim_x, trim_y = 11 * px, 11 * px  # the trim's top left corner

    def dark(x0: float, y0: float, x1: float, y1: float) -> bool:
        return image.crop((int(x0), int(y0), int(x1), int(y1))).convert("L").getextrema()[0] < 100

    # the top left crop mark: on the trim line x, from the bleed's edge outwards; nothing in the bleed
    # above the corner but the red band, which runs into the bleed
    assert dark(trim_x - 1, 1 * px, trim_x + 2, 5.5 * px)
    red = image.getpixel((int(image.width / 2), int(trim_y - 2 * px)))
    assert red[0] > 120 and red[1] < 60 and red[2] < 60, red
    assert not dark(
        trim_x - 10 * px, trim_y - 10 * px, trim_x - 6 * px, trim_y - 6 * px
    )  # clipped to the bleed
    # registration target in the middle of the top edge, outside the bleed
    assert dark(image.width / 2 - 2, 6 * px, image.width / 2 + 2, 10 * px)


def xmp(pdf: pikepdf.Pdf) -> str:
    return pdf.Root.Metadata.read_bytes().decode("utf-8")


@pytest.mark.parametrize("name", ["booklets/A2.pdf", "print/print-run-delivered.pdf"])
def test_pdf_x4_output_intent_and_version_on_booklets_and_print_runs(shop: Path, name: str) -> None:
    with pikepdf.open(shop / name) as pdf:
        assert pdf.pdf_version == "1.6"
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFX" and str(intent.OutputConditionIdentifier) == "Test press CMYK"
        assert intent.DestOutputProfile.N == 4
        assert intent.DestOutputProfile.read_bytes() == (shop.parent / "ws" / "press.icc").read_bytes()
        assert pdf.docinfo["/Trapped"] == "/False"
        assert str(pdf.docinfo["/CreationDate"]) == str(pdf.docinfo["/ModDate"]) == "D:20261130005320Z"
        meta = xmp(pdf)
        assert f'xmlns:pdfxid="{NS["pdfxid"]}"' in meta and "<pdfxid:GTS_PDFXVersion>PDF/X-4<" in meta
        assert re.search(r"<xmpMM:DocumentID>uuid:[0-9a-f-]{36}</xmpMM:DocumentID>", meta)
        assert "<xmp:CreateDate>2026-11-30T00:53:20+00:00</xmp:CreateDate>" in meta
        assert all(page.Resources.ColorSpace.DefaultRGB[0] == "/ICCBased" for page in pdf.pages)


def test_pdf_x4_markers_are_those_weasyprint_writes(shop: Path) -> None:
    """packgen writes X-4's markers itself on composed booklets: the same XMP properties as
    WeasyPrint's own ``pdf_variant="pdf/x-4"`` (whose document id is random: not reproducible)."""
    from weasyprint import HTML

    own = HTML(string="<title>t</title><p>x</p>").write_pdf(pdf_variant="pdf/x-4")
    with pikepdf.open(io.BytesIO(own)) as theirs, pikepdf.open(shop / "booklets" / "A2.pdf") as ours:
        assert theirs.pdf_version == ours.pdf_version
        properties = set(re.findall(r"<(pdfx\w*:\w+|xmpMM:\w+|pdf:Trapped)>", xmp(theirs)))
        assert properties and properties <= set(
            re.findall(r"<(pdfx\w*:\w+|xmpMM:\w+|pdf:Trapped)>", xmp(ours))
        )


def test_a_pdf_x_variant_needs_a_printer_profile(tmp_path: Path) -> None:
    text = default_config_text().replace("  pdf_variant: none", "  pdf_variant: pdf/x-4")
    (tmp_path / "packgen.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "packgen.yaml")
    line = 1 + next(i for i, row in enumerate(text.splitlines()) if row.startswith("  pdf_variant:"))
    assert str(caught.value).endswith(
        f"  - line {line}: Config value 'page.pdf_variant': pdf/x-4 needs output_profile: the ICC profile "
        "(.icc) of the print shop's printing condition (e.g. FOGRA39), which the print shop gives you"
    )
    screen = tmp_path / "screen.icc"
    screen.write_bytes(cmyk_profile(screen).read_bytes().replace(b"prtrCMYK", b"mntrRGB ", 1))
    (tmp_path / "packgen.yaml").write_text(text.replace('output_profile: ""', "output_profile: screen.icc"))
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "packgen.yaml")
    assert str(caught.value).endswith(
        "Config value 'page.output_profile': a RGB profile of class 'mntr', not a printer's CMYK profile; "
        "PDF/X needs the profile of the printing condition (e.g. FOGRA39, GRACoL), which the print shop gives you"
    )


def numbered(path: Path, counts: list[int]) -> Path:
    """A file of booklets of ``counts`` pages, each page saying ``b<booklet>p<page>`` (A5)."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))  # fmt: skip
    for booklet, count in enumerate(counts, start=1):
        for number in range(1, count + 1):
            page = pdf.add_blank_page(page_size=(148 * MM, 210 * MM))
            page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
            page.obj.Contents = pdf.make_stream(
                f"BT /F1 40 Tf 60 300 Td (b{booklet}p{number}) Tj ET".encode()
            )
    pdf.save(path)
    return path


def halves(pdf: Path) -> list[str]:
    """What each sheet side shows: the words on its left and right half, ``-`` for a blank half."""
    with pikepdf.open(pdf) as doc:
        width, height = (float(v) for v in doc.pages[0].mediabox[2:])
        count = len(doc.pages)
    sides = []
    for side in range(1, count + 1):
        found = []
        for x in (0, width / 2):
            crop = ["-x", str(int(x)), "-y", "0", "-W", str(int(width / 2)), "-H", str(int(height))]
            text = subprocess.run(["pdftotext", "-r", "72", "-f", str(side), "-l", str(side), *crop, str(pdf), "-"],
                                  capture_output=True, text=True, check=True).stdout  # fmt: skip
            found.append(text.strip() or "-")
        sides.append("|".join(found))
    return sides


def test_a_12_page_booklet_imposed_reads_12_1_2_11_10_3_4_9_8_5_6_7(tmp_path: Path) -> None:
    source = numbered(tmp_path / "twelve.pdf", [12])
    imposed = impose_saddle(source, tmp_path / "imposed.pdf", [(1, 12)])
    assert (imposed.sheets, imposed.sheet, imposed.crop_marks) == (3, "A4", False)
    got = [re.sub(r"b1p", "", side) for side in halves(tmp_path / "imposed.pdf")]
    assert got == ["12|1", "2|11", "10|3", "4|9", "8|5", "6|7"]
    with pikepdf.open(tmp_path / "imposed.pdf") as pdf:
        assert {size_mm([float(v) for v in page.mediabox]) for page in pdf.pages} == {(297, 210)}
    # A5 on A4 leaves no room for crop marks; on A3 it does
    assert impose_saddle(source, tmp_path / "a3.pdf", [(1, 12)], sheet="A3", crop_marks=True).crop_marks
    assert halves(tmp_path / "a3.pdf")[0] == "b1p12|b1p1"


@pytest.mark.parametrize("counts", [[1, 6], [5, 3], [10, 8], [16]])
def test_every_booklet_is_padded_to_a_multiple_of_4_and_starts_a_sheet(
    tmp_path: Path, counts: list[int]
) -> None:
    source = numbered(tmp_path / "run.pdf", counts)
    starts = [1 + sum(counts[:i]) for i in range(len(counts))]
    impose_saddle(source, tmp_path / "imposed.pdf", list(zip(starts, counts, strict=True)))
    want = []
    for booklet, count in enumerate(counts, start=1):
        for pair in saddle_order(count + -count % 4):  # sheet s: front n-2s|2s+1, back 2s+2|n-2s-1
            want.append("|".join(f"b{booklet}p{n}" if n <= count else "-" for n in pair))
    assert halves(tmp_path / "imposed.pdf") == want
    assert saddle_order(8) == [(8, 1), (2, 7), (6, 3), (4, 5)]


def test_for_a_printer_that_flips_on_the_long_edge_the_backs_are_upside_down(tmp_path: Path) -> None:
    source = numbered(tmp_path / "four.pdf", [4])
    impose_saddle(source, tmp_path / "imposed.pdf", [(1, 4)], flip="long_edge")
    assert [side.replace("b1p", "") for side in halves(tmp_path / "imposed.pdf")] == ["4|1", "3|2"]


def test_the_build_imposes_each_print_run_beside_it(shop: Path, tmp_path: Path) -> None:
    runs = json.loads((shop / "manifest.json").read_text(encoding="utf-8"))["print_runs"]
    for run in runs:
        assert run["imposed"] == run["file"].replace(".pdf", "-imposed.pdf")
        with pikepdf.open(shop / run["imposed"]) as imposed:
            assert len(imposed.pages) == 2 * run["imposed_sheets"]
            assert {size_mm([float(v) for v in p.mediabox]) for p in imposed.pages} == {(297, 210)}
        assert run["imposed_sheets"] == sum(-(-b["pages"] // 4) for b in run["booklets"])
    (delivered,) = [run for run in runs if run["plan"] == "delivered" and run["edition"] == "standard"]
    back, cover = halves(shop / delivered["imposed"])[0].split("|")  # the outside of the first sheet
    assert "流动党员个性化学习辅导手册" in cover and "李四" in cover
    pages = delivered["booklets"][0]["pages"]
    assert (back == "-") is (pages % 4 != 0) and (back == "-" or "联系方式" in back)


def test_large_print_body_text_is_14pt_and_its_print_runs_are_apart(shop: Path) -> None:
    members = {
        m["id"]: m for m in json.loads((shop / "manifest.json").read_text(encoding="utf-8"))["members"]
    }
    assert {key: m["edition"] for key, m in members.items()} == {
        "A1": "standard",
        "A2": "standard",
        "A3": "large",
    }
    assert members["A3"]["edition_reason"] == "花名册“大字版”一栏为“是”"

    def body_size(member: str) -> float:
        with pikepdf.open(shop / "booklets" / f"{member}.pdf") as pdf:
            chapter = 1 + next(i for i, page in enumerate(pdf.pages) if "/Annots" not in page and i > 4)
        sizes = pdf_text_sizes(shop / "booklets" / f"{member}.pdf", chapter)
        return max(sizes, key=lambda size: sizes[size])  # the size most characters are printed in

    assert body_size("A2") == 10.0
    assert body_size("A3") == 14.0
    with pikepdf.open(shop / "booklets" / "A3.pdf") as pdf:
        count = len(pdf.pages)
    sizes = {
        size for page in range(1, count + 1) for size in pdf_text_sizes(shop / "booklets" / "A3.pdf", page)
    }
    assert min(sizes - {11.0, 12.0}) == 14.0  # all but the running header (11) and footer (12)
    plans = {run["file"]: {b["id"] for b in run["booklets"]} for run in
             json.loads((shop / "manifest.json").read_text(encoding="utf-8"))["print_runs"]}  # fmt: skip
    assert plans["print/print-run-delivered-large.pdf"] == {"A3"}
    assert plans["print/print-run-delivered.pdf"] == {"A2"}


def structure(element: Any, found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(tag, alt text) of every structure element under ``element``, in order."""
    if isinstance(element, pikepdf.Dictionary) and "/S" in element:
        found.append((str(element.S), str(element.get("/Alt", ""))))
    kids = element.get("/K") if isinstance(element, pikepdf.Dictionary) else None
    for kid in (
        kids if isinstance(kids, pikepdf.Array) else [kids] if isinstance(kids, pikepdf.Dictionary) else []
    ):
        structure(kid, found)
    return found


def test_the_digital_edition_is_tagged_with_language_title_bookmarks_links_and_alt_texts(shop: Path) -> None:
    assert sorted(p.name for p in (shop / "digital").iterdir()) == ["A1.pdf"]  # the online member only
    with pikepdf.open(shop / "digital" / "A1.pdf") as pdf:
        assert pdf.Root.Lang == "zh-CN" and pdf.Root.MarkInfo.Marked
        assert pdf.Root.ViewerPreferences.DisplayDocTitle and str(pdf.docinfo["/Title"]).endswith("张三")
        assert "<pdfuaid:part>1</pdfuaid:part>" in xmp(pdf) or 'pdfuaid:part="1"' in xmp(pdf)
        tags = structure(pdf.Root.StructTreeRoot, [])
        assert {"/Document", "/H1", "/P", "/Table", "/Link", "/Figure"} <= {tag for tag, _ in tags}
        links = [a.A.URI for page in pdf.pages for a in page.get("/Annots", []) if "/URI" in a.get("/A", {})]
        assert "https://study.example.org/qingshan/winter-2026" in links
        assert len(list(pdf.open_outline().root)) >= 5
        # no bleed, no crop marks: the page is the trim
        assert {size_mm([float(v) for v in page.mediabox]) for page in pdf.pages} == {(148, 210)}
    config = load_config(shop.parent / "ws" / "packgen.yaml")
    links = config.plans["online"].links
    alts = [alt for tag, alt in tags if tag == "/Figure"]
    assert alts == [f"二维码：{link.title} {link.url}" for link in links]


def test_large_print_by_rule_or_column_with_the_reason(tmp_path: Path) -> None:
    roster = ("党员编号,姓名,出生年月,流动类型,大字版\nB1,赵一,1950-01,市内,\nB2,钱二,1950-01,市内,否\n"
              "B3,孙三,1990-01,市内,是\nB4,李四,1990-01,市内,\n")  # fmt: skip
    workspace = small_workspace(tmp_path, roster)
    _, assigned = read_and_assign(load_config(workspace=workspace), [])
    assert [(m.id, a.edition, a.edition_reason) for m, a in assigned] == [
        ("B1", "large", "规则“年满七十”：年满70周岁，印发大字版"),
        ("B2", "standard", "花名册“大字版”一栏为“否”"),
        ("B3", "large", "花名册“大字版”一栏为“是”"),
        ("B4", "standard", ""),
    ]


def test_a_large_print_rule_that_cannot_work_is_a_config_error_with_its_line(tmp_path: Path) -> None:
    text = default_config_text().replace("    when: age >= 70", '    when: age >= "70"')
    (tmp_path / "packgen.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "packgen.yaml")
    line = 1 + text.splitlines().index('    when: age >= "70"')
    assert str(caught.value).endswith(
        f"  - line {line}: Config value 'large_print.0.when': rule '年满七十': age is a number, never the "
        'text "70"; write the number without quotes'
    )


def test_plan_and_preview_show_the_edition_and_why(run, tmp_path: Path) -> None:
    small_workspace(tmp_path, ROSTER)
    data = json.loads(run("plan", "--json").output)
    assert [(m["id"], m["edition"], m["edition_reason"]) for m in data["members"]] == [
        ("A1", "standard", ""), ("A2", "standard", ""), ("A3", "large", "花名册“大字版”一栏为“是”"),
    ]  # fmt: skip
    assert data["by_edition"] == {"standard": 2, "large": 1}
    table = run("plan").output
    assert "版本 edition" in table  # a column only when someone gets large print
    assert "大字版 large print: 1 of 3" in table
    assert "版本 edition: 大字版 (large)，花名册“大字版”一栏为“是”" in run("preview", "A3").output


def test_a_digital_edition_no_member_has_any_more_is_removed(tmp_path: Path) -> None:
    from packgen.build.incremental import remove_stale_digital
    from packgen.outputs.manifest import Entry

    (tmp_path / "digital").mkdir()
    for name in ("A1", "A2", "A3"):
        (tmp_path / "digital" / f"{name}.pdf").write_bytes(b"%PDF")
    built = [
        Entry("A1", "", "", "online", "", digital="digital/A1.pdf"),
        Entry("A2", "", "", "self_study", ""),
    ]
    left_out = {"A3": Entry("A3", "", "", "online", "", digital="digital/A3.pdf")}  # not rendered this time
    remove_stale_digital(tmp_path, built, left_out)
    assert sorted(p.name for p in (tmp_path / "digital").iterdir()) == ["A1.pdf", "A3.pdf"]


def test_merged_shards_keep_editions_and_digital_editions(shop: Path, run, tmp_path: Path) -> None:
    """A whole build merged as if it were the only shard: the large-print run and the digital edition
    come through, each checked by its sha256."""
    small_workspace(tmp_path / "ws", ROSTER)
    result = run("merge", shop, "-o", tmp_path / "merged", "-c", tmp_path / "ws" / "packgen.yaml")
    assert result.exit_code == 0, result.output
    merged = json.loads((tmp_path / "merged" / "manifest.json").read_text(encoding="utf-8"))
    assert [(m["id"], m["edition"], m["digital"]) for m in merged["members"]] == [
        ("A1", "standard", "digital/A1.pdf"), ("A2", "standard", ""), ("A3", "large", ""),
    ]  # fmt: skip
    assert (tmp_path / "merged" / "digital" / "A1.pdf").read_bytes() == (
        shop / "digital" / "A1.pdf"
    ).read_bytes()
    assert "print/print-run-delivered-large.pdf" in [r["file"] for r in merged["print_runs"]]
    (shop / "digital" / "A1.pdf").write_bytes(b"%PDF-1.7 changed")
    try:
        refused = run("merge", shop, "-o", tmp_path / "again", "-c", tmp_path / "ws" / "packgen.yaml")
    finally:
        (shop / "digital" / "A1.pdf").write_bytes((tmp_path / "merged" / "digital" / "A1.pdf").read_bytes())
    assert refused.exit_code == 2
    assert (
        f"{shop}: member 'A1': digital/A1.pdf is missing or changed since its build recorded it"
        in refused.output
    )
