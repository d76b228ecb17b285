"""Read profile files (CSV, XLSX, YAML) into plain rows of cells, one reader per format.

Nothing here knows what a member is: a reader returns a :class:`Table` of header names as
written and rows of raw cell values, each row numbered as the user sees it in the file
(spreadsheet row number for CSV/XLSX, item number for YAML).

Profiles are untrusted: every reader refuses binary data, oversized files, zip bombs, YAML
tags that would build objects, YAML aliases and absurd nesting with an :class:`InputError`
that names the file, never with a traceback or a hang.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from packgen.errors import InputError

#: No roster is anywhere near this; a bigger file is a mistake (or an attack), not a roster.
MAX_FILE_BYTES = 50 * 1024 * 1024
#: An .xlsx is a zip; its unpacked parts may not exceed this (a zip bomb is refused unread).
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 500
CSV_ENCODINGS = ("utf-8-sig", "gb18030")
PROFILE_SUFFIXES = (".csv", ".xlsx", ".yaml", ".yml")


@dataclass
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


def find_profiles(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into the profile files they hold (sorted); files are kept as given.

    A folder's hidden files are left out, and so are the lock files Excel and WPS keep beside an
    open workbook (``~$花名册.xlsx``), macOS's ``._`` files on a USB stick and a workspace's config
    (``packgen validate .`` inside one).
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if _is_profile(p)))
        else:
            found.append(path)
    return found


def _is_profile(path: Path) -> bool:
    return (
        path.suffix.lower() in PROFILE_SUFFIXES
        and not path.name.startswith(("~$", "."))
        and path.name.lower() not in ("packgen.yaml", "packgen.yml")
        and path.is_file()
    )


def read_table(path: Path, *, encoding: str | None = None, sheet: str | None = None) -> Table:
    """Read one profiles file, choosing the reader by its suffix."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give the profile files in it, or the folder alone")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file; give a .csv, .xlsx or .yaml file")
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        hint = "; save it from Excel as .xlsx" if suffix in (".xls", ".et", ".numbers", ".ods") else ""
        raise InputError(
            f"{path}: unknown file type '{suffix or '(none)'}'; packgen reads .csv, .xlsx, .yaml and .yml"
            + hint
        )
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path}: the file is empty; export the roster again with its header row")
    if size > MAX_FILE_BYTES:
        raise InputError(
            f"{path}: the file is {_human(size)}, more than any roster (limit {_human(MAX_FILE_BYTES)}); "
            "check that this is the right file"
        )
    return reader(path, encoding, sheet)


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


# --- CSV ---------------------------------------------------------------------------------------


def _read_csv(path: Path, encoding: str | None, _sheet: str | None) -> Table:
    text = _decode(path, path.read_bytes(), encoding, "a CSV text file")
    if not text.strip():
        raise InputError(f"{path}: the file has no header row; export the roster again with its header row")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))

    def records() -> Iterator[list[str]]:
        start, begin, record = 1, 1, []
        try:
            for record in reader:
                start = begin
                yield [_unwrap(cell) for cell in record]
                begin = reader.line_num + 1
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise InputError(
                    f"{path}: line {reader.line_num} holds a cell longer than any roster needs "
                    f"(over {csv.field_size_limit()} characters); check that this is the right file"
                ) from None
            raise InputError(
                f"{path}: not a readable CSV file at line {reader.line_num} ({_first_line(exc)})"
            ) from None
        if any("\n" in cell for cell in record) and _unclosed_quote(text, start):
            raise InputError(
                f'{path}: line {start} opens a quote (") that never closes, so the rest of the file '
                "ran into one cell; close the quote or remove it"
            )

    return _table_from_records(path, records())


