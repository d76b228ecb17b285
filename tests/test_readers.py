"""Readers: every format and encoding organisers really have, read into rows numbered as they see them."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, write_csv
from openpyxl import Workbook

from packgen.errors import InputError
from packgen.roster import limits, readers
from packgen.roster.readers import read_table

DATA = ROOT / "tests" / "data"


def test_gb18030_csv_as_excel_writes_it() -> None:
    raw = (DATA / "excel-gbk.csv").read_bytes()
    assert b"\r\n" in raw and not raw.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    table = read_table(DATA / "excel-gbk.csv")
    assert table.headers[:3] == ["党员编号", "姓名", "性别"]
    assert [row.number for row in table.rows] == [2, 3, 4]  # the two trailing empty rows skipped
    first, second, third = (row.cells for row in table.rows)
    assert first["邮寄地址"] == "临江县城关镇人民路1号,3单元"  # a quoted comma stays in its cell
    assert second["备注"] == "夜班为主\n周末可联系"  # a line break inside a cell
    assert third["姓名"] == '郑"大"海'
    assert third["备注"] == '说"跑车"时不便接电话'  # doubled quotes inside a quoted cell


def test_utf8_with_bom_keeps_full_width_space_and_non_bmp_for_the_member_stage() -> None:
    table = read_table(DATA / "utf8-bom.csv")
    assert table.headers[0] == "党员编号"  # the BOM is not part of the first header
    assert table.rows[0].cells["姓名"] == "\u3000王秀兰\u3000"
    assert table.rows[1].cells["姓名"] == "陈\U00020bb7"
    assert [row.number for row in table.rows] == [2, 3]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_each_encoding_is_detected(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "r.csv", "党员编号,姓名\nA1,张三\n", encoding)
    table = read_table(path)
    assert table.headers == ["党员编号", "姓名"]
    assert table.rows[0].cells == {"党员编号": "A1", "姓名": "张三"}


def test_forced_encoding_reads_what_detection_would_misread(tmp_path: Path) -> None:
    # Big5 bytes also decode as GB18030 (into other characters); only --encoding gets it right
    path = write_csv(tmp_path / "r.csv", "id,姓名\nA1,張三\n", "big5")
    assert list(read_table(path).rows[0].cells.values()) != ["A1", "張三"]
    assert list(read_table(path, encoding="big5").rows[0].cells.values()) == ["A1", "張三"]


def test_forced_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "id,name\nA1,Zhang\nA2,张三\n", "gb18030")
    with pytest.raises(InputError) as caught:
        read_table(path, encoding="utf-8")
    assert str(caught.value) == (
        f"{path}: cannot be read as utf-8 (bad byte at line 3); "
        "try --encoding utf-8 or --encoding gb18030, or leave --encoding out"
    )


def test_unknown_encoding_name(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "id,name\nA1,Zhang\n")
    with pytest.raises(InputError, match=r"^unknown encoding 'klingon'; try utf-8, utf-8-sig or gb18030$"):
        read_table(path, encoding="klingon")


@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_delimiter_is_sniffed_from_the_header(tmp_path: Path, sep: str) -> None:
    path = write_csv(tmp_path / "r.csv", f"id{sep}name{sep}address\nA1{sep}张三{sep}苏州,工业园区\n")
    cells = read_table(path).rows[0].cells
    if sep == ",":
        assert cells == {"id": "A1", "name": "张三", "address": "苏州"}
    else:
        assert cells == {"id": "A1", "name": "张三", "address": "苏州,工业园区"}


@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_delimiter_is_sniffed_below_a_title_line(tmp_path: Path, sep: str) -> None:
    path = write_csv(tmp_path / "r.csv", f"青山镇流动党员花名册\nid{sep}name\nA1{sep}张三\n")
    assert read_table(path).rows[0].cells == {"id": "A1", "name": "张三"}


def test_rows_keep_spreadsheet_numbers_across_blank_rows_and_multiline_cells(tmp_path: Path) -> None:
    text = 'id,name,notes\nA1,张三,"one\ntwo\nthree"\n\n,,\nA2,李四,\n'
    table = read_table(write_csv(tmp_path / "r.csv", text))
    assert [(row.number, row.cells["id"]) for row in table.rows] == [(2, "A1"), (5, "A2")]


def test_title_row_above_the_header_is_skipped(tmp_path: Path) -> None:
    text = "青山镇流动党员花名册,,\n,,\n党员编号,姓名,备注\nA1,张三,\n"
    table = read_table(write_csv(tmp_path / "r.csv", text))
    assert table.header_row == 3
    assert table.headers == ["党员编号", "姓名", "备注"]
    assert [row.number for row in table.rows] == [4]


def test_blank_and_repeated_headers_are_named_by_column_letter(tmp_path: Path) -> None:
    table = read_table(write_csv(tmp_path / "r.csv", "id,name,,name,\nA1,张三,x,Zhang,\n"))
    assert table.headers == ["id", "name", "column C", "name (column D)"]
    assert table.rows[0].cells == {"id": "A1", "name": "张三", "column C": "x", "name (column D)": "Zhang"}


def test_cells_right_of_the_last_header_are_kept_as_overflow(tmp_path: Path) -> None:
    table = read_table(write_csv(tmp_path / "r.csv", "id,name,address\nA1,张三,苏州市,工业园区\n"))
    assert table.rows[0].cells["address"] == "苏州市"
    assert table.rows[0].overflow == ["工业园区"]


def test_xlsx_made_with_openpyxl_title_row_dates_and_numbers() -> None:
    table = read_table(DATA / "roster.xlsx")
    assert table.header_row == 2
    assert [row.number for row in table.rows] == [3, 5]
    cells = table.rows[0].cells
    assert cells["出生年月"] == dt.date(1957, 6, 1)  # a date cell, as its format shows it
    assert cells["联系电话"] == 13800004001
    assert table.rows[1].cells["邮寄地址"] is None


def test_xlsx_sheet_by_name_or_position() -> None:
    by_name = read_table(DATA / "roster.xlsx", sheet="境外")
    by_position = read_table(DATA / "roster.xlsx", sheet="2")
    assert by_name.headers == by_position.headers == ["id", "name", "mobility", "internet"]
    assert by_name.rows[0].cells["name"] == "林晓"


def test_xlsx_unknown_sheet_lists_the_sheets() -> None:
    with pytest.raises(InputError) as caught:
        read_table(DATA / "roster.xlsx", sheet="Sheet9")
    assert (
        str(caught.value) == f"{DATA / 'roster.xlsx'}: no sheet named 'Sheet9'; the sheets are: 花名册, 境外"
    )


def test_xlsx_with_a_huge_stored_dimension_reads_only_its_cells(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["id", "name"])
    sheet.append(["A1", "张三"])
    path = tmp_path / "r.xlsx"
    book.save(path)
    # rewrite the stored dimension as the whole sheet, as some exporters do
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp_path / "big.xlsx", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                # openpyxl writes '<dimension ref="A1:B2" />' or, with lxml installed, without the space
                data = re.sub(rb'<dimension ref="A1:B2"\s*/>', b'<dimension ref="A1:XFD1048576" />', data)
                assert b"XFD1048576" in data
            dst.writestr(info, data)
    table = read_table(tmp_path / "big.xlsx")
    assert table.headers == ["id", "name"]
    assert [row.cells for row in table.rows] == [{"id": "A1", "name": "张三"}]


def test_xlsx_zip_bomb_is_refused_before_unpacking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = Workbook()
    book.active.append(["id", "name"])
    path = tmp_path / "r.xlsx"
    book.save(path)
    monkeypatch.setattr(limits, "MAX_UNZIPPED_BYTES", 1000)
    with pytest.raises(InputError, match=r"unpacks to \d+ KB, more than any roster \(limit 1000 bytes\)"):
        read_table(path)


def test_yaml_list_and_members_forms_read_the_same(tmp_path: Path) -> None:
    items = "- id: A1\n  name: 张三\n- id: A2\n  name: 李四\n"
    as_list = read_table(write_csv(tmp_path / "a.yaml", items))
    nested = read_table(
        write_csv(tmp_path / "b.yml", "members:\n" + "".join(f"  {line}\n" for line in items.splitlines()))
    )
    assert [r.cells for r in as_list.rows] == [r.cells for r in nested.rows]
    assert [r.number for r in nested.rows] == [1, 2]
    assert nested.row_word == "item"


def test_yaml_plain_values_stay_text() -> None:
    table = read_table(DATA / "members.yaml")
    cells = table.rows[0].cells
    # YAML 1.1 would make these the number 10, the number 1975.1 and False
    assert (cells["id"], cells["birth"], cells["can_return"]) == ("0012", "1975.10", "no")
    assert cells["微信号"] == "linxiao01"
    assert table.rows[1].cells["name"] == "黄\U0002a6a5"


def test_yaml_null_is_blank(tmp_path: Path) -> None:
    table = read_table(write_csv(tmp_path / "r.yaml", "- id: A1\n  name: 张三\n  notes: ~\n  route:\n"))
    assert table.rows[0].cells == {"id": "A1", "name": "张三", "notes": None, "route": None}


def test_yaml_empty_item_is_skipped_like_a_blank_row(tmp_path: Path) -> None:
    table = read_table(write_csv(tmp_path / "r.yaml", "- {id: A1, name: 张三}\n-\n- {id: A2, name: 李四}\n"))
    assert [(r.number, r.cells["id"]) for r in table.rows] == [(1, "A1"), (3, "A2")]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "- {id: A1, name: 张三}\n- 李四\n",
            "item 2 is not a member: '李四'; write each member as fields, e.g. - {id: A1, name: 张三}",
        ),
        (
            "- id: A1\n  name: 张三\n  name: 李四\n",
            "not valid YAML: 'name' is given twice; only the last would count, so keep one (line 3, column 3)",
        ),
    ],
)
def test_yaml_item_that_is_no_member_or_gives_a_key_twice_is_refused(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = write_csv(tmp_path / "r.yaml", text)
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert str(caught.value) == f"{path}: {problem}"


def test_gb18030_yaml_is_read_too(tmp_path: Path) -> None:
    table = read_table(write_csv(tmp_path / "r.yaml", "- id: A1\n  name: 张三\n", "gb18030"))
    assert table.rows[0].cells["name"] == "张三"


def _workbook(path: Path, sheets: dict[str, list[list[object]]], hidden: tuple[str, ...] = ()) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        if title in hidden:
            sheet.sheet_state = "hidden"
    book.save(path)
    return path


def test_merged_cells_below_the_header_give_their_value_to_every_row(tmp_path: Path) -> None:
    """Organisers merge one 所在党支部 cell over a branch's members; Excel shows it on every row."""
    path = tmp_path / "merged.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.append(["花名册"])
    sheet.append(["党员编号", "姓名", "所在党支部", "流动类型"])
    sheet.append(["D001", "张三", "东湖村党支部", "省外"])
    sheet.append(["D002", "李四", None, None])
    sheet.append(["D003", "王五", None, "省内"])
    sheet.merge_cells("A1:D1")  # the title over the table stays a title
    sheet.merge_cells("C3:C5")
    sheet.merge_cells("D3:D4")
    book.save(path)
    table = read_table(path)
    assert table.headers == ["党员编号", "姓名", "所在党支部", "流动类型"]
    assert [(r.cells["所在党支部"], r.cells["流动类型"]) for r in table.rows] == [
        ("东湖村党支部", "省外"),
        ("东湖村党支部", "省外"),
        ("东湖村党支部", "省内"),
    ]


