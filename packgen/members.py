"""Turn rows of cells into validated, normalised :class:`Member` records.

Headers are mapped to fields (built-in Chinese and English aliases, then the config's
``columns:``); values are normalised (labels to keys, whitespace trimmed, phones and birth dates
parsed). Every problem is collected as a :class:`Problem` that says file, row, column, value and
what is expected, so ``packgen validate`` can report them all at once.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from packgen.readers import Row, Table

FIELDS = (
    "id", "name", "gender", "birth", "branch", "mobility", "location", "occupation",
    "phone", "internet", "can_return", "address", "route", "plan", "notes",
)  # fmt: skip
REQUIRED = ("id", "name")

#: Header as organisers write it -> field. Matching ignores case, spaces and punctuation.
HEADER_ALIASES: dict[str, str] = {
    "党员编号": "id", "编号": "id", "id": "id", "memberid": "id",
    "姓名": "name", "name": "name", "党员姓名": "name",
    "性别": "gender", "gender": "gender", "sex": "gender",
    "出生年月": "birth", "出生日期": "birth", "出生年月日": "birth", "birth": "birth", "birthdate": "birth",
    "dateofbirth": "birth", "dob": "birth", "born": "birth",
    "所在党支部": "branch", "所在支部": "branch", "党支部": "branch", "支部": "branch", "branch": "branch",
    "流动类型": "mobility", "流动去向": "mobility", "mobility": "mobility",
    "流入地": "location", "现居住地": "location", "现居地": "location", "所在地": "location",
    "location": "location",
    "从事职业": "occupation", "职业": "occupation", "工作": "occupation", "occupation": "occupation",
    "联系电话": "phone", "手机": "phone", "手机号码": "phone", "手机号": "phone", "电话": "phone",
    "联系方式": "phone", "移动电话": "phone", "phone": "phone", "mobile": "phone", "phonenumber": "phone",
    "网络条件": "internet", "网络": "internet", "internet": "internet",
    "能否返乡": "can_return", "是否返乡": "can_return", "canreturn": "can_return",
    "邮寄地址": "address", "收件地址": "address", "地址": "address", "address": "address",
    "送学路线": "route", "路线": "route", "route": "route",
    "指定学习方式": "plan", "学习方式": "plan", "plan": "plan",
    "备注": "notes", "notes": "notes", "note": "notes", "remarks": "notes", "remark": "notes",
}  # fmt: skip

MOBILITY: dict[str, str] = {
    "市内": "within_city", "本市": "within_city", "县内": "within_city", "本县": "within_city",
    "within_city": "within_city", "city": "within_city",
    "省内": "within_province", "本省": "within_province", "within_province": "within_province",
    "省外": "out_of_province", "外省": "out_of_province", "out_of_province": "out_of_province",
    "境外": "abroad", "国外": "abroad", "出国": "abroad", "海外": "abroad", "abroad": "abroad",
    "在途": "on_the_road", "流动在途": "on_the_road", "跑运输": "on_the_road", "on_the_road": "on_the_road",
}  # fmt: skip
INTERNET: dict[str, str] = {
    "良好": "good", "好": "good", "稳定": "good", "good": "good",
    "一般": "fair", "中": "fair", "fair": "fair",
    "较差": "weak", "差": "weak", "弱": "weak", "不稳定": "weak", "weak": "weak", "poor": "weak",
    "无": "none", "没有": "none", "无网络": "none", "none": "none",
}  # fmt: skip
YES_NO: dict[str, bool] = {
    "是": True, "能": True, "可以": True, "y": True, "yes": True, "true": True, "1": True,
    "否": False, "不能": False, "不可以": False, "n": False, "no": False, "false": False, "0": False,
}  # fmt: skip
PLANS: dict[str, str] = {
    "就地自学": "self_study", "自学": "self_study", "self_study": "self_study", "selfstudy": "self_study",
    "线上联学": "online", "线上": "online", "网上": "online", "online": "online",
    "送学上门": "delivered", "送学": "delivered", "delivered": "delivered", "delivery": "delivered",
}  # fmt: skip
GENDER: dict[str, str] = {
    "男": "男", "女": "女", "男性": "男", "女性": "女", "m": "男", "male": "男", "f": "女", "female": "女",
}  # fmt: skip

Mobility = Literal["within_city", "within_province", "out_of_province", "abroad", "on_the_road"]
Internet = Literal["good", "fair", "weak", "none"]
PlanKey = Literal["self_study", "online", "delivered"]


class Member(BaseModel):
    """One member, with normalised values. ``extra`` holds columns that map to no field."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    gender: str = ""
    birth: dt.date | None = None
    branch: str = ""
    mobility: Mobility | None = None
    location: str = ""
    occupation: str = ""
    phone: str = ""
    internet: Internet | None = None
    can_return: bool | None = None
    address: str = ""
    route: str = ""
    plan: PlanKey | None = None
    notes: str = ""
    extra: dict[str, str] = {}
    source: str = ""  #: "file, row N" for messages

    def age(self, on: dt.date) -> int | None:
        if self.birth is None:
            return None
        return on.year - self.birth.year - ((on.month, on.day) < (self.birth.month, self.birth.day))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a profile, located as precisely as the file allows."""

    file: str
    row: int | None
    column: str | None
    message: str
    value: str | None = None
    severity: Literal["error", "warning"] = "error"
    row_word: str = "row"
    member_id: str = ""  #: the id and name of the row's member, when the row has them
    member_name: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", {self.row_word} {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        value = f" {self.value!r}:" if self.value is not None else ""
        return f"{where}:{value} {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity, "file": self.file, "row": self.row, "column": self.column,
            "value": self.value, "message": self.message,
        }  # fmt: skip


@dataclass
class Roster:
    members: list[Member] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def header_key(header: str) -> str:
    """Fold a header for matching: NFKC, lower case, no whitespace or punctuation."""
    folded = unicodedata.normalize("NFKC", header).lower()
    return "".join(ch for ch in folded if ch.isalnum())


#: :data:`HEADER_ALIASES` by :func:`header_key`
ALIASES_BY_KEY: dict[str, str] = {header_key(k): v for k, v in HEADER_ALIASES.items()}


#: what the readers add to a header written twice (``联系电话 (column D)``), and a hint in brackets
#: after a header (``联系电话（手机）``, ``流动类型（市内/省内/省外/境外）``)
_REPEATED = re.compile(r" \(column [A-Z]+\)$")
_HINT = re.compile(r"\s*[（(【\[][^）)】\]]*[）)】\]]\s*$")


def map_headers(headers: Iterable[str], columns: Mapping[str, str] | None = None) -> dict[str, str]:
    """Header as written -> field name, or the header itself for an extra column.

    A header written twice maps both columns to its field (the first filled one wins, see
    :func:`_check_same`); a known header followed by a hint in brackets is that header.
    """
    custom = {header_key(k): v for k, v in (columns or {}).items()}
    mapping: dict[str, str] = {}
    for header in headers:
        for name in dict.fromkeys(
            [header, _REPEATED.sub("", header), _HINT.sub("", _REPEATED.sub("", header))]
        ):
            key = header_key(name)
            found = custom.get(key) or ALIASES_BY_KEY.get(key)
            if found:
                mapping[header] = found
                break
        else:
            mapping[header] = clean_text(header)
    return mapping


def _header_below(table: Table, columns: Mapping[str, str] | None) -> Row | None:
    """A row under the header taken that names every required field: the real header, below a
    title block of several rows (``填报单位：… 填报日期：…``)."""
    for row in table.rows[:10]:
        if all(field in map_headers(_filled(row), columns).values() for field in REQUIRED):
            return row
    return None


def _filled(row: Row) -> list[str]:
    return [text for text in (clean_text(v) for v in [*row.cells.values(), *row.overflow]) if text]


#: Whitespace of every kind (full-width U+3000 and no-break spaces included) and zero-width marks.
_EDGES = re.compile(r"^[\s\u180e\u200b-\u200d\u2060\ufeff]+|[\s\u180e\u200b-\u200d\u2060\ufeff]+$")


def clean_text(value: Any) -> str:
    """A cell as text: None is empty, whitespace of every kind trimmed, floats like 3.0 as '3'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _EDGES.sub("", str(value))


