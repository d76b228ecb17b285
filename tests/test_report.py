"""packgen plan --export: the plan as a spreadsheet, read back with openpyxl."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from conftest import PROFILES, write_csv


def test_xlsx_export_matches_the_plan(run, tmp_path: Path) -> None:
    export = tmp_path / "plan.xlsx"
    result = run("plan", PROFILES, "--export", export, "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    book = openpyxl.load_workbook(export, read_only=True)
    assert book.sheetnames == ["名单", "统计", "未能覆盖"]

    members = list(book["名单"].iter_rows(values_only=True))
    assert members[0] == ("编号", "姓名", "支部", "学习方式", "方式代码", "规则", "理由", "版本", "未能覆盖")
    assert [(row[0], row[4]) for row in members[1:]] == [(m["id"], m["plan"]) for m in plan["members"]]

    counts = list(book["统计"].iter_rows(values_only=True))
    header, rows = counts[0], {row[0]: row for row in counts[1:]}
    assert header == ("支部", "就地自学", "线上联学", "送学上门", "合计")
    for branch, by_plan in plan["by_branch"].items():
        keys = ("self_study", "online", "delivered")
        assert rows[branch][1:] == (*(by_plan.get(key, 0) for key in keys), sum(by_plan.values()))
    assert rows["合计"][-1] == len(plan["members"])

    gaps = list(book["未能覆盖"].iter_rows(values_only=True))
    assert [row[0] for row in gaps[1:]] == [m["id"] for m in plan["not_covered"]]


def test_csv_export_neutralises_formulas(run, tmp_path: Path) -> None:
    roster = write_csv(tmp_path / "r.csv", '党员编号,姓名,所在党支部\nA1,=HYPERLINK("x"),东湖村\n')
    export = tmp_path / "plan.csv"
    result = run("plan", roster, "--export", export, "--quiet")
    assert result.exit_code == 0, result.output
    text = export.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")
    assert 'A1,"\'=HYPERLINK(""x"")",东湖村' in text.decode("utf-8-sig")


def test_export_to_unknown_kind_is_a_usage_error(run, tmp_path: Path) -> None:
    result = run("plan", PROFILES, "--export", tmp_path / "plan.pdf")
    assert result.exit_code == 2
    assert result.output == f"error: --export {tmp_path / 'plan.pdf'}: give a file ending in .xlsx or .csv\n"


def test_xlsx_export_keeps_text_as_text_without_a_visible_apostrophe_and_is_readable(
    run, tmp_path: Path
) -> None:
    roster = write_csv(
        tmp_path / "r.csv",
        '党员编号,姓名,所在党支部,指定学习方式\n0012,=HYPERLINK("x"),东湖村,自学\nA2,李四,西山村,\n',
    )
    export = tmp_path / "plan.xlsx"
    assert run("plan", roster, "--export", export, "--quiet").exit_code == 0
    sheet = openpyxl.load_workbook(export)["名单"]
    first = [cell.value for cell in sheet[2]]
    assert first[:2] == ["0012", '=HYPERLINK("x")']  # as written: text, not a formula, no apostrophe
    assert sheet["B2"].data_type == "s"
    assert first[5] == "本人或组织指定"  # how the plan was chosen, in words
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:I3"
    assert sheet.column_dimensions["G"].width > 20  # 理由 is read, not cut off


def test_csv_export_keeps_number_like_text_as_excel_should_show_it(run, tmp_path: Path) -> None:
    roster = write_csv(
        tmp_path / "r.csv", "党员编号,姓名,所在党支部\n0012,张三,东湖村\n320123197510010011,李四,东湖村\n"
    )
    export = tmp_path / "plan.csv"
    assert run("plan", roster, "--export", export, "--quiet").exit_code == 0
    lines = export.read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].startswith('"=""0012""",张三,') and lines[2].startswith('"=""320123197510010011""",李四,')
