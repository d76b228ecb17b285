"""Rows of cells as every reader returns them: a :class:`Table` of headers and numbered rows.

A spreadsheet's rows (CSV and Excel alike) become a table here: the header row found under any
title rows, a two-row header read as one, merged cells spread over the rows they cover, blank
rows skipped and the row limit kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packgen.errors import InputError
from packgen.roster import limits


@dataclass(slots=True)
class Row:
    number: int  #: row number as the user sees it (header is row 1 in a spreadsheet)
    cells: dict[str, Any]
    #: non-blank cells to the right of the last header (an unquoted comma, a column without header)
    overflow: list[Any] = field(default_factory=list)


@dataclass
class Table:
    path: Path
    headers: list[str]
    rows: list[Row] = field(default_factory=list)
    #: how rows are numbered in messages: "row" for spreadsheets, "item" for YAML lists
    row_word: str = "row"
    #: the row holding the headers (after any title rows above it)
    header_row: int = 1
    #: what the reader noticed about the file as a whole (sheets it did not read), for warnings
    notes: list[str] = field(default_factory=list)


def table_from_records(
    path: Path,
    records: Iterable[Sequence[Any]],
    merged: Sequence[tuple[int, int, int, int]] = (),
    *,
    blanks_are_none: bool = False,
) -> Table:
    """Headers and numbered rows from spreadsheet rows (row 1 first).

    The header row is the first row with two or more filled cells, so a title row above it
    (``青山镇流动党员花名册``, as many rosters have) is skipped. Blank rows are skipped; numbers stay
    those of the spreadsheet. A ``merged`` range below the header (one 所在党支部 cell over all of a
    branch's members) gives its value to every cell it covers, as Excel shows it. A reader whose
    blank cells are all None says so with ``blanks_are_none`` (then rows are counted in C).
    """
    rows: list[list[Any]] = []
    filled: list[int] = []  #: filled cells of each row
    used = 0  #: rows with something in them: empty rows a sheet formats down to row 250,000 do not count
    for record in records:
        values = (
            record
            if type(record) is list and len(record) <= limits.MAX_COLUMNS
            else list(record[: limits.MAX_COLUMNS])
        )
        count = len(values) - values.count(None) if blanks_are_none else _roughly_filled(values)
        used += count > 0
        if used > limits.MAX_ROWS + 1:
            raise InputError(
                f"{path}: more than {limits.MAX_ROWS} rows, more than any roster; check that this is the right file"
            )
        rows.append(values if count else [])  # a blank row kept small: only its number matters
        filled.append(count)
    start = next((i for i, n in enumerate(filled) if n >= 2 and filled_cells(rows[i]) >= 2), None)
    if start is None:
        start = next((i for i, n in enumerate(filled) if n >= 1), None)
    if start is None:
        raise InputError(
            f"{path}: the file has no header row (a row naming the columns, such as 党员编号,姓名); "
            "export the roster again with its header row"
        )
    header, last_header_row = _header(rows, start, merged)
    if last_header_row > start + 1:
        filled[start + 1] = 0  # the header's second row: not a member
    for first_column, first_row, last_column, last_row in merged:
        if first_row <= last_header_row or first_row > len(rows):
            continue  # the header's own merged cells name one column
        value = rows[first_row - 1][first_column - 1] if first_column <= len(rows[first_row - 1]) else None
        for number in range(first_row, min(last_row, len(rows)) + 1):
            line = rows[number - 1]
            line.extend([None] * (min(last_column, limits.MAX_COLUMNS) - len(line)))
            for column in range(first_column, min(last_column, limits.MAX_COLUMNS) + 1):
                if is_blank(line[column - 1]):
                    line[column - 1] = value
            filled[number - 1] = filled_cells(line)
    table = Table(path=path, headers=_headers(path, start + 1, header), header_row=start + 1)
    headers = table.headers
    width = len(headers)
    append = table.rows.append
    for index in range(start + 1, len(rows)):
        if not filled[index]:
            continue
        values = rows[index]
        rows[index] = []  # its cells go into the row's dict
        if len(values) == width:  # most rows: as wide as the header
            append(Row(index + 1, dict(zip(headers, values, strict=True)), []))
            continue
        if len(values) < width:
            values += [None] * (width - len(values))
        overflow = [v for v in values[width:] if not is_blank(v)]
        append(Row(index + 1, dict(zip(headers, values, strict=False)), overflow))  # the rest: overflow
    return table


def _header(
    rows: list[list[Any]], start: int, merged: Sequence[tuple[int, int, int, int]]
) -> tuple[list[Any], int]:
    """The header's cells and its last row (1-based). A cell merged down from the header row over
    the next makes a header of two rows (党员编号 over both, 基本信息 over 姓名, 性别 …): each column
    is then named by its lower cell, or by the upper one merged down."""
    upper = rows[start]
    if start + 1 >= len(rows) or not any(
        first == start + 1 and last == start + 2 for _, first, _, last in merged
    ):
        return upper, start + 1
    lower = rows[start + 1]
    width = max(len(upper), len(lower))
    upper, lower = upper + [None] * (width - len(upper)), lower + [None] * (width - len(lower))
    return [low if not is_blank(low) else up for up, low in zip(upper, lower, strict=True)], start + 2


def _headers(path: Path, row: int, values: list[Any]) -> list[str]:
    """Header names as written; a blank one is named by its column letter, a repeated one too."""
    while values and is_blank(values[-1]):
        values.pop()
    headers: list[str] = []
    for index, value in enumerate(values):
        check_header(path, f"row {row}, column {_column_letter(index)}", value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a header typed as a number (2024): calamine reads every number as a float
        text = "" if value is None else re.sub(r"\s+", " ", str(value)).strip().strip("\ufeff\u200b")
        if not text:
            text = f"column {_column_letter(index)}"
        elif text in headers:
            text = f"{text} (column {_column_letter(index)})"
        headers.append(text)
    return headers


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def too_long(value: Any) -> str | None:
    """What is wrong with a cell longer than :data:`limits.MAX_CELL_CHARS`, or None. Checked before
    anything else looks at the text, so no later step spends time on it."""
    if not isinstance(value, str) or len(value) <= limits.MAX_CELL_CHARS:
        return None
    return (
        f"{len(value):,} characters, more than any roster cell holds (limit {limits.MAX_CELL_CHARS:,} "
        "characters); text pasted into the wrong cell? Shorten it"
    )


#: Characters that reorder how text shows (right-to-left overrides, embeddings, isolates, marks): a
#: name holding U+202E prints reversed in a terminal, the manifest or a spreadsheet. No roster needs them.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def without_direction_controls(value: Any) -> tuple[Any, str | None]:
    """``value`` without text direction controls, and the warning to give when it held some."""
    found = sorted(set(BIDI_CONTROLS.findall(value))) if isinstance(value, str) else []
    if not found:
        return value, None
    codes = ", ".join(f"U+{ord(c):04X}" for c in found)
    return BIDI_CONTROLS.sub("", value), (
        f"removed the text direction control(s) {codes}: they reorder how the text shows (in a "
        "terminal, the manifest, a spreadsheet) and no roster needs them"
    )


def check_header(path: Path, where: str, value: Any) -> None:
    """A header longer than any cell: the file is refused (its columns could not be named)."""
    problem = too_long(value)
    if problem:
        raise InputError(f"{path}: {where}: the header has {problem}, or check that this is the right file")


def _roughly_filled(values: list[Any]) -> int:
    """How many of ``values`` are filled, counting a cell of spaces as filled; 0 only for a blank
    row. Done in C for a row of text (every CSV row): the row of a big roster costs ~1 µs."""
    count = len(values) - values.count("") - values.count(None)
    if not count:
        return 0
    try:
        text = "".join(values)
    except TypeError:  # numbers, dates (a spreadsheet): cell by cell
        return filled_cells(values)
    return count if text.strip() else 0  # a row of cells of spaces is blank


def filled_cells(values: list[Any]) -> int:
    """How many of ``values`` are not blank (the loop of :func:`is_blank`, inlined: it runs per cell)."""
    count = 0
    for value in values:
        if value is None or (type(value) is str and (not value or value.isspace())):
            continue
        if isinstance(value, str) and not value.strip():
            continue
        count += 1
    return count


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"
