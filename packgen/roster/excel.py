"""Spreadsheet profiles: Excel ``.xlsx``/``.xlsm``, Excel 97-2003 ``.xls``, ``.xlsb``, OpenDocument
``.ods`` and WPS ``.et``, all read by python-calamine, and told apart by their content, not their
suffix (WPS saves ``.et`` files as one of these; a ``.xls`` may really be an ``.xlsx``).

The first visible sheet with rows is read (or the one asked for), as Excel shows it: merged cells
over their rows, numbers padded by their format, error values kept for the member stage to name,
formulas never calculated refused. calamine gives values, dates, merged ranges (``.xlsx``/``.xls``)
and which sheets are hidden; what it does not give comes from the file itself (:mod:`.sheet_xml`):
number formats and error values from the sheet's XML (``.xlsx``) or from xlrd (``.xls``), merged
ranges from ``content.xml`` (``.ods``). An ``.xlsb`` or ``.ods`` keeps no number formats
calamine can see, so an id typed 0012 in a 0000 column reads as 12 there.

calamine builds a sheet as a dense grid of its used range, and aborts the process (it cannot be
caught) for a small ``.xlsx`` with one cell at XFD1048576: the range is measured from the cells
before calamine loads a sheet, and an absurd one is refused.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from packgen.errors import InputError
from packgen.roster import limits
from packgen.roster.sheet_xml import Extras, ods_extras, xls_extras, xlsb_extent, xlsx_extras
from packgen.roster.table import Table, first_line, human_size, table_from_records

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"
#: the formats by what a file holds, as :func:`sniff` names them
FORMAT_NAMES = {
    "xlsx": "Excel .xlsx",
    "xls": "Excel 97-2003 .xls",
    "xlsb": "Excel binary .xlsb",
    "ods": "OpenDocument .ods",
}
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".et")
_SUFFIXES = {"xlsx": (".xlsx", ".xlsm"), "xls": (".xls",), "xlsb": (".xlsb",), "ods": (".ods",)}
#: the name of the stream an .xlsx with a password is kept in, inside an OLE2 file (UTF-16)
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")


def _encrypted_package(path: Path) -> bool:
    """Whether an OLE2 file is an .xlsx with a password (not an Excel 97-2003 workbook)."""
    return _ENCRYPTED in path.read_bytes()


def sniff(path: Path) -> str:
    """What a spreadsheet file holds, from its bytes: xlsx, xls (an OLE2 compound file: Excel 97-2003,
    or an .xlsx with a password), xlsb, ods, zip (another zip), text, or unknown."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if head.startswith(OLE2):
        return "xls"
    if head.startswith(ZIP):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                if "mimetype" in names and archive.read("mimetype").startswith(
                    b"application/vnd.oasis.opendocument.spreadsheet"
                ):
                    return "ods"
        except (zipfile.BadZipFile, OSError):
            return "unknown"
        if "xl/workbook.bin" in names:
            return "xlsb"
        if "xl/workbook.xml" in names or any(n.startswith("xl/worksheets/") for n in names):
            return "xlsx"
        return "zip"
    if b"\x00" not in head and _looks_like_text(head):
        return "text"
    return "unknown"


def _looks_like_text(head: bytes) -> bool:
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError as exc:
            if exc.start > len(head) - 4:  # a character cut at the end of the first 4 KB
                return True
    return False


def read_spreadsheet(path: Path, _encoding: str | None, sheet: str | None) -> Table:
    kind = sniff(path)
    suffix = path.suffix.lower()
    if kind == "text":
        raise InputError(
            f"{path}: holds text, not a workbook (a CSV file named {suffix}?); rename it to .csv"
        )
    if kind not in FORMAT_NAMES:
        raise InputError(
            f"{path}: not a workbook packgen can read (.xlsx, .xls, .xlsb, .ods); open it in Excel or WPS "
            "and save it as .xlsx"
        )
    if kind != "xls":
        _refuse_zip_bomb(path)
    from python_calamine import CalamineWorkbook, PasswordError

    what = FORMAT_NAMES[kind]
    try:
        if kind == "xls" and _encrypted_package(path):
            raise PasswordError("an encrypted OOXML package")
        if path.suffix.lower() in _SUFFIXES[kind]:
            book = CalamineWorkbook.from_path(str(path))
        else:  # a suffix that does not say what the file holds: calamine finds it from the content
            with open(path, "rb") as handle:
                book = CalamineWorkbook.from_filelike(handle)
    except PasswordError:
        raise InputError(
            f"{path}: the workbook has a password; open it in Excel or WPS and save it without one"
        ) from None
    except Exception as exc:  # calamine raises several types for a damaged or foreign file
        raise InputError(
            f"{path}: not a readable {what} file ({first_line(exc)}); open it in Excel or WPS and save it "
            "again as .xlsx"
        ) from None
    try:
        return _read_book(path, kind, book, sheet)
    except InputError:
        raise
    except Exception as exc:
        if "Cell limit exceeded" in str(exc):  # calamine's own guard (.ods)
            raise InputError(
                f"{path}: a sheet spans more cells than any roster ({first_line(exc)}); delete what is far "
                "below or right of the table"
            ) from None
        raise InputError(f"{path}: not a readable {what} file ({first_line(exc)})") from None
    finally:
        book.close()