def members_from_tables(tables: Iterable[Table], columns: Mapping[str, str] | None = None) -> Roster:
    """Validate and normalise every row of every table, collecting all problems."""
    roster = Roster()
    seen: dict[str, str] = {}
    folded: dict[str, tuple[str, str]] = {}  #: id in lower case -> (id as written, where)
    for table in tables:
        mapping = map_headers(table.headers, columns)
        fields_present = set(mapping.values())
        missing = [f for f in REQUIRED if f not in fields_present]
        if missing:
            found = (
                f"no column for required field(s) {', '.join(missing)}; columns found"
                f"{f' in row {table.header_row}' if table.header_row != 1 else ''}: {', '.join(table.headers)}"
            )
            below = _header_below(table, columns)
            fix = (
                f"; the header looks like row {below.number} ({', '.join(_filled(below))}): delete the "
                "rows above it"
                if below
                else ". Rename the column or map it under 'columns:' in packgen.yaml"
            )
            roster.problems.append(Problem(file=str(table.path), row=None, column=None, message=found + fix))
            continue
        roster.problems += [
            Problem(str(table.path), None, None, note, severity="warning") for note in table.notes
        ]
        header_of: dict[str, str] = {}
        for header, fld in mapping.items():
            if fld in FIELDS:
                header_of.setdefault(fld, header)
        if not table.rows:
            roster.problems.append(
                Problem(
                    str(table.path),
                    None,
                    None,
                    "the file has a header row but no members; check that this is the right file "
                    "or sheet (--sheet)",
                )
            )
            continue
        for row in table.rows:
            footer = _footer(row, header_of.get("id"))
            if footer:
                roster.problems.append(
                    Problem(
                        str(table.path),
                        row.number,
                        None,
                        f"looks like a line under the table ({footer} …), not a member; skipped. Delete "
                        "it from the roster if it is not one",
                        severity="warning",
                        row_word=table.row_word,
                    )  # fmt: skip
                )
                continue
            member, problems = _member_from_row(table, row.number, row.cells, mapping, header_of)
            if row.overflow:
                problems.append(
                    Problem(
                        str(table.path),
                        row.number,
                        None,
                        f"{len(row.overflow)} cell(s) right of the last column "
                        f"({', '.join(clean_text(v) for v in row.overflow)}); "
                        "quote a value that holds a comma, or give the column a header",
                        row_word=table.row_word,
                    )  # fmt: skip
                )
                member = None
            roster.problems.extend(problems)
            if member is None:
                continue
            if member.id in seen:
                roster.problems.append(
                    Problem(
                        str(table.path),
                        row.number,
                        header_of.get("id"),
                        f"duplicate member id, already used at {seen[member.id]}",
                        member.id,
                        row_word=table.row_word,
                    )  # fmt: skip
                )
                continue
            same = folded.get(member.id.casefold())
            if same:
                roster.problems.append(
                    Problem(
                        str(table.path),
                        row.number,
                        header_of.get("id"),
                        f"differs only in upper/lower case from {same[0]} at {same[1]}; if they are one "
                        "member, keep one row",
                        member.id,
                        "warning",
                        table.row_word,
                    )
                )
            seen[member.id] = member.source
            folded.setdefault(member.id.casefold(), (member.id, member.source))
            roster.members.append(member)
    return roster


