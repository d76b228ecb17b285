"""The print run and the delivery papers, read back from the PDFs and CSV a build writes."""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from booklets import words as words_on
from conftest import pdftotext
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from test_build import MEMBERS, make_workspace, manifest

from packgen.build import BuildOptions, BuildResult, build
from packgen.config import load_config
from packgen.content.plans import NO_ADDRESS
from packgen.outputs.manifest import Entry
from packgen.outputs.printrun import Placement, combine, layout, print_order

EXTRA = [
    ("T13", "钱进", "东湖村党支部", "", "一线", "送学上门", "1"),  # no address: listed, no label
    ("T14", "林晓", "西岭村党支部", "<b>常州市</b>新北区5号", "二线", "送学上门", "1"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    workspace = make_workspace(tmp_path_factory.mktemp("ws"), MEMBERS + EXTRA)
    config = load_config(workspace=workspace)
    return build(config, options=BuildOptions(output=workspace / "out", jobs=2))


def check_print_run(path: Path, booklets: list[dict], pad_to: int) -> None:
    reader = PdfReader(path)
    expected = sum(b["pages"] + b["blank"] for b in booklets)
    assert len(reader.pages) == expected
    assert all((b["pages"] + b["blank"]) % pad_to == 0 for b in booklets)
    text = {}
    for b in booklets:
        assert b["first_page"] % pad_to == 1  # odd: a right-hand page
        first = pdftotext(path, b["first_page"], b["first_page"])
        assert b["name"] in first and b["id"] in first
        assert f"第1页/共{b['pages']}页" in first.replace(" ", "")  # page numbers restart per booklet
        assert reader.page_labels[b["first_page"] - 1] == f"{b['id']}-1"
        for blank in range(b["first_page"] + b["pages"], b["first_page"] + b["pages"] + b["blank"]):
            text[blank] = pdftotext(path, blank, blank).strip()
    assert set(text.values()) <= {""}


def test_print_run_per_plan_pads_each_booklet_to_start_on_an_odd_page(built: BuildResult) -> None:
    runs = {r.plan: r.as_dict() for r in built.print_runs}
    assert list(runs) == ["self_study", "online", "delivered"]
    for record in runs.values():
        assert record["pages"] == sum(b["pages"] + b["blank"] for b in record["booklets"])
        check_print_run(built.output / record["file"], record["booklets"], 2)
    # delivered: by route (一线 before 二线), then branch, then roster order; others by branch
    assert [b["id"] for b in runs["delivered"]["booklets"]] == ["T01", "T07", "T13", "T04", "T10", "T14"]
    assert [b["id"] for b in runs["self_study"]["booklets"]] == ["T05", "T11", "T02", "T08"]
    assert sorted(p.name for p in (built.output / "print").iterdir()) == [
        "print-run-delivered.pdf", "print-run-online.pdf", "print-run-self_study.pdf",
    ]  # fmt: skip


def test_print_run_all_padded_to_four_for_saddle_stitch(run, built: BuildResult, tmp_path: Path) -> None:
    merged = tmp_path / "merged"
    result = run("merge", built.output, "-o", merged, "--print-run", "all", "--pad-to", "4", "--quiet")
    assert result.exit_code == 0, result.output
    assert [p.name for p in (merged / "print").iterdir()] == ["print-run-all.pdf"]
    (record,) = manifest(merged)["print_runs"]
    assert record["pages"] % 4 == 0
    check_print_run(merged / record["file"], record["booklets"], 4)
    plans = [
        next(e["plan"] for e in manifest(merged)["members"] if e["id"] == b["id"]) for b in record["booklets"]
    ]
    assert plans == sorted(plans, key=["self_study", "online", "delivered"].index)
    assert len(plans) == len(MEMBERS + EXTRA)


def test_delivery_list_and_labels_for_the_delivered_plan(built: BuildResult) -> None:
    rows = list(
        csv.DictReader(io.StringIO((built.output / "delivery" / "delivery-list.csv").read_text("utf-8-sig")))
    )
    assert [(r["送学路线"], r["党员编号"]) for r in rows] == [
        ("一线", "T01"), ("一线", "T07"), ("一线", "T13"), ("二线", "T04"), ("二线", "T10"), ("二线", "T14"),
    ]  # fmt: skip
    no_address = next(r for r in rows if r["党员编号"] == "T13")
    assert (no_address["邮寄地址"], no_address["备注"]) == ("", NO_ADDRESS)
    assert built.delivery.members == 6 and built.delivery.labels == 5

    labels = built.output / "delivery" / "labels.pdf"
    reader = PdfReader(labels)
    assert len(reader.pages) == 1
    assert (round(float(reader.pages[0].mediabox.width)), round(float(reader.pages[0].mediabox.height))) == (
        595,
        842,
    )
    text = pdftotext(labels)
    for name, address in [
        ("张建国", "临江县人民路1号"),
        ("郑丽", "无锡市长江路4号"),
        ("林晓", "<b>常州市</b>新北区5号"),
    ]:
        assert f"{name} 同志 收" in text and address in text
    assert "钱进" not in text


def test_print_run_and_delivery_list_share_one_order_with_routes_by_number() -> None:
    from packgen.outputs.delivery import DeliveryRow, grouped

    members = [("D1", "三线", "甲"), ("D2", "", "甲"), ("D3", "十一线", "甲"), ("D4", "一线", "乙"),
               ("D5", "二线", "甲"), ("D6", "一线", "甲"), ("D7", "10线", "甲"), ("D8", "2线", "甲")]  # fmt: skip
    entries = [
        Entry(id=i, name="", branch=b, plan="delivered", reason="", route=r, seq=n)
        for n, (i, r, b) in enumerate(members)
    ]
    rows = [DeliveryRow(i, "", b, r, "", "", [], "", 0, n) for n, (i, r, b) in enumerate(members)]
    in_print = [e.id for e in print_order(entries)]
    assert in_print == ["D4", "D6", "D5", "D8", "D1", "D7", "D3", "D2"]  # 一 二 2 三 10 十一, no route last
    assert [r.id for r in grouped(rows)] == in_print


@settings(deadline=None)  # a loaded CI machine must not fail it
@given(st.lists(st.integers(min_value=1, max_value=60), max_size=30), st.sampled_from([2, 4]))
def test_layout_starts_every_booklet_on_a_multiple_plus_one(pages: list[int], pad_to: int) -> None:
    entries = [
        Entry(id=f"M{i}", name="", branch="", plan="online", reason="", pages=n) for i, n in enumerate(pages)
    ]
    placements = layout(print_order(entries), pad_to)
    page = 1
    for placement, count in zip(placements, pages, strict=True):
        assert placement.first_page == page and page % pad_to == 1 % pad_to
        assert 0 <= placement.blank < pad_to and (count + placement.blank) % pad_to == 0
        page += count + placement.blank


def test_merge_refuses_a_booklet_changed_after_its_build(run, built: BuildResult, tmp_path: Path) -> None:
    shard = tmp_path / "shard"
    shutil.copytree(built.output, shard)
    (shard / "booklets" / "T04.pdf").write_bytes(b"%PDF-1.7 not the booklet that was built")
    result = run("merge", shard, "-o", tmp_path / "merged")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {shard}: member 'T04': booklets/T04.pdf is missing or changed since its build recorded it; "
        "build that shard again\n"
    )
    assert not (tmp_path / "merged").exists()  # nothing written before every shard passed


_BUILD_PROCESS = os.getpid()


def _combine_unless_in_a_worker(*args: object) -> object:
    """``combine``, except that a worker process dies in it, as one killed for its memory would."""
    if os.getpid() != _BUILD_PROCESS:
        os._exit(1)
    return combine(*args)  # type: ignore[arg-type]


def test_print_runs_are_combined_in_the_build_process_when_a_worker_dies(
    built: BuildResult, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from packgen.outputs import printrun

    monkeypatch.setattr(printrun, "VOLUME_BOOKLETS", 2)
    monkeypatch.setattr(printrun, "combine", _combine_unless_in_a_worker)
    entries = [e for e in built.entries if e.plan == "delivered"]  # six booklets: three volumes
    output = tmp_path / "out"
    shutil.copytree(built.output, output)
    records = [r.as_dict() for r in printrun.write_print_runs(output, entries, "plan", pad_to=2, jobs=2)]
    assert [r["status"] for r in records] == ["built"] * 3
    for record in records:
        check_print_run(output / record["file"], record["booklets"], 2)


@pytest.mark.parametrize("jobs", [1, 2])  # volumes combined one after another, or in two processes
def test_a_large_plan_is_split_into_volumes(
    built: BuildResult, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, jobs: int
) -> None:
    from packgen.outputs import printrun

    monkeypatch.setattr(printrun, "VOLUME_BOOKLETS", 4)
    entries = [e for e in built.entries if e.plan == "delivered"]  # six booklets: volumes of 4 and 2
    output = tmp_path / "out"
    shutil.copytree(built.output, output)  # the module's build stays as it was for the other tests
    records = [r.as_dict() for r in printrun.write_print_runs(output, entries, "plan", pad_to=2, jobs=jobs)]
    assert [(r["file"], r["volume"], r["volumes"]) for r in records] == [
        ("print/print-run-delivered-01.pdf", 1, 2),
        ("print/print-run-delivered-02.pdf", 2, 2),
    ]
    ordered = [b["id"] for r in records for b in r["booklets"]]
    assert ordered == ["T01", "T07", "T13", "T04", "T10", "T14"]  # the same order, cut in two
    for record in records:
        assert record["booklets"][0]["first_page"] == 1
        check_print_run(output / record["file"], record["booklets"], 2)
    assert not (output / "print" / "print-run-delivered.pdf").exists()  # the single file it replaced


def test_blank_pages_have_the_booklet_pages_sheet_with_trim_and_bleed(tmp_path: Path) -> None:
    import pikepdf

    booklet = pikepdf.Pdf.new()
    for _ in range(3):
        page = booklet.add_blank_page(page_size=(612.28, 858.9))
        page.obj.BleedBox = pikepdf.Array([0, 0, 612.28, 858.9])
        page.obj.TrimBox = pikepdf.Array([8.5, 8.5, 603.78, 850.4])
    booklet.save(tmp_path / "b.pdf")
    pages = combine(tmp_path, [Placement("B1", "甲", "b.pdf", 1, 3, 1)], tmp_path / "run.pdf").pages
    with pikepdf.Pdf.open(tmp_path / "run.pdf") as run:
        boxes = [
            [[round(float(v), 2) for v in p.obj[box]] for box in ("/MediaBox", "/BleedBox", "/TrimBox")]
            for p in run.pages
        ]
    assert pages == 4
    assert boxes == [[[0, 0, 612.28, 858.9], [0, 0, 612.28, 858.9], [8.5, 8.5, 603.78, 850.4]]] * 4


def test_a_print_run_has_a_title_pdf_1_7_and_blank_pages_without_an_empty_stream(tmp_path: Path) -> None:
    """What a print shop's preflight reads: the version the content needs, a title, valid streams."""
    import pikepdf

    booklet = pikepdf.Pdf.new()
    booklet.add_blank_page(page_size=(419.53, 595.28))
    booklet.save(tmp_path / "b.pdf")
    combine(tmp_path, [Placement("B1", "甲", "b.pdf", 1, 1, 1)], tmp_path / "print-run-online.pdf")
    with pikepdf.Pdf.open(tmp_path / "print-run-online.pdf") as run:
        assert run.pdf_version == "1.7"
        assert str(run.docinfo["/Title"]) == "print-run-online"
        assert (
            "/Contents" not in run.pages[1].obj
        )  # a blank page needs none; an empty Flate stream is invalid


@pytest.mark.parametrize("length", [20, 80, 120])
def test_a_long_address_keeps_the_phone_and_dates_on_the_label(tmp_path: Path, length: int) -> None:
    from packgen.config import load_config
    from packgen.outputs.delivery import DeliveryRow, render_labels
    from packgen.render.templates import environment as _environment

    config = load_config(workspace=tmp_path)
    address = ("江苏省无锡市新吴区长江路" * 12)[: length - 4] + "402室"
    row = DeliveryRow(
        id="T01", name="张建国", branch="东湖村党支部", route="一线", address=address,
        phone="13800000001", rounds=["2026-12-10", "2027-01-07", "2027-02-04"], file="", pages=0, seq=0,
    )  # fmt: skip
    (tmp_path / "labels.pdf").write_bytes(render_labels(config, _environment(config), [row]))
    label_bottom = 42.4 / 25.4 * 72  # the first label's lower edge, in points from the top
    words = [w for page in words_on(tmp_path / "labels.pdf") for w in page]
    last = max(w[4] for w in words)
    assert any("402室" in w[0] for w in words) and any("2027-02-04" in w[0] for w in words)
    assert [w[0] for w in words if w[0] in ("138", "0000", "0001")] == ["138", "0000", "0001"]  # the phone
    assert last <= label_bottom, f"text ends {last:.1f} pt down, the label at {label_bottom:.1f}"


@pytest.mark.parametrize("jobs", [1, 2, "a broken pool"])
def test_labels_past_one_part_are_rendered_in_parts_and_joined_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: Any
) -> None:
    """A province's roster has tens of thousands of labels: one document of them all took memory
    that grew with the roster. Parts of SHEETS_PER_PART sheets are rendered apart and joined. A
    pool whose worker was killed (out of memory) leaves them to be rendered in the build's process."""
    from concurrent.futures.process import BrokenProcessPool

    from packgen.config import load_config
    from packgen.outputs import delivery
    from packgen.outputs.delivery import DeliveryRow, render_labels
    from packgen.render.templates import environment as _environment

    monkeypatch.setattr(delivery, "SHEETS_PER_PART", 2)
    in_process = jobs != 2  # one job, or the pool broken: the parts are rendered in this process
    if jobs == "a broken pool":

        class Broken(delivery.ProcessPoolExecutor):
            def map(self, *args: Any, **kwargs: Any) -> Any:
                raise BrokenProcessPool("a worker died")

        monkeypatch.setattr(delivery, "ProcessPoolExecutor", Broken)
        jobs = 2
    rendered: list[int] = []
    real = delivery.render_pdf
    if in_process:  # (in a pool the parts are rendered in the workers, by the real function)
        monkeypatch.setattr(
            delivery,
            "render_pdf",
            lambda html, *a: rendered.append(html.count('class="sheet"')) or real(html, *a),
        )
    config = load_config(workspace=tmp_path)
    rows = [
        DeliveryRow(
            id=f"L{i:02d}",
            name="张建国",
            branch="东湖村党支部",
            route="一线",
            address=f"江苏省无锡市新吴区长江路{i}号",
            phone="13800000001",
            rounds=["2026-12-10"],
            file="",
            pages=0,
            seq=i,
        )  # fmt: skip
        for i in range(14 * 4 + 3)  # five sheets: parts of 2, 2 and 1
    ]
    (tmp_path / "labels.pdf").write_bytes(render_labels(config, _environment(config), rows, jobs=jobs))
    assert rendered == ([2, 2, 1] if in_process else [])
    reader = PdfReader(tmp_path / "labels.pdf")
    assert len(reader.pages) == 5
    assert reader.metadata.title == f"{config.organization.campaign} · 送学上门地址标签"
    ids = [w[0] for page in words_on(tmp_path / "labels.pdf") for w in page if w[0].startswith("L")]
    assert ids == [f"L{i:02d}" for i in range(59)]
    one = render_labels(config, _environment(config), rows[:14])
    assert len(PdfReader(io.BytesIO(one)).pages) == 1 and one.startswith(b"%PDF-1.7")