def test_without_sheet_the_first_visible_sheet_with_rows_is_read_and_others_are_named(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "book.xlsx",
        {
            "填表说明": [["请勿修改表头"], ["第二行"]],
            "Sheet1": [],
            "东湖村": [["党员编号", "姓名"], ["D001", "张三"]],
            "西岭村": [["党员编号", "姓名"], ["X001", "赵六"]],
        },
        hidden=("填表说明",),
    )
    table = read_table(path)
    assert [r.cells["姓名"] for r in table.rows] == ["张三"]
    assert table.notes == [
        "read sheet '东湖村' only; the sheet(s) 西岭村 hold data too: read one with --sheet NAME, or put "
        "every member in one sheet"
    ]
    assert read_table(path, sheet="西岭村").notes == []  # chosen by name: nothing to say


def test_a_folder_leaves_out_excel_lock_files_and_hidden_files(tmp_path: Path) -> None:
    write_csv(tmp_path / "roster.csv", "党员编号,姓名\nA1,张三\n")
    (tmp_path / "~$roster.xlsx").write_bytes(b"\x00" * 165)  # what Excel and WPS keep beside an open file
    (tmp_path / "._roster.csv").write_bytes(b"\x00\x05\x16\x07")  # macOS metadata on a USB stick
    assert readers.find_profiles([tmp_path]) == [tmp_path / "roster.csv"]


