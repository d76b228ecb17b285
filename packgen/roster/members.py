"""Turn rows of cells into validated, normalised :class:`Member` records.

Headers are mapped to fields (built-in Chinese and English aliases, then the config's
``columns:``); values are normalised (labels to keys, whitespace trimmed, phones and birth dates
parsed). Every problem is collected as a :class:`Problem` that says file, row, column, value and
what is expected, so ``packgen validate`` can report them all at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packgen.roster.headers import filled, header_below, map_headers
from packgen.roster.infer import Inference
from packgen.roster.model import Member, Problem, Roster
from packgen.roster.rows import RowReader
from packgen.roster.settings import RosterSettings
from packgen.roster.table import Row, Table, too_long
from packgen.roster.values import clean_text, format_phone
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
    PlanKey,
    header_key,
)

__all__ = [  # the vocabulary and values a rule, a template or a script needs, from one place
    "ALIASES_BY_KEY", "FIELDS", "GENDER", "INTERNET", "MOBILITY", "PLAN_KEYS", "PLANS", "YES_NO",
    "Inference", "Member", "PlanKey", "Problem", "Roster", "RosterSettings", "clean_text", "format_phone", "header_key",
    "load_roster", "map_headers", "member_from_mapping", "members_from_tables",
]  # fmt: skip


def members_from_tables(
    tables: Iterable[Table], settings: RosterSettings | None = None, *, consume: bool = False
) -> Roster:
    """Validate and normalise every row of every table, collecting all problems. With ``consume``
    the tables' rows are used up as they are read, so that a roster of 100,000 rows never holds all
    its cells and all its members at once."""
    settings = settings or RosterSettings()
    columns = settings.columns
    reading = RowReader(settings)
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
        reading.start(table)
        rows = table.rows[::-1]  # taken row by row from the end: the cells can go as members come
        if consume:
            table.rows = []
        while rows:
            row = rows.pop()
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
            member, problems = reading.member(table, row.number, row.cells, mapping, header_of)
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


#: how the lines under a roster's table start (totals, who filled it in), as its id cell holds them
_FOOTER = re.compile(
    r"(合计|总计|小计|共计|填表人|填报人|制表人?|审核人?|负责人|填表日期|填报日期|制表日期|说明|注)(?=$|[:：\s])"
)


def _footer(row: Row, id_header: str | None) -> str:
    """The start of a footer line (``合计``, ``填表人：李明``) found in the id column, or in the row's
    first filled cell when the id column is empty (a roster whose first column is 序号)."""
    cell = row.cells.get(id_header) if id_header else None
    if too_long(cell):
        return ""  # refused as the member's cell, with its column
    text = clean_text(cell)
    if text.isascii() and text:  # an id: the words of a footer are Chinese
        return ""
    if not text:
        text = next((t for t in map(clean_text, row.cells.values()) if t), "")
    match = _FOOTER.match(unicodedata.normalize("NFKC", text))
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
    settings: RosterSettings | None = None,
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
    tables = (read_table(path, encoding=encoding, sheet=sheet) for path in files)  # one at a time
    return members_from_tables(tables, settings, consume=True)
