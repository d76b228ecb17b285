"""Members: headers mapped, values normalised, every problem located; round trips for each format."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, pdftotext, requires_poppler, write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from packgen.roster.members import (
    INTERNET,
    MOBILITY,
    PLANS,
    YES_NO,
    Member,
    clean_text,
    load_roster,
    map_headers,
    member_from_mapping,
)
from packgen.roster.settings import RosterSettings
from packgen.roster.values import parse_birth, parse_phone

DATA = ROOT / "tests" / "data"


# --- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "padding",
    [" ", "\t", "\u3000", "\xa0", "\u2002", "\u200b", "\ufeff", "\u202f", " \u3000\u200b "],
    ids=["space", "tab", "full-width", "nbsp", "en-space", "zero-width", "bom", "narrow-nbsp", "mixed"],
)
def test_every_kind_of_whitespace_is_trimmed(padding: str) -> None:
    assert clean_text(f"{padding}王秀兰{padding}") == "王秀兰"


def test_name_keeps_characters_outside_the_bmp() -> None:
    member = member_from_mapping({"id": "A1", "name": "\u3000陈\U00020bb7\u3000"})
    assert member.name == "陈\U00020bb7"
    assert len(member.name) == 2


@pytest.mark.parametrize(
    "written",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "+86-138-1234-5678",
     "(138) 1234 5678", "１３８ １２３４ ５６７８", " 138\u30001234\u30005678 ", 13812345678, 13812345678.0,
     "13812345678.0", "13812345678.00"],
)  # fmt: skip
def test_phone_in_any_common_spacing(written: Any) -> None:
    assert parse_phone(written) == "13812345678"


@settings(max_examples=50)
@given(
    digits=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    seps=st.lists(st.sampled_from(["", "", " ", "-", "\u3000", " - "]), min_size=10, max_size=10),
    prefix=st.sampled_from(["", "+86", "+86 ", "+86-"]),
)
def test_any_spacing_of_a_mobile_number_gives_its_digits(digits: str, seps: list[str], prefix: str) -> None:
    written = prefix + "".join(d + sep for d, sep in zip(digits, seps + [""], strict=True))
    assert parse_phone(written) == digits


@settings(max_examples=50)
@given(
    text=st.text(min_size=1).filter(lambda t: clean_text(t) == t),
    left=st.text(alphabet=" \t\r\n\u3000\xa0\u2002\u200b\ufeff\u2060", max_size=4),
    right=st.text(alphabet=" \t\r\n\u3000\xa0\u2002\u200b\ufeff\u2060", max_size=4),
)
def test_trimming_removes_exactly_the_padding(text: str, left: str, right: str) -> None:
    assert clean_text(left + text + right) == text


def test_landline_and_foreign_phones_keep_their_digits() -> None:
    assert parse_phone("0523-8800 1234") == "052388001234"
    assert parse_phone("+81 90 0000 0137") == "+819000000137"


def test_phone_excel_rounded_to_scientific_notation_says_how_to_fix() -> None:
    with pytest.raises(ValueError) as caught:
        parse_phone("1.38123E+10")
    assert str(caught.value) == (
        "Excel wrote this phone number as a rounded number; format the column as Text in Excel, "
        "type the numbers again and export once more"
    )


@pytest.mark.parametrize(
    "written",
    ["1975年3月", "1975 年 3 月", "1975年03月12日", "1975-03", "1975-3-12", "1975.3", "1975.03", "1975/3",
     "197503", "１９７５年３月", dt.datetime(1975, 3, 12), dt.date(1975, 3, 12), 27465, "27465"],
)  # fmt: skip
def test_birth_dates_as_organisers_write_them(written: Any) -> None:
    assert parse_birth(written) == dt.date(1975, 3, 1)


def test_birth_1975_10_is_october_not_january() -> None:
    assert parse_birth("1975.10") == dt.date(1975, 10, 1)


@pytest.mark.parametrize("written", ["1975年13月", "三月", "1975", "03/1975", "1850-01", "75.3"])
def test_bad_birth_dates_are_refused(written: str) -> None:
    with pytest.raises(ValueError, match=r"^not a birth date; expected year and month such as 1975年3月"):
        parse_birth(written)


def _labels(table: dict[str, Any]) -> list[tuple[str, Any]]:
    return sorted(table.items())


@pytest.mark.parametrize(("label", "key"), _labels(MOBILITY))
def test_mobility_labels(label: str, key: str) -> None:
    assert member_from_mapping({"id": "A1", "name": "张三", "流动类型": label}).mobility == key


@pytest.mark.parametrize(("label", "key"), _labels(INTERNET))
def test_internet_labels(label: str, key: str) -> None:
    assert member_from_mapping({"id": "A1", "name": "张三", "网络条件": label}).internet == key


@pytest.mark.parametrize(("label", "key"), _labels(YES_NO))
def test_can_return_labels(label: str, key: bool) -> None:
    assert member_from_mapping({"id": "A1", "name": "张三", "能否返乡": label}).can_return is key


@pytest.mark.parametrize(("label", "key"), _labels(PLANS))
def test_plan_override_labels(label: str, key: str) -> None:
    assert member_from_mapping({"id": "A1", "name": "张三", "指定学习方式": label}).plan == key


@pytest.mark.parametrize(
    ("written", "key"),
    [("Out of province", "out_of_province"), ("OUT-OF-PROVINCE", "out_of_province"), (" 省外\u3000", "out_of_province"),
     ("Abroad", "abroad"), ("On the road", "on_the_road")],
)  # fmt: skip
def test_labels_ignore_case_spacing_and_hyphens(written: str, key: str) -> None:
    assert member_from_mapping({"id": "A1", "name": "张三", "mobility": written}).mobility == key


def test_full_width_id_is_folded_to_ascii() -> None:
    assert member_from_mapping({"id": "ＱＳ００１２", "name": "张三"}).id == "QS0012"


def test_unknown_label_says_what_is_expected(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "党员编号,姓名,网络条件\nA1,张三,很快\n")
    roster = load_roster([path])
    assert [str(p) for p in roster.errors] == [
        f"{path}, row 2, column '网络条件': '很快': unknown internet condition (网络条件); expected one of "
        "良好 / 好 / 稳定 / 一般 / 中 / 较差 / 差 / 弱 / 不稳定 / 无 / 没有 / 无网络 (or good / fair / weak / none); "
        "if it means one of them, say so under values: in packgen.yaml:\n"
        "  values:\n    internet:\n      很快: good  # or fair, weak, none"
    ]


# --- headers -----------------------------------------------------------------------------------


def test_headers_match_ignoring_case_spaces_and_punctuation() -> None:
    mapping = map_headers(["Member ID", "姓 名", "PHONE", "能否返乡？", "微信号"])
    assert mapping == {
        "Member ID": "id",
        "姓 名": "name",
        "PHONE": "phone",
        "能否返乡？": "can_return",
        "微信号": "微信号",
    }


def test_config_columns_map_headers_packgen_does_not_know(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "工号,党员,手机号,微信号\nA1,张三,138 0000 0001,zs01\n")
    roster = load_roster([path], RosterSettings(columns={"工号": "id", "党员": "name", "手机号": "phone"}))
    assert roster.problems == []
    (member,) = roster.members
    assert (member.id, member.name, member.phone) == ("A1", "张三", "13800000001")
    assert member.extra == {"微信号": "zs01"}  # an unknown column stays, under its own header


def test_missing_required_column_lists_the_columns_found(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "编号,名字,支部\nA1,张三,东湖村\n")
    roster = load_roster([path])
    assert [str(p) for p in roster.problems] == [
        f"{path}: no column for required field(s) name; columns found: 编号, 名字, 支部. "
        "Rename the column or map it under 'columns:' in packgen.yaml"
    ]


# --- rows and files ----------------------------------------------------------------------------


def test_example_fixtures_read_as_organisers_meant_them() -> None:
    roster = load_roster([DATA])
    assert [str(p) for p in roster.problems] == [  # its second sheet is read by --sheet (test_readers)
        f"{DATA / 'roster.xlsx'}: read sheet '花名册' only; the sheet(s) 境外 hold data too: read one with "
        "--sheet NAME, or put every member in one sheet"
    ]
    by_id = {m.id: m for m in roster.members}
    assert set(by_id) == {"G001", "G002", "G003", "U001", "U002", "X001", "X002", "0012", "Y002"}
    assert by_id["U001"].name == "王秀兰"  # full-width spaces trimmed
    assert by_id["U002"].name == "陈\U00020bb7"  # outside the BMP, kept
    assert by_id["Y002"].name == "黄\U0002a6a5"
    assert by_id["G002"].notes == "夜班为主\n周末可联系"
    assert by_id["G001"].address == "临江县城关镇人民路1号,3单元"
    assert by_id["G003"].phone == "13800002003"
    assert by_id["X001"].birth == dt.date(1957, 6, 1)
    assert by_id["X001"].source == "roster.xlsx, row 3"
    assert by_id["0012"].birth == dt.date(1975, 10, 1)
    assert by_id["0012"].extra == {"微信号": "linxiao01"}


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    first = write_csv(tmp_path / "a.csv", "党员编号,姓名\nA1,张三\nA2,李四\n")
    second = write_csv(tmp_path / "b.yaml", "- id: A3\n  name: 王五\n- id: Ａ2\n  name: 李四\n")
    roster = load_roster([first, second])
    assert [m.id for m in roster.members] == ["A1", "A2", "A3"]
    assert [str(p) for p in roster.errors] == [
        f"{second}, item 2, column 'id': 'A2': duplicate member id, already used at a.csv, row 3"
    ]


def test_every_problem_is_collected_not_just_the_first(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "r.csv",
        "党员编号,姓名,出生年月,联系电话,流动类型\nA1,,1975年3月,138,省外\nA2,李四,1975年13月,13800000002,外太空\nA3,王五,,,\n",
    )
    roster = load_roster([path])
    assert [m.id for m in roster.members] == ["A3"]
    assert [(p.row, p.column) for p in roster.errors] == [
        (2, "联系电话"), (2, "姓名"), (3, "出生年月"), (3, "流动类型"),
    ]  # fmt: skip


def test_header_only_file_is_an_error_not_an_empty_success(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "党员编号,姓名\r\n,\r\n")
    roster = load_roster([path])
    assert [str(p) for p in roster.errors] == [
        f"{path}: the file has a header row but no members; check that this is the right file or sheet (--sheet)"
    ]


def test_cells_right_of_the_last_column_are_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "党员编号,姓名,邮寄地址\nA1,张三,苏州市,工业园区\nA2,李四,\n")
    roster = load_roster([path])
    assert [m.id for m in roster.members] == ["A2"]
    assert [str(p) for p in roster.errors] == [
        f"{path}, row 2: 1 cell(s) right of the last column (工业园区); "
        "quote a value that holds a comma, or give the column a header"
    ]


def test_yaml_list_in_a_field_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.yaml", "- id: A1\n  name: [张, 三]\n")
    roster = load_roster([path])
    assert [str(p) for p in roster.errors] == [
        f"{path}, item 1, column 'name': expected one value, not a list or mapping",
    ]  # and not "name is empty" besides


def test_delivered_without_address_is_a_warning(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "党员编号,姓名,指定学习方式,邮寄地址\nA1,张三,送学上门,\n")
    roster = load_roster([path])
    assert roster.errors == []
    assert [m.id for m in roster.members] == ["A1"]
    assert [str(p) for p in roster.warnings] == [
        f"{path}, row 2, column '邮寄地址': plan is 送学上门 (delivered) but there is no address to deliver to"
    ]


# --- round trips: what is written is what is read ----------------------------------------------

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
NON_BMP = st.characters(min_codepoint=0x20000, max_codepoint=0x2A6D6)
WORD = st.text(
    alphabet=st.one_of(CJK, st.sampled_from("ABCxyz0123456789,;\"'()#-（）、·")), min_size=0, max_size=10
)
PADDING = st.text(alphabet=" \t\u3000\xa0\u200b", max_size=2)

HEADERS = {
    "zh": ["党员编号", "姓名", "性别", "出生年月", "所在党支部", "流动类型", "流入地", "从事职业", "联系电话",
           "网络条件", "能否返乡", "邮寄地址", "送学路线", "指定学习方式", "备注", "微信号"],
    "en": ["id", "name", "gender", "birth", "branch", "mobility", "location", "occupation", "phone",
           "internet", "can_return", "address", "route", "plan", "notes", "微信号"],
}  # fmt: skip


@st.composite
def members(draw: st.DrawFn) -> tuple[Member, list[Any]]:
    """A member and the cells an organiser might write for it (labels, spacing, date formats)."""
    ident = draw(st.from_regex(r"[A-Z]{0,2}[0-9]{1,6}", fullmatch=True))
    name = draw(st.text(alphabet=st.one_of(CJK, NON_BMP, st.just("·")), min_size=1, max_size=6))
    name = name.strip("·") or "张"
    year, month = draw(st.integers(1930, 2005)), draw(st.integers(1, 12))
    birth = draw(
        st.sampled_from([f"{year}年{month}月", f"{year}-{month:02d}", f"{year}.{month}", dt.date(year, month, 1), ""])
    )  # fmt: skip
    phone = "1" + draw(st.from_regex(r"[3-9][0-9]{9}", fullmatch=True))
    phone_written = draw(
        st.sampled_from([phone, f"{phone[:3]} {phone[3:7]} {phone[7:]}", f"+86 {phone}", f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"])
    )  # fmt: skip
    mobility, internet, can_return, plan = (draw(st.sampled_from(_labels(t) + [("", None)])) for t in (MOBILITY, INTERNET, YES_NO, PLANS))  # fmt: skip
    gender = draw(st.sampled_from(["", "男", "女"]))
    texts = [draw(WORD) for _ in range(6)]  # branch, location, occupation, address, route, wechat
    notes_lines = draw(st.lists(st.text(alphabet=CJK, min_size=1, max_size=5), max_size=3))
    member = Member(
        id=ident, name=name, gender=gender, birth=dt.date(year, month, 1) if birth != "" else None,
        branch=texts[0], mobility=mobility[1], location=texts[1], occupation=texts[2], phone=phone,
        internet=internet[1], can_return=can_return[1], address=texts[3], route=texts[4], plan=plan[1],
        notes="\n".join(notes_lines), extra={"微信号": texts[5]},
    )  # fmt: skip
    cells = [
        ident, draw(PADDING) + name + draw(PADDING), gender, birth, texts[0], mobility[0], texts[1], texts[2],
        phone_written, internet[0], can_return[0], texts[3], texts[4], plan[0], "\n".join(notes_lines), texts[5],
    ]  # fmt: skip
    return member, cells


ROSTERS = st.lists(members(), min_size=1, max_size=6, unique_by=lambda pair: pair[0].id)
ROUND_TRIP = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read_back(path: Path) -> list[dict[str, Any]]:
    roster = load_roster([path])
    assert roster.errors == []
    return [m.model_dump(exclude={"source"}) for m in roster.members]


def _expected(roster: list[tuple[Member, list[Any]]]) -> list[dict[str, Any]]:
    return [m.model_dump(exclude={"source"}) for m, _ in roster]


@ROUND_TRIP
@given(
    roster=ROSTERS,
    language=st.sampled_from(["zh", "en"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
)
def test_csv_round_trip(roster: list[tuple[Member, list[Any]]], language: str, encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS["zh"] if encoding == "gb18030" else HEADERS[language])
    for _, cells in roster:
        writer.writerow([c.strftime("%Y-%m") if isinstance(c, dt.date) else c for c in cells])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roster.csv"
        path.write_bytes(buffer.getvalue().encode(encoding))
        assert _read_back(path) == _expected(roster)


@ROUND_TRIP
@given(roster=ROSTERS, language=st.sampled_from(["zh", "en"]))
def test_xlsx_round_trip(roster: list[tuple[Member, list[Any]]], language: str) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS[language])
    for _, cells in roster:
        sheet.append([c if c != "" else None for c in cells])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roster.xlsx"
        book.save(path)
        assert _read_back(path) == _expected(roster)


@ROUND_TRIP
@given(roster=ROSTERS, language=st.sampled_from(["zh", "en"]), nested=st.booleans())
def test_yaml_round_trip(roster: list[tuple[Member, list[Any]]], language: str, nested: bool) -> None:
    items = [dict(zip(HEADERS[language], cells, strict=True)) for _, cells in roster]
    data: Any = {"members": items} if nested else items
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roster.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        assert _read_back(path) == _expected(roster)


# --- more that organisers' files hold ----------------------------------------------------------


def test_two_columns_for_one_field_first_wins_and_a_difference_warns(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "r.csv",
        "党员编号,姓名,联系电话,手机\nA1,张三,13800000001,138 0000 0001\nA2,李四,,13800000002\nA3,王五,13800000003,13900000003\nA4,赵六,13800000004,12x\n",
    )
    roster = load_roster([path])
    assert [m.phone for m in roster.members] == ["13800000001", "13800000002", "13800000003", "13800000004"]
    assert [str(p) for p in roster.warnings] == [
        f"{path}, row 4, column '手机': '13900000003': a second column for phone that differs from '联系电话'; "
        "packgen uses '联系电话' (13800000003) and ignores this one",
        f"{path}, row 5, column '手机': '12x': a second column for phone that differs from '联系电话'; "
        "packgen uses '联系电话' (13800000004) and ignores this one",
    ]


def test_error_in_the_second_column_for_a_field_names_that_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "党员编号,姓名,联系电话,手机\nA1,张三,,12x\n")
    assert [(p.column, p.value) for p in load_roster([path]).errors] == [("手机", "12x")]


def test_online_plan_without_internet_is_a_warning(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "党员编号,姓名,指定学习方式,网络条件\nA1,张三,线上,无\n")
    roster = load_roster([path])
    assert [str(p) for p in roster.problems] == [
        f"{path}, row 2, column '指定学习方式': plan is 线上联学 (online) but the member has no internet "
        "(网络条件: 无); check one of the two"
    ]
    assert [p.severity for p in roster.problems] == ["warning"]


def test_excel_text_formula_keeps_leading_zeros(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", '党员编号,姓名,联系电话\n="0012",张三,="13800000001"\n')
    (member,) = load_roster([path]).members
    assert (member.id, member.phone) == ("0012", "13800000001")


def test_missing_column_under_a_title_row_names_the_header_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "花名册,,\n编号,名字,支部\nA1,张三,东湖村\n")
    assert [str(p) for p in load_roster([path]).problems] == [
        f"{path}: no column for required field(s) name; columns found in row 2: 编号, 名字, 支部. "
        "Rename the column or map it under 'columns:' in packgen.yaml"
    ]


def test_header_below_a_title_block_of_two_rows_is_pointed_at(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "r.csv",
        "花名册,,,\n填报单位：青山镇,,,填报日期：2026-11-01\n党员编号,姓名,支部,电话\nA1,张三,东湖村,13800000001\n",
    )
    assert [str(p) for p in load_roster([path]).problems] == [
        f"{path}: no column for required field(s) id, name; columns found in row 2: 填报单位：青山镇, "
        "column B, column C, 填报日期：2026-11-01; the header looks like row 3 (党员编号, 姓名, 支部, 电话): "
        "delete the rows above it"
    ]


@requires_poppler
def test_name_outside_the_bmp_reaches_the_booklet(run, tmp_path: Path) -> None:
    result = run("preview", "U002", "-p", DATA / "utf8-bom.csv", "--pdf", tmp_path / "u002.pdf")
    assert result.exit_code == 0, result.output
    assert "陈\U00020bb7" in pdftotext(tmp_path / "u002.pdf", first=1, last=2)


def test_unknown_gender_offers_chinese_and_english(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "党员编号,姓名,性别\nA1,张三,未填\n")
    assert [str(p) for p in load_roster([path]).errors] == [
        f"{path}, row 2, column '性别': '未填': unknown gender (性别); expected one of 男 / 女 / 男性 / 女性 "
        "(or m / male / f / female); if it means one of them, say so under values: in packgen.yaml:\n"
        "  values:\n    gender:\n      未填: 男  # or 女"
    ]


def test_excel_error_values_are_errors_in_fields_and_warnings_in_extra_columns(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "r.csv", "党员编号,姓名,所在党支部,工号\nA1,张三,#N/A,#REF!\nA2,#N/A,东湖村,7\n"
    )
    roster = load_roster([path])
    assert [str(p) for p in roster.problems] == [
        f"{path}, row 2, column '所在党支部': the cell shows Excel's error #N/A: the formula that fills it "
        "failed; correct it in Excel and export again",
        f"{path}, row 2, column '工号': the cell shows Excel's error #REF!: the formula that fills it failed; "
        "correct it in Excel and export again",
        f"{path}, row 3, column '姓名': the cell shows Excel's error #N/A: the formula that fills it failed; "
        "correct it in Excel and export again",
    ]
    assert [p.severity for p in roster.problems] == ["error", "warning", "error"]
    assert roster.members == []


def test_lines_under_the_table_are_skipped_with_a_warning(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "r.csv",
        "党员编号,姓名,性别\nA001,张三,男\n,,\n填表人：李明,审核人：王芳,\n合计,1人,\n注：本表一式两份,,\n",
    )
    roster = load_roster([path])
    assert [m.id for m in roster.members] == ["A001"]
    assert [(p.row, p.severity, p.message.split(" …")[0]) for p in roster.problems] == [
        (4, "warning", "looks like a line under the table (填表人"),
        (5, "warning", "looks like a line under the table (合计"),
        (6, "warning", "looks like a line under the table (注"),
    ]


def test_headers_with_a_hint_in_brackets_written_twice_or_as_common_variants_are_known(
    tmp_path: Path,
) -> None:
    assert map_headers(
        ["联系电话（手机）", "流动类型（市内/省内/省外/境外）", "网络条件(好/一般/差)", "出生年月日", "手机号",
         "联系方式", "Date of Birth", "Phone Number", "Remark", "备注(其他)"]
    ) == {
        "联系电话（手机）": "phone", "流动类型（市内/省内/省外/境外）": "mobility", "网络条件(好/一般/差)": "internet",
        "出生年月日": "birth", "手机号": "phone", "联系方式": "phone", "Date of Birth": "birth",
        "Phone Number": "phone", "Remark": "notes", "备注(其他)": "notes",
    }  # fmt: skip
    path = write_csv(
        tmp_path / "r.csv",
        "党员编号,姓名,联系电话,联系电话\nA1,张三,13800000001,13900000001\nA2,李四,,13900000002\n",
    )
    roster = load_roster([path])
    assert [m.phone for m in roster.members] == ["13800000001", "13900000002"]  # the empty first gives way
    assert [str(p) for p in roster.warnings] == [
        f"{path}, row 2, column '联系电话 (column D)': '13900000001': a second column for phone that differs "
        "from '联系电话'; packgen uses '联系电话' (13800000001) and ignores this one"
    ]


def test_an_id_excel_rounded_to_scientific_notation_says_how_to_fix(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "党员编号,姓名\n3.20123E+11,张三\n")
    assert [str(p) for p in load_roster([path]).errors] == [
        f"{path}, row 2, column '党员编号': '3.20123E+11': Excel wrote this id as a rounded number; format "
        "the column as Text in Excel, type the ids again and export once more"
    ]


def test_birth_1975_1_from_a_spreadsheet_number_warns_it_may_mean_october(tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(["党员编号", "姓名", "出生年月"])
    book.active.append(["A1", "张三", 1975.10])  # typed 1975.10 in a General cell: Excel keeps 1975.1
    book.active.append(["A2", "李四", "1975.10"])  # typed into a Text cell: October, no doubt
    book.save(tmp_path / "r.xlsx")
    roster = load_roster([tmp_path / "r.xlsx"])
    assert [m.birth for m in roster.members] == [dt.date(1975, 1, 1), dt.date(1975, 10, 1)]
    assert [str(p) for p in roster.warnings] == [
        f"{tmp_path / 'r.xlsx'}, row 2, column '出生年月': '1975.1': read as January 1975; if October was "
        "meant, write 1975年10月 (a spreadsheet keeps 1975.10 as the number 1975.1 unless the column is "
        "formatted as Text)"
    ]


@pytest.mark.parametrize(
    ("written", "name"),
    [("王\u3000五", "王五"), ("王 五", "王五"), ("买买提 · 艾力", "买买提·艾力"), ("Zhang San", "Zhang San")],
)
def test_spaces_padding_a_chinese_name_go_and_an_english_name_keeps_its_own(written: str, name: str) -> None:
    assert member_from_mapping({"id": "A1", "name": written}).name == name


@pytest.mark.parametrize("written", ["8613800000007", "0086 138 0000 0007", "+86 13800000007"])
def test_a_mobile_with_the_country_code_written_any_way_is_the_mobile(written: str) -> None:
    assert parse_phone(written) == "13800000007"


def test_ids_that_differ_only_in_case_are_a_warning(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "党员编号,姓名\nA003,张三\na003,张三\n")
    roster = load_roster([path])
    assert [m.id for m in roster.members] == ["A003", "a003"]
    assert [str(p) for p in roster.warnings] == [
        f"{path}, row 3, column '党员编号': 'a003': differs only in upper/lower case from A003 at r.csv, "
        "row 2; if they are one member, keep one row"
    ]