def test_a_gbk_line_in_a_utf8_file_is_named_instead_of_garbling_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    text = "党员编号,姓名,所在党支部,备注\nA001,张三,东湖村党支部,\nA002,李四,东湖村党支部,"
    path.write_bytes(text.encode("utf-8") + "腿脚不便".encode("gbk") + b"\n")
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert str(caught.value) == (
        f"{path}: line 3 is not UTF-8 while the rest of the file is (text pasted from a GBK file?); type "
        "that line again or save the file once more as UTF-8 (if the whole file is GBK, give --encoding "
        "gb18030)"
    )
    gbk = tmp_path / "gbk.csv"  # a whole GBK file is still read as such
    gbk.write_bytes((text + "腿脚不便\n").encode("gbk"))
    assert read_table(gbk).rows[1].cells["备注"] == "腿脚不便"


def test_a_number_formatted_with_leading_zeros_is_read_as_excel_shows_it(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["党员编号", "姓名", "联系电话"])
    sheet.append([12, "张三", 5238800123])
    sheet.append([7, "李四", 13800000002])
    sheet["A2"].number_format = "0000"  # typed 0012: Excel keeps 12 and shows 0012
    sheet["C2"].number_format = "00000000000"  # a landline with its leading 0
    sheet["A3"].number_format = '"QS"0000'
    book.save(tmp_path / "r.xlsx")
    rows = read_table(tmp_path / "r.xlsx").rows
    assert [(r.cells["党员编号"], r.cells["联系电话"]) for r in rows] == [
        ("0012", "05238800123"),
        ("QS0007", 13800000002),
    ]