def _refuse_zip_bomb(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > limits.MAX_UNZIPPED_BYTES:
        raise InputError(
            f"{path}: unpacks to {human_size(unpacked)}, more than any roster (limit "
            f"{human_size(limits.MAX_UNZIPPED_BYTES)}); check that this is the right file"
        )


def _read_book(path: Path, kind: str, book: Any, sheet: str | None) -> Table:
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    names: list[str] = list(book.sheet_names)
    meta = {m.name: m for m in book.sheets_metadata}
    visible = [
        n
        for n in names
        if meta[n].visible == SheetVisibleEnum.Visible and meta[n].typ == SheetTypeEnum.WorkSheet
    ]
    extras: dict[str, Extras] = {}

    def extras_of(name: str) -> Extras:
        if name not in extras:
            extras[name] = _extras(path, kind, names.index(name), name)
            rows, columns = extras[name].extent
            if rows * columns > limits.MAX_CELLS:
                raise InputError(
                    f"{path}: sheet '{name}' spans {rows} rows and {columns} columns, more than any roster "
                    f"(limit {limits.MAX_CELLS:,} cells); delete what is far below or right of the table"
                )
        return extras[name]

    sheets: dict[str, Any] = {}

    def loaded(name: str) -> Any:  # calamine parses a sheet at each get_sheet_by_name: once here
        if name not in sheets:
            extras_of(name)
            sheets[name] = book.get_sheet_by_name(name)
        return sheets[name]

    def rows_in(name: str) -> int:
        return int(loaded(name).height)

    if sheet is None:  # the first visible sheet with more than one row (an instruction sheet is often first)
        chosen = next((n for n in visible if rows_in(n) > 1), names[0])
    elif sheet in names:
        chosen = sheet
    elif sheet.isdigit() and 1 <= int(sheet) <= len(names):
        chosen = names[int(sheet) - 1]
    elif sheet.isdigit():
        raise InputError(f"{path}: no sheet {sheet}; the file has {len(names)}: {', '.join(names)}")
    else:
        raise InputError(f"{path}: no sheet named '{sheet}'; the sheets are: {', '.join(names)}")
    if meta[chosen].typ != SheetTypeEnum.WorkSheet:
        raise InputError(f"{path}: sheet '{chosen}' is a chart, not a table; choose one with --sheet")
    found = extras_of(chosen)
    if found.uncalculated:
        shown = ", ".join(found.uncalculated[:5]) + (" …" if len(found.uncalculated) > 5 else "")
        raise InputError(
            f"{path}: {len(found.uncalculated)} cell(s) ({shown}) hold formulas that were never calculated "
            "(a program wrote the file, Excel or WPS did not save it); open it in Excel or WPS and save it again"
        )
    others = [n for n in visible if n != chosen and rows_in(n) > 1] if sheet is None else []
    worksheet = loaded(chosen)
    sheets.clear()  # the other sheets' cells are not needed
    merged = [
        (first_column + 1, first_row + 1, last_column + 1, last_row + 1)
        for (first_row, first_column), (last_row, last_column) in (worksheet.merged_cell_ranges or [])
    ]
    if kind == "ods":
        merged, found = ods_extras(path, chosen)
    table = table_from_records(path, _records(worksheet, found), merged, blanks_are_none=True)
    if others:
        table.notes.append(
            f"read sheet '{chosen}' only; the sheet(s) {', '.join(others)} hold data too: read one with "
            "--sheet NAME, or put every member in one sheet"
        )
    return table


def _extras(path: Path, kind: str, index: int, name: str) -> Extras:
    if kind == "xlsx":
        return xlsx_extras(path, index)
    if kind == "xls":
        return xls_extras(path, name)
    if kind == "xlsb":
        return Extras(extent=xlsb_extent(path, index))
    return Extras()  # .ods: calamine refuses an absurd range itself ("Cell limit exceeded")


def _records(worksheet: Any, extras: Extras) -> Any:
    """The sheet's rows from row 1, empty cells as None, each cell as Excel shows it."""
    start_row, start_column = worksheet.start or (0, 0)
    for _ in range(start_row):
        yield []
    shown = extras.shown
    for number, values in enumerate(worksheet.iter_rows(), start=start_row + 1):
        row: list[Any] = [None] * start_column + [
            None if v == "" or (v.__class__ is str and v.isspace()) else v for v in values
        ]  # a blank cell is None: the table counts them fast
        if shown and number in shown:
            for column, value in shown[number].items():
                if column <= len(row):
                    row[column - 1] = value
        yield row