def _member_from_row(
    table: Table,
    number: int,
    cells: Mapping[str, Any],
    mapping: Mapping[str, str],
    header_of: Mapping[str, str],
) -> tuple[Member | None, list[Problem]]:
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    extra: dict[str, str] = {}

    def problem(
        fld: str,
        message: str,
        value: Any = None,
        severity: Literal["error", "warning"] = "error",
        column: str | None = None,
    ) -> None:
        problems.append(
            Problem(
                str(table.path),
                number,
                column or header_of.get(fld, fld),
                message,
                None if value is None else clean_text(value),
                severity,
                table.row_word,
            )  # fmt: skip
        )

    for header, raw in cells.items():
        fld = mapping.get(header, header)
        text = clean_text(raw)
        if text in EXCEL_ERRORS:
            problem(
                fld,
                f"the cell shows Excel's error {text}: the formula that fills it failed; "
                "correct it in Excel and export again",
                severity="error" if fld in FIELDS else "warning",
                column=header,
            )
            if fld in FIELDS:
                continue
            raw, text = None, ""
        if fld not in FIELDS:
            extra[fld] = text
            continue
        if isinstance(raw, (dict, list)):
            problem(fld, "expected one value, not a list or mapping", column=header)
            continue
        if fld in values and values[fld] not in ("", None) and text:
            _check_same(table, number, header, fld, values[fld], raw, header_of, problems)
            continue  # two columns for one field: the first non-empty wins
        try:
            values[fld] = NORMALISERS.get(fld, _text)(raw)
        except ValueError as exc:
            problem(fld, str(exc), raw, column=header)
            continue
        if fld == "birth" and re.fullmatch(r"\d{4}\.1", text):
            problem(
                fld,
                f"read as January {text[:4]}; if October was meant, write {text[:4]}年10月 (a spreadsheet "
                "keeps 1975.10 as the number 1975.1 unless the column is formatted as Text)",
                raw,
                severity="warning",
                column=header,
            )
    for fld in REQUIRED:
        said = any(p.column == header_of.get(fld) and p.severity == "error" for p in problems)
        if not values.get(fld) and not said:  # a value that was refused is not also "empty"
            problem(fld, f"{fld} is empty; every member needs one")
    if problems and any(p.severity == "error" for p in problems):
        who, name = str(values.get("id") or ""), str(values.get("name") or "")
        return None, [replace(p, member_id=who, member_name=name) for p in problems]
    source = f"{table.path.name}, {table.row_word} {number}"
    member = Member(**{k: v for k, v in values.items() if v is not None}, extra=extra, source=source)
    if member.plan == "delivered" and not member.address:
        problem(
            "address",
            "plan is 送学上门 (delivered) but there is no address to deliver to",
            severity="warning",
        )
    if member.plan == "online" and member.internet == "none":
        problem(
            "plan",
            "plan is 线上联学 (online) but the member has no internet (网络条件: 无); check one of the two",
            severity="warning",
        )
    return member, problems