def test_validate_dot_in_a_workspace_does_not_read_its_config_as_a_roster(tmp_path: Path) -> None:
    write_csv(tmp_path / "roster.csv", "党员编号,姓名\nA1,张三\n")
    (tmp_path / "packgen.yaml").write_text("organization: {}\n", encoding="utf-8")
    assert readers.find_profiles([tmp_path]) == [tmp_path / "roster.csv"]


def test_a_header_of_two_rows_names_each_column_by_its_lower_cell_or_the_one_merged_down(
    tmp_path: Path,
) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["党员编号", "基本信息", None, "流动情况", None, "联系电话"])
    sheet.append([None, "姓名", "性别", "所在党支部", "流动类型", None])
    sheet.append(["A001", "张三", "男", "东湖村党支部", "省外", "13800000001"])
    for cells in ("A1:A2", "B1:C1", "D1:E1", "F1:F2"):
        sheet.merge_cells(cells)
    book.save(tmp_path / "r.xlsx")
    table = read_table(tmp_path / "r.xlsx")
    assert table.headers == ["党员编号", "姓名", "性别", "所在党支部", "流动类型", "联系电话"]
    assert [row.number for row in table.rows] == [3]
    assert table.rows[0].cells["流动类型"] == "省外"


def test_formulas_a_program_wrote_without_calculating_them_are_refused(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["党员编号", "姓名", "备注"])
    sheet.append(['="A"&TEXT(1,"000")', "张三", None])  # openpyxl writes the formula, no computed value
    book.save(tmp_path / "r.xlsx")
    with pytest.raises(InputError) as caught:
        read_table(tmp_path / "r.xlsx")
    assert str(caught.value) == (
        f"{tmp_path / 'r.xlsx'}: 1 cell(s) (A2) hold formulas that were never calculated (a program wrote "
        "the file, Excel or WPS did not save it); open it in Excel or WPS and save it again"
    )


def test_a_formula_whose_computed_result_is_empty_text_is_a_blank_cell(tmp_path: Path) -> None:
    """As Excel saves =IF(…, "", …): an empty <v> typed str."""
    path = tmp_path / "r.xlsx"
    book = Workbook()
    book.active.append(["党员编号", "姓名", "备注"])
    book.active.append(["A1", "张三", "x"])
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    cell = re.search(r'<c r="C2"[^>]*>.*?</c>', sheet)
    assert cell is not None
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(
        cell.group(0), '<c r="C2" t="str"><f>IF(1,"","x")</f><v></v></c>'
    ).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    assert read_table(path).rows[0].cells["备注"] in (None, "")


def test_empty_rows_a_sheet_is_formatted_down_to_do_not_count_towards_the_row_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_ROWS", 3)
    book = Workbook()
    sheet = book.active
    sheet.append(["党员编号", "姓名"])
    sheet.append(["A1", "张三"])
    for number in range(3, 40):
        sheet.row_dimensions[number].height = 20  # formatted, empty
        sheet.cell(number, 1).number_format = "@"
    book.save(tmp_path / "r.xlsx")
    table = read_table(tmp_path / "r.xlsx")
    assert [row.number for row in table.rows] == [2]