def _unclosed_quote(text: str, line: int) -> bool:
    """Whether the record starting at ``line`` opens a quote that runs to the end of the file.

    Lenient parsing (as Excel reads) swallows the rest of the file into that cell without a word;
    strict parsing of just that record tells it apart from a cell that really spans lines.
    """
    tail = io.StringIO(text, newline="").readlines()[line - 1 :]
    try:
        for _ in csv.reader(tail, delimiter=_sniff_delimiter(text), strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _unwrap(cell: str) -> str:
    """``="0012"`` is how some systems keep leading zeros in a CSV for Excel; the value is 0012."""
    match = _EXCEL_TEXT.fullmatch(cell)
    return match[1].replace('""', '"') if match else cell


_EXCEL_TEXT = re.compile(r'="(.*)"', re.DOTALL)


def _decode(path: Path, raw: bytes, encoding: str | None, what: str) -> str:
    """Text of a file: the forced encoding, else a UTF-16 BOM, else UTF-8 (BOM or not), else GB18030."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(f"unknown encoding '{encoding}'; try utf-8, utf-8-sig or gb18030") from None
        try:
            return raw.decode(encoding).removeprefix("\ufeff")
        except LookupError:  # a codec, but not one for text: rot13, base64 …
            raise InputError(
                f"'{encoding}' is not a text encoding; try utf-8, utf-8-sig or gb18030"
            ) from None
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise InputError(
                f"{path}: cannot be read as {encoding} (bad byte at line {line}); "
                "try --encoding utf-8 or --encoding gb18030, or leave --encoding out"
            ) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in raw[:8192]:
        raise InputError(f"{path}: this looks like a binary file, not {what}")
    mixed = _not_utf8_among_utf8(raw)
    if mixed:
        raise InputError(
            f"{path}: line {mixed} is not UTF-8 while the rest of the file is (text pasted from a GBK "
            "file?); type that line again or save the file once more as UTF-8 (if the whole file is GBK, "
            "give --encoding gb18030)"
        )
    for candidate in CSV_ENCODINGS:
        try:
            return raw.decode(candidate)
        except UnicodeDecodeError:
            continue
    raise InputError(
        f"{path}: neither UTF-8 nor GB18030 text; if it is text, give its encoding with --encoding"
    )


def _not_utf8_among_utf8(raw: bytes) -> int | None:
    """The first line that is not UTF-8 in a file whose other Chinese lines are, or None.

    Such a file would otherwise be read whole as GB18030, which decodes nearly any bytes, and every
    UTF-8 name in it would come out garbled. A GB18030 file has (nearly) no line that is valid UTF-8
    with Chinese in it, so it is not mistaken for one.
    """
    good, bad = 0, []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(number)
        else:
            good += 1
    return bad[0] if bad and good >= len(bad) else None


def _sniff_delimiter(text: str) -> str:
    """The separator of the header: the first line that has one (a title line above may have none)."""
    lines = text.lstrip().splitlines()[:10] or [""]
    header = next((line for line in lines if any(sep in line for sep in ",\t;")), lines[0])
    counts = {sep: header.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


# --- XLSX --------------------------------------------------------------------------------------


def _read_xlsx(path: Path, _encoding: str | None, sheet: str | None) -> Table:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
        return _read_workbook(path, sheet)


def _read_workbook(path: Path, sheet: str | None) -> Table:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        raise InputError(
            f"{path}: not an Excel .xlsx file (an old .xls, a workbook with a password, or a renamed "
            "CSV?); open it in Excel and save it as .xlsx without a password"
        ) from None
    if unpacked > MAX_UNZIPPED_BYTES:
        raise InputError(
            f"{path}: unpacks to {_human(unpacked)}, more than any roster (limit "
            f"{_human(MAX_UNZIPPED_BYTES)}); check that this is the right file"
        )
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or foreign file
        raise InputError(f"{path}: not a readable Excel .xlsx file ({_first_line(exc)})") from None
    try:
        names = book.sheetnames
        if sheet is None:
            chosen = _first_table(book)
        elif sheet in names:
            chosen = sheet
        elif sheet.isdigit() and 1 <= int(sheet) <= len(names):
            chosen = names[int(sheet) - 1]
        elif sheet.isdigit():
            raise InputError(f"{path}: no sheet {sheet}; the file has {len(names)}: {', '.join(names)}")
        else:
            raise InputError(f"{path}: no sheet named '{sheet}'; the sheets are: {', '.join(names)}")
        worksheet = book[chosen]
        if not hasattr(worksheet, "iter_rows"):
            raise InputError(f"{path}: sheet '{chosen}' is a chart, not a table; choose one with --sheet")
        others = [
            other.title
            for other in book.worksheets
            if other.title != chosen and other.sheet_state == "visible" and (other.max_row or 0) > 1
        ]
        worksheet.reset_dimensions()  # trust the cells, not a stored (possibly huge) dimension
        try:
            merged, uncalculated = _sheet_xml(path, worksheet)
            if uncalculated:
                shown = ", ".join(uncalculated[:5]) + (" …" if len(uncalculated) > 5 else "")
                raise InputError(
                    f"{path}: {len(uncalculated)} cell(s) ({shown}) hold formulas that were never calculated "
                    "(a program wrote the file, Excel or WPS did not save it); open it in Excel or WPS and "
                    "save it again"
                )
            records = ([_shown(cell) for cell in row] for row in worksheet.iter_rows())
            table = _table_from_records(path, records, merged)
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"{path}: not a readable Excel .xlsx file ({_first_line(exc)})") from None
    finally:
        book.close()
    if others and sheet is None:
        table.notes.append(
            f"read sheet '{chosen}' only; the sheet(s) {', '.join(others)} hold data too: read one with "
            "--sheet NAME, or put every member in one sheet"
        )
    return table


#: a number format that pads a whole number with zeros, maybe between quoted text: 0000, "QS"0000
_PADDED = re.compile(r'^(?:"([^"]*)")?(0+)(?:"([^"]*)")?$')


def _shown(cell: Any) -> Any:
    """A cell's value, as Excel shows it when its number format pads a whole number with zeros (an
    id typed 0012 into a column formatted 0000 is stored as 12), else as stored."""
    value = cell.value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
        padded = _PADDED.match(getattr(cell, "number_format", None) or "")
        if padded and len(padded[2]) > 1:
            return f"{padded[1] or ''}{int(value):0{len(padded[2])}d}{padded[3] or ''}"
    return value


def _first_table(book: Any) -> str:
    """The sheet read without --sheet: the first visible one with more than one row (an instruction
    sheet is often hidden, an empty Sheet1 often left first), else the first one."""
    for worksheet in book.worksheets:
        if worksheet.sheet_state == "visible" and (worksheet.max_row or 0) > 1:
            return str(worksheet.title)
    return str(book.sheetnames[0])


def _never_calculated(cell: Any) -> bool:
    """A ``<c>`` with a formula and no value. A formula whose result is empty text has ``t="str"``
    and an empty ``<v>``; an empty ``<v>`` with no type (a number) is what writers that do not
    calculate leave."""
    parts = {child.tag.rsplit("}", 1)[-1]: child for child in cell}
    if "f" not in parts:
        return False
    value = parts.get("v")
    return value is None or (not (value.text or "").strip() and cell.get("t") is None)


def _sheet_xml(path: Path, worksheet: Any) -> tuple[list[tuple[int, int, int, int]], list[str]]:
    """What openpyxl's read-only mode does not report, read from the sheet's XML: the merged cells as
    (first column, first row, last column, last row), 1-based, and the cells holding a formula with
    no computed value (read as empty)."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils import range_boundaries

    part = getattr(worksheet, "_worksheet_path", None)
    if part is None:
        return [], []
    ranges, uncalculated = [], []
    with zipfile.ZipFile(path) as archive, archive.open(part.lstrip("/")) as xml:
        for _, element in iterparse(xml):
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "mergeCell" and element.get("ref"):
                ranges.append(range_boundaries(element.get("ref")))
            elif tag == "c" and _never_calculated(element):
                uncalculated.append(element.get("r") or "?")
            if tag != "f" and tag != "v":  # a cell's formula and value are looked at when the cell ends
                element.clear()
    return [r for r in ranges if None not in r], uncalculated


