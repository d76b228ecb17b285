"""Excel ``.xlsx`` profiles: the first visible sheet with rows (or the one asked for), as Excel
shows it: merged cells over their rows, numbers padded by their format, error values kept for the
member stage to name, formulas never calculated refused. A zip bomb is refused unread."""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

from packgen.errors import InputError
from packgen.roster import limits
from packgen.roster.table import Table, first_line, human_size, table_from_records


def read_xlsx(path: Path, _encoding: str | None, sheet: str | None) -> Table:
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
    if unpacked > limits.MAX_UNZIPPED_BYTES:
        raise InputError(
            f"{path}: unpacks to {human_size(unpacked)}, more than any roster (limit "
            f"{human_size(limits.MAX_UNZIPPED_BYTES)}); check that this is the right file"
        )
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or foreign file
        raise InputError(f"{path}: not a readable Excel .xlsx file ({first_line(exc)})") from None
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
            table = table_from_records(path, records, merged)
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"{path}: not a readable Excel .xlsx file ({first_line(exc)})") from None
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