def _check_same(
    table: Table,
    number: int,
    header: str,
    fld: str,
    kept: Any,
    raw: Any,
    header_of: Mapping[str, str],
    problems: list[Problem],
) -> None:
    """Warn when a second column for the same field says something else than the first."""
    try:
        other = NORMALISERS.get(fld, _text)(raw)
    except ValueError:
        other = None
    if other != kept:
        problems.append(
            Problem(
                str(table.path),
                number,
                header,
                f"a second column for {fld} that differs from '{header_of.get(fld, fld)}'; "
                f"packgen uses '{header_of.get(fld, fld)}' ({clean_text(kept)}) and ignores this one",
                clean_text(raw),
                "warning",
                table.row_word,
            )  # fmt: skip
        )


def _text(value: Any) -> str:
    return re.sub(r"\s+", " ", clean_text(value))


def _lines(value: Any) -> str:
    """Free text that keeps its line breaks (a note typed with Alt+Enter in Excel)."""
    lines = (_text(line) for line in clean_text(value).splitlines())
    return "\n".join(line for line in lines if line)


def _choice(table: Mapping[str, Any], what: str) -> Any:
    labels = " / ".join(dict.fromkeys(k for k in table if not k.isascii()))
    keys = " / ".join(dict.fromkeys(str(v) for v in table.values()))
    if not keys.isascii():  # values are Chinese themselves (性别): show the English spellings instead
        keys = " / ".join(k for k in table if k.isascii())

    def parse(value: Any) -> Any:
        text = clean_text(value)
        if not text:
            return None
        key = unicodedata.normalize("NFKC", text).lower().replace(" ", "_").replace("-", "_")
        if key in table:
            return table[key]
        raise ValueError(f"unknown {what}; expected one of {labels} (or {keys})")

    return parse


def parse_phone(value: Any) -> str:
    """Phone numbers in any common spacing, stored as digits with an optional leading +."""
    text = unicodedata.normalize("NFKC", clean_text(value))
    if not text:
        return ""
    _refuse_rounded(text, "phone number", "numbers")
    text = re.sub(r"^(\+?\d+)\.0+$", r"\1", text)  # 13812345678.0: a number a spreadsheet wrote as decimal
    digits = re.sub(r"[\s\-().]", "", text)
    if not re.fullmatch(r"\+?\d{5,15}", digits):
        raise ValueError("not a phone number; expected digits such as 138 1234 5678 or +86 138 1234 5678")
    mobile = re.fullmatch(r"(?:\+|00)?86(1\d{10})", digits)  # China's code, with +, 00 or neither
    if mobile:
        digits = mobile.group(1)
    return digits


def format_phone(phone: str) -> str:
    """A stored phone as people read it: 138 1234 5678."""
    if len(phone) == 11 and phone.isdigit() and phone.startswith("1"):
        return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    return phone


_BIRTH_FORMATS = (
    re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月(?:\s*(?P<d>\d{1,2})\s*日)?"),
    re.compile(r"(?P<y>\d{4})[-./](?P<m>\d{1,2})(?:[-./](?P<d>\d{1,2}))?(?:[ T]00:00(?::00)?)?"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?:(?P<d>\d{2}))?"),
)