# --- rows of cells -----------------------------------------------------------------------------


def _table_from_records(
    path: Path, records: Iterable[Sequence[Any]], merged: Sequence[tuple[int, int, int, int]] = ()
) -> Table:
    """Headers and numbered rows from spreadsheet rows (row 1 first).

    The header row is the first row with two or more filled cells, so a title row above it
    (``青山镇流动党员花名册``, as many rosters have) is skipped. Blank rows are skipped; numbers stay
    those of the spreadsheet. A ``merged`` range below the header (one 所在党支部 cell over all of a
    branch's members) gives its value to every cell it covers, as Excel shows it.
    """
    rows: list[list[Any]] = []
    used = 0  #: rows with something in them: empty rows a sheet formats down to row 250,000 do not count
    for record in records:
        values = list(record[:MAX_COLUMNS])
        blank = all(_is_blank(v) for v in values)
        used += not blank
        if used > MAX_ROWS + 1:
            raise InputError(
                f"{path}: more than {MAX_ROWS} rows, more than any roster; check that this is the right file"
            )
        rows.append([] if blank else values)  # a blank row kept small: only its number matters
    filled = [sum(not _is_blank(v) for v in values) for values in rows]
    start = next((i for i, n in enumerate(filled) if n >= 2), None)
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
            line.extend([None] * (min(last_column, MAX_COLUMNS) - len(line)))
            for column in range(first_column, min(last_column, MAX_COLUMNS) + 1):
                if _is_blank(line[column - 1]):
                    line[column - 1] = value
            filled[number - 1] = sum(not _is_blank(v) for v in line)
    table = Table(path=path, headers=_headers(header), header_row=start + 1)
    width = len(table.headers)
    for index in range(start + 1, len(rows)):
        values = rows[index]
        if not filled[index]:
            continue
        cells = {h: (values[i] if i < len(values) else None) for i, h in enumerate(table.headers)}
        overflow = [v for v in values[width:] if not _is_blank(v)]
        table.rows.append(Row(number=index + 1, cells=cells, overflow=overflow))
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
    return [low if not _is_blank(low) else up for up, low in zip(upper, lower, strict=True)], start + 2


