"""Read profile files (CSV, XLSX, YAML) into plain rows of cells, one reader per format.

Nothing here knows what a member is: a reader returns a :class:`Table` of header names as
written and rows of raw cell values, each row numbered as the user sees it in the file
(spreadsheet row number for CSV/XLSX, item number for YAML).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from packgen.errors import InputError

#: No roster is anywhere near this; a bigger file is a mistake (or an attack), not a roster.
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
CSV_ENCODINGS = ("utf-8-sig", "gb18030")
PROFILE_SUFFIXES = (".csv", ".xlsx", ".yaml", ".yml")


@dataclass
class Row:
    number: int  #: row number as the user sees it (header is row 1 in a spreadsheet)
    cells: dict[str, Any]


@dataclass
class Table:
    path: Path
    headers: list[str]
    rows: list[Row] = field(default_factory=list)
    #: how rows are numbered in messages: "row" for spreadsheets, "item" for YAML lists
    row_word: str = "row"


def find_profiles(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into the profile files they hold (sorted); files are kept as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.iterdir() if p.suffix.lower() in PROFILE_SUFFIXES and p.is_file())
            )
        else:
            found.append(path)
    return found


def read_table(path: Path, *, encoding: str | None = None, sheet: str | None = None) -> Table:
    """Read one profiles file, choosing the reader by its suffix."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give the profile files in it, or the folder alone")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path}: the file is empty; export the roster again with its header row")
    if size > MAX_FILE_BYTES:
        raise InputError(
            f"{path}: the file is {size // (1024 * 1024)} MB, more than any roster "
            f"(limit {MAX_FILE_BYTES // (1024 * 1024)} MB); check that this is the right file"
        )
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        raise InputError(
            f"{path}: unknown file type '{suffix or '(none)'}'; packgen reads .csv, .xlsx, .yaml and .yml"
        )
    table = reader(path, encoding, sheet)
    if len(table.rows) > MAX_ROWS:
        raise InputError(f"{path}: {len(table.rows)} rows, more than the limit of {MAX_ROWS}")
    return table


def _read_csv(path: Path, encoding: str | None, _sheet: str | None) -> Table:
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise InputError(f"{path}: this looks like a binary file, not a CSV text file")
    text = _decode(path, raw, encoding)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            sep=_sniff_delimiter(text),
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file has no header row") from None
    except (pd.errors.ParserError, csv.Error) as exc:
        raise InputError(f"{path}: not a readable CSV file ({_first_line(exc)})") from None
    return _table_from_frame(path, frame)


def _decode(path: Path, raw: bytes, encoding: str | None) -> str:
    if encoding:
        try:
            return raw.decode(encoding)
        except LookupError:
            raise InputError(f"unknown encoding '{encoding}'; try utf-8, utf-8-sig or gb18030") from None
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path}: cannot be read as {encoding} (bad byte at position {exc.start}); "
                "try --encoding utf-8 or --encoding gb18030"
            ) from None
    for candidate in CSV_ENCODINGS:
        try:
            return raw.decode(candidate)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path}: neither UTF-8 nor GB18030 text; give the encoding with --encoding")


def _sniff_delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _read_xlsx(path: Path, _encoding: str | None, sheet: str | None) -> Table:
    try:
        frame = pd.read_excel(
            path,
            sheet_name=sheet if sheet is not None else 0,
            dtype=object,
            keep_default_na=False,
            na_filter=False,
            engine="openpyxl",
        )
    except ValueError as exc:
        if sheet is not None and "not found" in str(exc):
            raise InputError(f"{path}: no sheet named '{sheet}'") from None
        raise InputError(f"{path}: not a readable Excel .xlsx file ({_first_line(exc)})") from None
    except Exception as exc:  # openpyxl raises many types for a damaged or foreign file
        raise InputError(f"{path}: not a readable Excel .xlsx file ({_first_line(exc)})") from None
    return _table_from_frame(path, frame)


def _table_from_frame(path: Path, frame: pd.DataFrame) -> Table:
    headers = [str(h) for h in frame.columns]
    if not headers or all(h.startswith("Unnamed:") for h in headers):
        raise InputError(f"{path}: the file has no header row")
    table = Table(path=path, headers=headers)
    for index, record in enumerate(frame.to_dict("records")):
        cells = {str(k): v for k, v in record.items()}
        if all(_is_blank(v) for v in cells.values()):
            continue
        table.rows.append(Row(number=index + 2, cells=cells))
    return table


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, so a 'billion laughs' document cannot blow up memory."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "aliases (*name) are not allowed in profiles", event.start_mark
            )
        return super().compose_node(parent, index)


def _read_yaml(path: Path, _encoding: str | None, _sheet: str | None) -> Table:
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise InputError(f"{path}: this looks like a binary file, not YAML text")
    try:
        data = yaml.load(raw.decode("utf-8-sig"), Loader=_SafeLoader)  # noqa: S506 - a SafeLoader
    except UnicodeDecodeError:
        raise InputError(f"{path}: YAML files must be UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {_yaml_problem(exc)}") from None
    if isinstance(data, dict) and "members" in data:
        data = data["members"]
    if data is None:
        raise InputError(f"{path}: the file holds no members")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise InputError(f"{path}: expected a list of members, or 'members:' holding one")
    headers: list[str] = []
    for item in data:
        for key in item:
            if str(key) not in headers:
                headers.append(str(key))
    table = Table(path=path, headers=headers, row_word="item")
    for index, item in enumerate(data, start=1):
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
