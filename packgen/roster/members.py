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

from packgen.roster.headers import filled, header_below, map_headers
from packgen.roster.table import Row, Table, too_long, without_direction_controls
from packgen.roster.values import EXCEL_ERRORS, NORMALISERS, clean_text, format_phone, one_line
from packgen.roster.vocabulary import (
    ALIASES_BY_KEY,
    FIELDS,
    GENDER,
    INTERNET,
    MOBILITY,
    PLAN_KEYS,
    PLANS,
    REQUIRED,
    YES_NO,
    Internet,
    Mobility,
    PlanKey,
    header_key,
)

__all__ = [  # the vocabulary and values a rule, a template or a script needs, from one place
    "ALIASES_BY_KEY", "FIELDS", "GENDER", "INTERNET", "MOBILITY", "PLAN_KEYS", "PLANS", "YES_NO",
    "Member", "PlanKey", "Problem", "Roster", "clean_text", "format_phone", "header_key",
    "load_roster", "map_headers", "member_from_mapping", "members_from_tables",
]  # fmt: skip


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
            below = header_below(table, columns)
            fix = (
                f"; the header looks like row {below.number} ({', '.join(filled(below))}): delete the "
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
                        f"({', '.join(clean_text(str(v)[:60]) for v in row.overflow)}); "
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
        long = too_long(raw)
        if long:
            problem(fld, long, column=header)
            continue
        raw, removed = without_direction_controls(raw)
        if removed:
            problem(fld, removed, severity="warning", column=header)
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
            values[fld] = NORMALISERS.get(fld, one_line)(raw)
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
        other = NORMALISERS.get(fld, one_line)(raw)
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


#: how the lines under a roster's table start (totals, who filled it in), as its id cell holds them
_FOOTER = re.compile(
    r"(合计|总计|小计|共计|填表人|填报人|制表人?|审核人?|负责人|填表日期|填报日期|制表日期|说明|注)(?=$|[:：\s])"
)


def _footer(row: Row, id_header: str | None) -> str:
    """The start of a footer line (``合计``, ``填表人：李明``) found in the id column, or ''."""
    cell = row.cells.get(id_header) if id_header else None
    if too_long(cell):
        return ""  # refused as the member's cell, with its column
    text = unicodedata.normalize("NFKC", clean_text(cell))
    match = _FOOTER.match(text)
    return match.group(1) if match else ""


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
    from packgen.roster.readers import find_profiles, read_table

    files = find_profiles(paths)
    if not files:
        raise InputError("no profile files found; give .csv, .xlsx or .yaml files or a folder holding them")
    tables = [read_table(path, encoding=encoding, sheet=sheet) for path in files]
    return members_from_tables(tables, columns)