def _headers(values: list[Any]) -> list[str]:
    """Header names as written; a blank one is named by its column letter, a repeated one too."""
    while values and _is_blank(values[-1]):
        values.pop()
    headers: list[str] = []
    for index, value in enumerate(values):
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


# --- YAML --------------------------------------------------------------------------------------


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader that reads every plain scalar as text and refuses aliases.

    Text, because YAML 1.1 would turn ``id: 0012`` into the number 10 and ``birth: 1975.10`` into
    1975.1 (January); the member stage parses each field itself. No aliases, so a "billion
    laughs" document cannot blow up memory.
    """

    yaml_implicit_resolvers: dict[Any, Any] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "aliases (*name) are not allowed in profiles", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """A mapping, refused when it gives one key twice: YAML would silently keep the last."""
        seen: set[Any] = set()
        for key, _ in node.value:
            if key.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"'{key.value}' is given twice; only the last would count, so keep one",
                    key.start_mark,
                )  # fmt: skip
            seen.add(key.value)
        return super().construct_mapping(node, deep=deep)

    def construct_undefined(self, node: Any) -> Any:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"the tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed in profiles; "
            "write plain values",
            node.start_mark,
        )


_SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_SafeLoader.add_constructor(None, _SafeLoader.construct_undefined)


def _read_yaml(path: Path, encoding: str | None, _sheet: str | None) -> Table:
    text = _decode(path, path.read_bytes(), encoding, "YAML text")
    try:
        data = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise InputError(
            f"{path}: nested far too deeply to be a roster; check that this is the right file"
        ) from None
    if isinstance(data, dict) and "members" in data:
        data = data["members"]
    if data is None or data == []:
        raise InputError(
            f"{path}: the file holds no members; write a list of members, or 'members:' holding one"
        )
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a list of members, or 'members:' holding one")
    for index, item in enumerate(data, start=1):
        if item is not None and not isinstance(item, dict):
            raise InputError(
                f"{path}: item {index} is not a member: {str(item)[:40]!r}; write each member as "
                "fields, e.g. - {id: A1, name: 张三}"
            )
    data = [item or {} for item in data]  # an empty item is skipped like a blank row
    headers: list[str] = []
    for item in data:
        for key in item:
            if str(key) not in headers:
                headers.append(str(key))
    table = Table(path=path, headers=headers, row_word="item")
    for index, item in enumerate(data, start=1):
        if index > MAX_ROWS:
            raise InputError(
                f"{path}: more than {MAX_ROWS} members, more than any roster; check that this is the right file"
            )
        cells = {str(k): v for k, v in item.items()}
        if all(_is_blank(v) for v in cells.values()):
            continue
        table.rows.append(Row(number=index, cells=cells))
    return table


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_READERS: dict[str, Callable[[Path, str | None, str | None], Table]] = {
    ".csv": _read_csv,
    ".xlsx": _read_xlsx,
    ".yaml": _read_yaml,
    ".yml": _read_yaml,
}