def parse_birth(value: Any) -> dt.date | None:
    """Birth year and month as 1975年3月, 1975-03, 1975.3, 197503, or an Excel date."""
    if isinstance(value, dt.datetime):
        return value.date().replace(day=1)
    if isinstance(value, dt.date):
        return value.replace(day=1)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 10_000 <= value <= 60_000:
        return _from_excel_serial(int(value))
    text = unicodedata.normalize("NFKC", clean_text(value))
    if not text:
        return None
    if re.fullmatch(r"\d{5}", text) and 10_000 <= int(text) <= 60_000:
        return _from_excel_serial(int(text))
    for pattern in _BIRTH_FORMATS:
        match = pattern.fullmatch(text)
        if match:
            year, month = int(match["y"]), int(match["m"])
            if 1900 <= year <= dt.date.today().year and 1 <= month <= 12:
                return dt.date(year, month, 1)
    raise ValueError(
        "not a birth date; expected year and month such as 1975年3月, 1975-03, 1975.3 or an Excel date"
    )


def parse_id(value: Any) -> str:
    """A member id; full-width letters and digits typed with a Chinese IME become ASCII."""
    text = unicodedata.normalize("NFKC", _text(value))
    _refuse_rounded(text, "id", "ids")
    return text


def _refuse_rounded(text: str, what: str, these: str) -> None:
    """Refuse a value Excel wrote in scientific notation (1.38E+10): its digits are lost."""
    if re.fullmatch(r"\d(?:\.\d+)?[eE]\+\d+", text):
        raise ValueError(
            f"Excel wrote this {what} as a rounded number; format the column as Text in Excel, type the "
            f"{these} again and export once more"
        )


#: what a spreadsheet cell shows when the formula that fills it fails
EXCEL_ERRORS = frozenset(
    {"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!", "#SPILL!", "#CALC!"}
)
#: how the lines under a roster's table start (totals, who filled it in), as its id cell holds them
_FOOTER = re.compile(
    r"(合计|总计|小计|共计|填表人|填报人|制表人?|审核人?|负责人|填表日期|填报日期|制表日期|说明|注)(?=$|[:：\s])"
)


def _footer(row: Row, id_header: str | None) -> str:
    """The start of a footer line (``合计``, ``填表人：李明``) found in the id column, or ''."""
    text = unicodedata.normalize("NFKC", clean_text(row.cells.get(id_header) if id_header else None))
    match = _FOOTER.match(text)
    return match.group(1) if match else ""


def _from_excel_serial(serial: int) -> dt.date:
    """An Excel date serial (days since 1899-12-30, as a date cell shows without its format)."""
    date = (dt.date(1899, 12, 30) + dt.timedelta(days=serial)).replace(day=1)
    if date > dt.date.today():
        raise ValueError("a birth date in the future; expected year and month such as 1975年3月")
    return date


def parse_name(value: Any) -> str:
    """A name; spaces inside a Chinese name (王　五, padded to line up with three-character names) go."""
    text = _text(value)
    if _HAN_NAME.fullmatch(text):
        return "".join(text.split())
    return text


#: a name of Chinese characters, maybe with the middle dot of a transcribed name (买买提·艾力) and spaces
_HAN_NAME = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff·・\s]+")


NORMALISERS: dict[str, Any] = {
    "id": parse_id,
    "name": parse_name,
    "notes": _lines,
    "birth": parse_birth,
    "phone": parse_phone,
    "mobility": _choice(MOBILITY, "mobility type (流动类型)"),
    "internet": _choice(INTERNET, "internet condition (网络条件)"),
    "can_return": _choice(YES_NO, "yes/no answer"),
    "plan": _choice(PLANS, "study plan (指定学习方式)"),
    "gender": lambda v: _choice(GENDER, "gender (性别)")(v) or "",
}


def member_from_mapping(data: Mapping[str, Any], source: str = "<data>") -> Member:
    """Build one member from a mapping of fields (for scripts and tests); raises ValueError."""
    table = Table(path=Path(source), headers=list(data), rows=[Row(number=1, cells=dict(data))])
    roster = members_from_tables([table])
    if roster.errors:
        raise ValueError("; ".join(str(p) for p in roster.errors))
    return roster.members[0]


def load_roster(
    paths: Iterable[Path],
    columns: Mapping[str, str] | None = None,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
) -> Roster:
    """Read every profiles file (folders expand to the files in them) into one roster.

    A file that cannot be read at all raises :class:`~packgen.errors.InputError`; problems in rows
    are collected on the returned roster.
    """
    from packgen.errors import InputError
    from packgen.readers import find_profiles, read_table

    files = find_profiles(paths)
    if not files:
        raise InputError("no profile files found; give .csv, .xlsx or .yaml files or a folder holding them")
    tables = [read_table(path, encoding=encoding, sheet=sheet) for path in files]
    return members_from_tables(tables, columns)
