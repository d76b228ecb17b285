"""Every spreadsheet format a township office has (.xls, .xlsb, .ods, WPS .et), read like .xlsx."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from openpyxl import Workbook

from packgen.errors import InputError
from packgen.roster.excel import sniff
from packgen.roster.members import load_roster
from packgen.roster.readers import find_profiles, read_table

DATA = ROOT / "tests" / "data" / "rosters"


def refusal(path: Path) -> str:
    """The message a file is refused with."""
    with pytest.raises(InputError) as caught:
        read_table(path)
    return str(caught.value)


@pytest.mark.parametrize("kind", ["xls", "ods"])
def test_xls_and_ods_read_title_two_row_header_merged_cells_padding_and_errors_as_xlsx_does(
    kind: str,
) -> None:
    table = read_table(DATA / f"features.{kind}")
    assert (table.header_row, table.notes) == (2, [])  # the hidden instruction sheet is not read
    assert table.headers == ["党员编号", "姓名", "性别", "出生年月", "所在党支部", "联系电话", "公式"]
    rows = [
        (r.number, *(r.cells[h] for h in ("党员编号", "姓名", "出生年月", "所在党支部", "公式")))
        for r in table.rows
    ]
    assert rows == [
        (4, "0012", "张三", dt.date(1975, 3, 1), "第一党支部", "#DIV/0!"),  # 12 in the format 0000
        (5, "QS0007", "李四", dt.date(1980, 10, 1), "第一党支部", "#N/A"),  # 7 in "QS"0000
        (6, "000123", "王五", dt.date(1990, 1, 1), "第一党支部", "王五同志"),
        (7, "0042", "赵六", "1985年6月", "第二党支部", 3),
    ]


ODS_NAMESPACES = " ".join(
    f'xmlns:{prefix}="urn:oasis:names:tc:opendocument:xmlns:{name}"'
    for prefix, name in (("office", "office:1.0"), ("style", "style:1.0"), ("table", "table:1.0"),
                         ("text", "text:1.0"), ("number", "datastyle:1.0"))
)  # fmt: skip


def make_ods(path: Path, styles: str, columns: str, rows: list[list[Any]], styles_xml: str = "") -> Path:
    """An ``.ods`` of one sheet 花名册: ``styles`` (automatic styles), ``columns`` (column elements),
    ``rows`` of cells, each text, a number, or (number, cell style); ``styles_xml``: a styles.xml."""

    def cell(value: Any) -> str:
        value, style = value if isinstance(value, tuple) else (value, "")
        named = f' table:style-name="{style}"' if style else ""
        kind = "string" if isinstance(value, str) else f'float" office:value="{value}'
        text = f"<text:p>{value}</text:p>"
        return f'<table:table-cell office:value-type="{kind}"{named}>{text}</table:table-cell>'

    body = "".join("<table:table-row>" + "".join(map(cell, row)) + "</table:table-row>" for row in rows)
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NAMESPACES}>'
        f"<office:automatic-styles>{styles}</office:automatic-styles><office:body><office:spreadsheet>"
        f'<table:table table:name="花名册">{columns}{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
        archive.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/'
            'vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>',
        )
        if styles_xml:
            archive.writestr("styles.xml", styles_xml)
    return path


PADDING_STYLES = (
    '<number:number-style style:name="N1"><number:number number:decimal-places="0" '
    'number:min-integer-digits="5"/></number:number-style>'
    '<number:number-style style:name="N2"><number:number number:decimal-places="2" '
    'number:min-integer-digits="3"/></number:number-style>'
    '<style:style style:name="ce1" style:family="table-cell" style:data-style-name="N1"/>'
    '<style:style style:name="ce2" style:family="table-cell" style:data-style-name="N2"/>'
)


def test_an_ods_number_is_read_as_its_padding_format_shows_it_also_a_columns_default_one(
    tmp_path: Path,
) -> None:
    path = make_ods(
        tmp_path / "花名册.ods",
        PADDING_STYLES,  # 00000 (automatic, in content.xml), and 000.00, which is not padding
        '<table:table-column table:default-cell-style-name="ce1"/><table:table-column '
        'table:number-columns-repeated="2"/>',
        [["党员编号", "姓名", "年龄"], [42, "张三", (7, "ce2")], [12345, "李四", (61, "ce1")]],
    )
    table = read_table(path)
    assert [r.cells for r in table.rows] == [
        {"党员编号": "00042", "姓名": "张三", "年龄": 7},
        {"党员编号": "12345", "姓名": "李四", "年龄": "00061"},
    ]


def test_an_ods_padding_style_of_a_billion_digits_is_not_taken_for_one(tmp_path: Path) -> None:
    huge = PADDING_STYLES.replace('min-integer-digits="5"', 'min-integer-digits="999999999"')
    path = make_ods(tmp_path / "huge.ods", huge, "", [["党员编号", "姓名"], [(42, "ce1"), "张三"]])
    assert [r.cells for r in read_table(path).rows] == [{"党员编号": 42, "姓名": "张三"}]


def test_an_ods_whose_styles_cannot_be_read_is_refused_with_one_line(tmp_path: Path) -> None:
    path = make_ods(tmp_path / "bad.ods", PADDING_STYLES, "", [["党员编号"], [(42, "ce1")]], "<<<")
    assert refusal(path) == (
        f"{path}: not a readable OpenDocument .ods file (not well-formed (invalid token): line 1, column 1)"
    )


def test_an_error_value_in_an_xls_is_named_by_the_member_stage() -> None:
    roster = load_roster([DATA / "features.xls"])
    assert [str(p) for p in roster.problems] == [
        f"{DATA / 'features.xls'}, row {row}, column '公式': the cell shows Excel's error {error}: the formula "
        "that fills it failed; correct it in Excel and export again"
        for row, error in ((4, "#DIV/0!"), (5, "#N/A"))
    ]
    assert [(m.id, m.name, m.branch) for m in roster.members][:2] == [
        ("0012", "张三", "第一党支部"),
        ("QS0007", "李四", "第一党支部"),
    ]


def test_xlsb_reads_its_visible_sheet_below_the_title() -> None:
    table = read_table(DATA / "features.xlsb")
    assert (table.header_row, table.headers) == (2, ["党员编号", "姓名", "性别", "出生年月", "所在党支部"])
    assert [(r.number, r.cells["党员编号"], r.cells["出生年月"]) for r in table.rows] == [
        (3, 12, dt.date(1975, 3, 1)), (4, 7, dt.date(1980, 10, 1)),
    ]  # fmt: skip


@pytest.mark.parametrize("inside", ["township.xlsx", "township.xls"])
def test_a_wps_et_file_is_read_by_what_it_holds(tmp_path: Path, inside: str) -> None:
    path = shutil.copy(DATA / inside, tmp_path / "花名册.et")
    assert sniff(Path(path)) == inside.rsplit(".", 1)[1]
    table = read_table(Path(path))
    assert (len(table.rows), table.rows[0].cells["党员编号"]) == (
        174,
        "DF0001",
    )  # 172 members, 2 footer lines
    assert [p.name for p in find_profiles([tmp_path])] == ["花名册.et"]


def test_a_file_whose_suffix_lies_is_read_by_its_content(tmp_path: Path) -> None:
    path = Path(shutil.copy(DATA / "township.xls", tmp_path / "roster.xlsx"))  # an .xls renamed by hand
    assert read_table(path).rows[0].cells["姓名"] == read_table(DATA / "township.xlsx").rows[0].cells["姓名"]


def test_a_workbook_with_a_password_is_refused_with_what_to_do(tmp_path: Path) -> None:
    # an encrypted .xlsx is an OLE2 file holding an EncryptedPackage stream
    path = tmp_path / "locked.xlsx"
    path.write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptedPackage".encode("utf-16-le")
    )
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert (
        str(caught.value)
        == f"{path}: the workbook has a password; open it in Excel or WPS and save it without one"
    )


def test_a_sheet_with_a_cell_far_away_is_refused_before_it_is_loaded(tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(["党员编号", "姓名"])
    book.active.append(["0001", "张三"])
    book.active["XFD1048576"] = "x"  # a 5 KB file whose grid would take terabytes
    book.save(tmp_path / "far.xlsx")
    assert refusal(tmp_path / "far.xlsx") == (
        f"{tmp_path / 'far.xlsx'}: sheet 'Sheet' spans 1048576 rows and 16384 columns, more than any roster "
        "(limit 12,000,060 cells); delete what is far below or right of the table"
    )
