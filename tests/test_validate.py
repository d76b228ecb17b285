"""`packgen validate` through the CLI: every problem located, warnings apart, hostile input refused cleanly."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, write_csv
from openpyxl import Workbook

from packgen.roster import limits

DATA = ROOT / "tests" / "data"


# --- good files, every format ------------------------------------------------------------------


def test_fixtures_of_every_format_validate_clean(run) -> None:
    result = run(
        "validate", DATA / "excel-gbk.csv", DATA / "utf8-bom.csv", DATA / "roster.xlsx", DATA / "members.yaml",
        "--sheet", "花名册",  # roster.xlsx's second sheet holds members too: without --sheet, a warning says so
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "9 members read; 0 errors, 1 warning\n"
    assert result.stderr == (  # the default rules give X002 送学上门: a warning, not an error
        "warning: roster.xlsx, row 5: X002 邵春燕 (送学上门): not covered: 送学上门但没有邮寄地址 "
        "(delivered, but no address)\n"
    )


def test_every_problem_in_every_file_is_reported_at_once(run, tmp_path: Path) -> None:
    first = write_csv(
        tmp_path / "a.csv", "党员编号,姓名,联系电话\nA1,张三,12ab\nA2,,13800000002\n", "gb18030"
    )
    second = write_csv(tmp_path / "b.yaml", "- id: A1\n  name: 张三\n  mobility: 月球\n")
    result = run("validate", first, second)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {first}, row 2, column '联系电话': '12ab': not a phone number; expected digits such as "
        "138 1234 5678 or +86 138 1234 5678",
        f"error: {first}, row 3, column '姓名': name is empty; every member needs one",
        f"error: {second}, item 1, column 'mobility': '月球': unknown mobility type (流动类型); expected one of "
        "市内 / 本市 / 县内 / 省内 / 本省 / 省外 / 外省 / 境外 / 国外 / 在途 / 跑运输 / 市内流动 / 省内流动 / "
        "省内跨市流动 / 跨省流动 / 出国（境） (or within_city / within_province / out_of_province / abroad / "
        "on_the_road); if it means one of them, say so under values: in packgen.yaml:",
        "  values:",
        "    mobility:",
        "      月球: within_city  # or within_province, out_of_province, abroad, on_the_road",
    ]
    assert result.stdout == "0 members read; 3 errors, 0 warnings\n"


def test_duplicate_ids_across_files(run, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "east.csv", "党员编号,姓名\nQS01,张三\n")
    second = write_csv(tmp_path / "west.csv", "编号,姓名\n\nQS01,张山\n")
    result = run("validate", first, second)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {second}, row 3, column '编号': 'QS01': duplicate member id, already used at east.csv, row 2\n"
    )


def test_missing_required_column_lists_columns_found(run, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "序号,名字,手机\n1,张三,13800000001\n")
    result = run("validate", path)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {path}: no column for required field(s) id, name; columns found: 序号, 名字, 手机. "
        "Rename the column or map it under 'columns:' in packgen.yaml\n"
    )


def test_config_columns_fix_unknown_headers(run, tmp_path: Path) -> None:
    from packgen.config import default_config_text

    text = default_config_text().replace("columns: {}", "columns:\n  序号: id\n  名字: name")
    (tmp_path / "packgen.yaml").write_text(text, encoding="utf-8")
    path = write_csv(tmp_path / "r.csv", "序号,名字,手机\n1,张三,13800000001\n")
    result = run("validate", path)
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 member read; 0 errors, 0 warnings\n"


# --- warnings and --strict ---------------------------------------------------------------------


@pytest.fixture
def warned_roster(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "r.csv", "党员编号,姓名,指定学习方式,邮寄地址\nA1,张三,送学上门,\nA2,李四,线上,\n"
    )


def test_warning_alone_passes(run, warned_roster: Path) -> None:
    result = run("validate", warned_roster)
    assert result.exit_code == 0
    assert result.stderr == (
        f"warning: {warned_roster}, row 2, column '邮寄地址': plan is 送学上门 (delivered) "
        "but there is no address to deliver to\n"
    )
    assert result.stdout == "2 members read; 0 errors, 1 warning\n"


def test_strict_fails_on_warnings(run, warned_roster: Path) -> None:
    result = run("validate", warned_roster, "--strict")
    assert result.exit_code == 1
    assert result.stdout == "2 members read; 0 errors, 1 warning (--strict: warnings fail)\n"


def test_json_gives_the_same_as_data(run, warned_roster: Path, tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", "党员编号,姓名,出生年月\nB1,王五,1975年13月\n")
    result = run("validate", warned_roster, bad, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "ok": False,
        "members": 2,
        "errors": 1,
        "warnings": 1,
        "problems": [
            {"severity": "warning", "file": str(warned_roster), "row": 2, "column": "邮寄地址", "value": None,
             "message": "plan is 送学上门 (delivered) but there is no address to deliver to"},
            {"severity": "error", "file": str(bad), "row": 2, "column": "出生年月", "value": "1975年13月",
             "message": "not a birth date; expected year and month such as 1975年3月, 1975-03, 1975.3 or an Excel date"},
        ],
    }  # fmt: skip
    assert result.stderr == ""


def test_json_strict_marks_warnings_as_failing(run, warned_roster: Path) -> None:
    result = run("validate", warned_roster, "--json", "--strict")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["ok"], data["errors"], data["warnings"]) == (False, 0, 1)


# --- --encoding and --sheet --------------------------------------------------------------------


def test_encoding_option_reads_a_big5_roster(run, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "id,name\nA1,張三\n", "big5")
    result = run("validate", path, "--encoding", "big5", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["members"] == 1
    plan = run("plan", path, "--encoding", "big5", "--json")
    assert [m["name"] for m in json.loads(plan.stdout)["members"]] == ["張三"]


def test_wrong_forced_encoding_exits_2(run) -> None:
    result = run("validate", DATA / "excel-gbk.csv", "--encoding", "utf-8")
    assert result.exit_code == 2
    assert result.output == (
        f"error: {DATA / 'excel-gbk.csv'}: cannot be read as utf-8 (bad byte at line 1); "
        "try --encoding utf-8 or --encoding gb18030, or leave --encoding out\n"
    )


def test_unknown_encoding_exits_2(run) -> None:
    result = run("validate", DATA / "excel-gbk.csv", "--encoding", "latin-9000")
    assert result.exit_code == 2
    assert result.output == "error: unknown encoding 'latin-9000'; try utf-8, utf-8-sig or gb18030\n"


def test_a_codec_that_is_not_for_text_exits_2(run) -> None:
    result = run("validate", DATA / "excel-gbk.csv", "--encoding", "rot13")
    assert result.exit_code == 2
    assert result.output == "error: 'rot13' is not a text encoding; try utf-8, utf-8-sig or gb18030\n"


def test_sheet_option_chooses_the_sheet(run) -> None:
    result = run("validate", DATA / "roster.xlsx", "--sheet", "境外")
    assert result.exit_code == 0
    assert result.stdout == "1 member read; 0 errors, 0 warnings\n"


def test_unknown_sheet_exits_2_naming_the_sheets(run) -> None:
    result = run("validate", DATA / "roster.xlsx", "--sheet", "Sheet1")
    assert result.exit_code == 2
    assert (
        result.output
        == f"error: {DATA / 'roster.xlsx'}: no sheet named 'Sheet1'; the sheets are: 花名册, 境外\n"
    )


# --- hostile input: one line, the right exit code, no effect outside packgen -------------------


def test_yaml_that_constructs_python_objects_is_refused(run, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.yaml", '- id: A1\n  name: !!python/object/apply:os.mkdir ["pwned"]\n')
    result = run("validate", path)
    assert result.exit_code == 2
    assert result.output == (
        f"error: {path}: not valid YAML: the tag !!python/object/apply:os.mkdir is not allowed in profiles; "
        "write plain values (line 2, column 9)\n"
    )
    assert not (tmp_path / "pwned").exists()


def test_yaml_alias_bomb_is_refused(run, tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    path = write_csv(tmp_path / "bomb.yaml", "\n".join(lines) + "\n")
    result = run("validate", path)
    assert result.exit_code == 2
    assert result.output == (
        f"error: {path}: not valid YAML: aliases (*name) are not allowed in profiles (line 2, column 8)\n"
    )


def test_yaml_nested_beyond_reason_is_refused(run, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "deep.yaml", "[" * 50_000 + "]" * 50_000)
    result = run("validate", path)
    assert result.exit_code == 2
    assert (
        result.output
        == f"error: {path}: nested far too deeply to be a roster; check that this is the right file\n"
    )


def test_file_far_larger_than_any_roster_is_refused_unread(run, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:  # sparse: 51 MB on paper, nothing on disk
        handle.truncate(51 * 1024 * 1024)
    result = run("validate", path)
    assert result.exit_code == 2
    assert result.output == (
        f"error: {path}: the file is 51 MB, more than any roster (limit 50 MB); check that this is the right file\n"
    )


def test_size_limit_applies_to_every_format(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1024)
    path = write_csv(tmp_path / "r.yaml", "- id: A1\n  name: 张三\n" * 100)
    result = run("validate", path)
    assert result.exit_code == 2
    assert result.output == (
        f"error: {path}: the file is 2 KB, more than any roster (limit 1 KB); check that this is the right file\n"
    )


def test_xlsx_zip_bomb_is_refused(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 300_000)
    monkeypatch.setattr(limits, "MAX_UNZIPPED_BYTES", 100_000)
    result = run("validate", path)
    assert result.exit_code == 2
    assert result.output == (
        f"error: {path}: unpacks to 293 KB, more than any roster (limit 98 KB); check that this is the right file\n"
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "this looks like a binary file, not a CSV text file"),
        ("r.yaml", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)), "this looks like a binary file, not YAML text"),
        ("noise.csv", bytes(range(128, 256)) * 4, "neither UTF-8 nor GB18030 text; if it is text, give its encoding with --encoding"),
        ("r.xlsx", "党员编号,姓名\nA1,张三\n".encode(), "holds text, not a workbook (a CSV file named .xlsx?); rename it to .csv"),
        ("r.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "not a readable Excel 97-2003 .xls file (Cfb error: Invalid OLE (8 bytes is too small)); open it in Excel or WPS and save it again as .xlsx"),
        ("broken.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "not a readable Excel 97-2003 .xls file (Cannot detect file format); open it in Excel or WPS and save it again as .xlsx"),
        ("r.et", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "not a workbook packgen can read (.xlsx, .xls, .xlsb, .ods); open it in Excel or WPS and save it as .xlsx"),
        ("r.ods", b"PK\x03\x04" + bytes(64), "not a workbook packgen can read (.xlsx, .xls, .xlsb, .ods); open it in Excel or WPS and save it as .xlsx"),
    ],
    ids=["png-as-csv", "elf-as-yaml", "undecodable", "csv-as-xlsx", "broken-xls", "broken-ole2-as-xlsx", "png-as-et", "broken-zip"],
)  # fmt: skip
def test_binary_and_foreign_files_are_refused(
    run, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = run("validate", path)
    assert result.exit_code == 2
    assert result.output == f"error: {path}: {message}\n"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("r.csv", b"", "the file is empty; export the roster again with its header row"),
        ("r.xlsx", b"", "the file is empty; export the roster again with its header row"),
        ("r.yaml", b"", "the file is empty; export the roster again with its header row"),
        ("r.csv", b"\xef\xbb\xbf\r\n \r\n", "the file has no header row; export the roster again with its header row"),
        ("r.yaml", b"# nothing yet\n", "the file holds no members; write a list of members, or 'members:' holding one"),
        ("r.yaml", b"members: []\n", "the file holds no members; write a list of members, or 'members:' holding one"),
        ("r.yaml", "name: 张三\n".encode(), "expected a list of members, or 'members:' holding one"),
    ],
    ids=["csv", "xlsx", "yaml", "csv-blank-lines", "yaml-comment-only", "yaml-empty-list", "yaml-mapping"],
)  # fmt: skip
def test_empty_files_exit_2_with_one_line(
    run, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = run("validate", path)
    assert result.exit_code == 2
    assert result.output == f"error: {path}: {message}\n"


def test_empty_sheet_exits_2(run, tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    Workbook().save(path)
    result = run("validate", path)
    assert result.exit_code == 2
    assert result.output == (
        f"error: {path}: the file has no header row (a row naming the columns, such as 党员编号,姓名); "
        "export the roster again with its header row\n"
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "yaml"])
def test_header_only_files_are_a_validation_error(run, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"r.{fmt}"
    if fmt == "csv":
        path.write_text("党员编号,姓名\r\n,\r\n", encoding="gb18030")
    elif fmt == "xlsx":
        book = Workbook()
        book.active.append(["党员编号", "姓名"])
        book.save(path)
    else:
        path.write_text("members:\n  - {id: '', name: ''}\n", encoding="utf-8")
    result = run("validate", path)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {path}: the file has a header row but no members; "
        "check that this is the right file or sheet (--sheet)\n"
    )
    assert result.stdout == "0 members read; 1 error, 0 warnings\n"


def test_folder_without_profiles_exits_2(run, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run("validate", tmp_path / "empty")
    assert result.exit_code == 2
    assert (
        result.output
        == "error: no profile files found; give .csv, .xlsx or .yaml files or a folder holding them\n"
    )


def test_unclosed_quote_is_refused_instead_of_swallowing_rows(run, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", '党员编号,姓名,备注\nA1,张三,ok\nA2,"李四,\nA3,王五,\n')
    result = run("validate", path)
    assert result.exit_code == 2
    assert result.output == (
        f'error: {path}: line 3 opens a quote (") that never closes, so the rest of the file ran into '
        "one cell; close the quote or remove it\n"
    )


def test_stray_quote_inside_a_cell_is_kept_as_text(run, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", '党员编号,姓名,从事职业\nA1,张三,5"屏幕维修\n')
    result = run("plan", path, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["members"][0]["name"] == "张三"


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "yaml"])
def test_more_rows_than_any_roster_is_refused(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.setattr(limits, "MAX_ROWS", 3)
    path = tmp_path / f"r.{fmt}"
    rows = [[f"A{i}", "张三"] for i in range(5)]
    if fmt == "csv":
        write_csv(path, "id,name\n" + "".join(f"{a},{b}\n" for a, b in rows))
    elif fmt == "xlsx":
        book = Workbook()
        for row in [["id", "name"], *rows]:
            book.active.append(row)
        book.save(path)
    else:
        write_csv(path, "".join(f"- {{id: {a}, name: {b}}}\n" for a, b in rows))
    result = run("validate", path)
    assert result.exit_code == 2
    noun = "members" if fmt == "yaml" else "rows"
    assert (
        result.output
        == f"error: {path}: more than 3 {noun}, more than any roster; check that this is the right file\n"
    )


def test_fifo_is_refused_without_waiting_for_a_writer(run, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    os.mkfifo(path)
    result = run("validate", path)
    assert result.exit_code == 2
    assert result.output == f"error: {path}: not a regular file; give a .csv, .xlsx or .yaml file\n"


def test_stray_quote_does_not_make_a_multiline_cell_look_unclosed(run, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", '党员编号,姓名,备注\nA1,张三,5"屏幕\nA2,李四,"夜班\n周末可联系"\n')
    result = run("validate", path)
    assert result.exit_code == 0, result.output
    assert result.stdout == "2 members read; 0 errors, 0 warnings\n"


def test_a_member_a_rule_sends_materials_to_without_an_address_is_a_warning(run) -> None:
    """Not only when the member's own 指定学习方式 asks for 送学上门: --strict gates a print run."""
    result = run("validate", "-c", ROOT / "examples" / "county-town" / "packgen.yaml", "--strict")
    assert result.exit_code == 1
    assert result.stderr == (
        "warning: roster.csv, row 10: CG009 韩秀珍 (送学上门): not covered: 送学上门但没有邮寄地址 "
        "(delivered, but no address)\n"
    )
    assert result.stdout == "9 members read; 0 errors, 1 warning (--strict: warnings fail)\n"


def test_json_gets_an_error_that_stops_the_command_as_data_too(run, tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    result = run("validate", "--json", "empty.csv")
    assert result.exit_code == 2
    message = "empty.csv: the file is empty; export the roster again with its header row"
    assert json.loads(result.stdout) == {"ok": False, "exit_code": 2, "error": message}
    assert result.stderr == f"error: {message}\n"


def test_a_sheet_number_past_the_last_says_how_many_there_are(run) -> None:
    result = run("validate", DATA / "roster.xlsx", "--sheet", "3")
    assert result.exit_code == 2
    assert result.stderr == f"error: {DATA / 'roster.xlsx'}: no sheet 3; the file has 2: 花名册, 境外\n"
