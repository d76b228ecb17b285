"""What calamine does not say about a sheet, read from the file itself: the cells shown otherwise
than stored (a number padded by its format, an error value), formulas never calculated, the extent
of the cells (before calamine makes a grid of it), and an ``.ods`` sheet's merged cells.

The sheet XML of an ``.xlsx`` is searched with a few byte patterns rather than parsed (parsing
every cell of 100,000 rows costs ~6 s; the patterns ~0.5 s): each looks only for what matters.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

from packgen.roster import limits

#: a number format that pads a whole number with zeros, maybe between quoted text: 0000, "QS"0000
PADDED = re.compile(r'^(?:"([^"]*)")?(0+)(?:"([^"]*)")?$')
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


@dataclass
class Extras:
    #: row -> column -> the value as shown (1-based), where it differs from the stored one
    shown: dict[int, dict[int, Any]] = field(default_factory=dict)
    uncalculated: list[str] = field(default_factory=list)  #: cells like A2
    extent: tuple[int, int] = (0, 0)  #: rows and columns from A1 to the farthest cell

    def show(self, row: int, column: int, value: Any) -> None:
        self.shown.setdefault(row, {})[column] = value


def column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def padded(number: Any, pattern: re.Match[str]) -> Any:
    """``number`` as a padding format shows it (12 in 0000 is 0012), else unchanged."""
    if isinstance(number, (int, float)) and not isinstance(number, bool) and float(number).is_integer():
        return f"{pattern[1] or ''}{int(number):0{len(pattern[2])}d}{pattern[3] or ''}"
    return number


def padding(code: str) -> re.Match[str] | None:
    match = PADDED.match(code or "")
    return match if match and len(match[2]) > 1 else None


# --- .xlsx ------------------------------------------------------------------------------------------

_CELL_REF = re.compile(rb'\sr="([A-Z]+)(\d+)"')
_ROW_REF = re.compile(rb'<row\b[^>]*?\sr="(\d+)"')
_VALUE = re.compile(rb"<v>([^<]*)</v>")
_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_TEXT_TYPE = re.compile(rb'\st="(?!n")')  #: a cell type other than a number


def xlsx_part(archive: zipfile.ZipFile, index: int) -> str:
    """The zip part of the ``index``-th sheet of the workbook (0-based, in the workbook's order)."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    sheets = [s for s in workbook.iter(f"{_MAIN}sheet")]
    rid = sheets[index].get(_REL)
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target", "") for r in rels if r.get("Id") == rid)
    if target.startswith("/"):
        return target.lstrip("/")
    return str(PurePosixPath("xl") / target)


def _padded_styles(archive: zipfile.ZipFile) -> dict[bytes, re.Match[str]]:
    """Style index (as the sheet XML writes it) -> its padding format, for the styles that pad."""
    if "xl/styles.xml" not in archive.namelist():
        return {}
    styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    formats = {f.get("numFmtId"): f.get("formatCode", "") for f in styles.iter(f"{_MAIN}numFmt")}
    found: dict[bytes, re.Match[str]] = {}
    cell_xfs = styles.find(f"{_MAIN}cellXfs")
    for index, xf in enumerate(cell_xfs if cell_xfs is not None else []):
        pattern = padding(formats.get(xf.get("numFmtId"), ""))
        if pattern:
            found[str(index).encode()] = pattern
    return found


def xlsx_extras(path: Path, index: int) -> Extras:
    with zipfile.ZipFile(path) as archive:
        xml = archive.read(xlsx_part(archive, index))
        styles = _padded_styles(archive)
    extras = Extras(extent=_xlsx_extent(xml))
    if styles:
        wanted = b"|".join(re.escape(s) for s in styles)
        for match in re.finditer(rb'<c\b([^>]*?\ss="(' + wanted + rb')"[^>]*?)(?:/>|>(.*?)</c>)', xml, re.S):
            ref, value = _CELL_REF.search(b" " + match[1]), _VALUE.search(match[3] or b"")
            if ref and value and not _TEXT_TYPE.search(match[1]):  # a number (text has a type)
                number = float(value[1])
                extras.show(int(ref[2]), column_number(ref[1]), padded(number, styles[match[2]]))
    if b't="e"' in xml:
        for match in re.finditer(rb'<c\b([^>]*?\st="e"[^>]*?)>(.*?)</c>', xml, re.S):
            ref, value = _CELL_REF.search(b" " + match[1]), _VALUE.search(match[2])
            if ref:
                text = value[1].decode() if value else "#VALUE!"
                extras.show(int(ref[2]), column_number(ref[1]), text)
    if b"<f" in xml:
        for match in _CELL.finditer(xml):
            inner = match[2] or b""
            if b"<f" in inner and _never_calculated(match[1], inner):
                ref = _CELL_REF.search(b" " + match[1])
                extras.uncalculated.append((ref[1] + ref[2]).decode() if ref else "?")
    return extras


def _never_calculated(attributes: bytes, inner: bytes) -> bool:
    """A formula with no value. A formula whose result is empty text has ``t="str"`` and an empty
    ``<v>``; an empty ``<v>`` with no type (a number) is what writers that do not calculate leave."""
    value = re.search(rb"<v>(.*?)</v>|<v\s*/>", inner, re.S)
    return value is None or (not (value[1] or b"").strip() and b't="' not in attributes)


def _xlsx_extent(xml: bytes) -> tuple[int, int]:
    """Rows and columns from A1 to the farthest cell, from the cells' references (a stored
    ``<dimension>`` may say anything), or 26 columns for a sheet within A to Z whose grid is small
    anyway. Each pattern looks only for references that could be farther
    than the last row's, or columns past Z, so a sheet of 100,000 rows is measured in a fraction of
    a second."""
    last = xml.rfind(b"<row ")
    found = _ROW_REF.match(xml, last) if last >= 0 else None
    rows = int(found[1]) if found else 0
    # attributes are parted by a space as every writer does; by other white space, looked for too
    space = rb"\s" if any(b'%cr="' % c in xml for c in b"\t\n\r") else b" "
    for match in re.finditer(space + rb'r="[A-Z]*(\d{%d,})"' % len(str(rows)), xml):  # as far down or farther
        rows = max(rows, int(match[1]))
    for letters in (3, 2):  # the longest column names there are: only those are compared
        names = set(re.findall(space + rb'r="([A-Z]{%d})\d' % letters, xml))
        if names:
            return rows, max(column_number(name) for name in names)
    if rows * 26 <= limits.MAX_CELLS:
        return rows, 26  # columns A to Z at most: the grid is small enough, whichever they are
    names = set(re.findall(space + rb'r="([A-Z])\d', xml))
    return rows, max((column_number(name) for name in names), default=0)


# --- .xls, .xlsb, .ods ------------------------------------------------------------------------------


def xls_extras(path: Path, name: str) -> Extras:
    """Padded numbers and error values of an Excel 97-2003 sheet, from xlrd (formats are in it)."""
    import xlrd

    book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True, logfile=_Quiet())
    try:
        sheet = book.sheet_by_name(name)
        extras = Extras(extent=(sheet.nrows, sheet.ncols))
        pads = {
            index: padding(book.format_map[xf.format_key].format_str)
            for index, xf in enumerate(book.xf_list)
            if xf.format_key in book.format_map
        }
        for row in range(sheet.nrows):
            types = sheet.row_types(row)
            for column, kind in enumerate(types):
                if kind == xlrd.XL_CELL_ERROR:
                    code = sheet.cell_value(row, column)
                    extras.show(row + 1, column + 1, xlrd.error_text_from_code.get(code, "#VALUE!"))
                elif kind == xlrd.XL_CELL_NUMBER:
                    pattern = pads.get(sheet.cell_xf_index(row, column))
                    if pattern:
                        extras.show(row + 1, column + 1, padded(sheet.cell_value(row, column), pattern))
        return extras
    finally:
        book.release_resources()


class _Quiet:
    """xlrd's log, which would print warnings about the file to stdout: nothing below the CLI prints."""

    def write(self, _text: str) -> int:
        return 0


def xlsb_extent(path: Path, index: int) -> tuple[int, int]:
    """Rows and columns of an ``.xlsb`` sheet from its dimension record (BrtWsDim), the one cheap
    measure the binary format has: a file whose record understates its cells is not caught."""
    with zipfile.ZipFile(path) as archive:
        names = sorted(
            (n for n in archive.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.bin", n)),
            key=lambda n: int(re.sub(r"\D", "", n)),
        )
        if index >= len(names):
            return (0, 0)
        with archive.open(names[index]) as part:
            head = part.read(4096)
    at = 0
    for _ in range(20):  # the dimension is among the sheet's first records
        kind, at = _varint(head, at, 2)
        size, at = _varint(head, at, 4)
        if kind == 0x94 and size >= 16:  # BrtWsDim: first row, last row, first column, last column
            _, last_row, _, last_column = struct.unpack_from("<IIII", head, at)
            return last_row + 1, last_column + 1
        at += size
        if at >= len(head):
            break
    return (0, 0)


def _varint(data: bytes, at: int, most: int) -> tuple[int, int]:
    value = shift = 0
    for _ in range(most):
        if at >= len(data):
            break
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return value, at


_OFFICE_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_NUMBER = "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0"
_CALC_EXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
_ODS_MERGED_OR_ERROR = re.compile(rb'number-(rows|columns)-spanned|value-type="error"')
#: the most digits a padding format may show (an 18-digit id number and then some)
_MOST_DIGITS = 30
#: a number style that pads whole numbers (``number:min-integer-digits`` of 2 or more)
_PADDING_STYLE = re.compile(rb'min-integer-digits="(?:[2-9]|\d\d)')


def ods_extras(path: Path, name: str) -> tuple[list[tuple[int, int, int, int]], Extras]:
    """The merged cells of an ``.ods`` sheet as (first column, first row, last column, last row),
    its error values (calamine reads them as empty), and its numbers as their format shows them
    when it pads them (12 in ``0000`` is 0012, in ``"QS"0000`` QS0012), as in ``.xlsx`` and ``.xls``."""
    with zipfile.ZipFile(path) as archive:
        content = archive.read("content.xml")
        styles = archive.read("styles.xml") if "styles.xml" in archive.namelist() else b""
        padding_styles = bool(_PADDING_STYLE.search(styles) or _PADDING_STYLE.search(content))
        if not padding_styles and not _ODS_MERGED_OR_ERROR.search(content):
            return [], Extras()
    formats = _ods_number_formats(styles) if padding_styles and styles else {}
    return _ods_cells(io.BytesIO(content), name, formats)


def _ods_number_formats(styles: bytes) -> dict[str, re.Match[str]]:
    """The padding formats of ``styles.xml``'s number styles, by style name (see :func:`padding`)."""
    found: dict[str, re.Match[str]] = {}
    for _, element in ElementTree.iterparse(io.BytesIO(styles), events=("end",)):
        if element.tag == f"{{{_NUMBER}}}number-style":
            _number_format(element, found)
    return found


def _number_format(style: Any, found: dict[str, re.Match[str]]) -> None:
    """Add ``style`` (a ``number:number-style`` element) to ``found`` if it pads whole numbers:
    text, one whole number of at least two digits without grouping, text."""
    code, numbers = "", 0
    for part in style:
        if part.tag == f"{{{_NUMBER}}}text":
            code += '"' + (part.text or "").replace('"', "") + '"'
        elif part.tag == f"{{{_NUMBER}}}number" and not len(part):
            decimals = part.get(f"{{{_NUMBER}}}decimal-places", "0")
            if decimals != "0" or part.get(f"{{{_NUMBER}}}grouping") == "true":
                return
            digits = part.get(f"{{{_NUMBER}}}min-integer-digits", "1")
            if not digits.isdigit() or int(digits) > _MOST_DIGITS:  # 999999999 zeros: not a roster's
                return
            code, numbers = code + "0" * int(digits), numbers + 1
        else:
            return  # a fraction, a scientific number, text embedded in the number …
    match = padding(code.replace('""', "")) if numbers == 1 else None
    if match:
        found[style.get(f"{{{_STYLE}}}name", "")] = match


def _ods_cells(
    source: Any, name: str, formats: dict[str, re.Match[str]] | None = None
) -> tuple[list[tuple[int, int, int, int]], Extras]:
    def tag(key: str) -> str:
        return f"{{{_OFFICE_TABLE}}}{key}"

    cells = (tag("table-cell"), tag("covered-table-cell"))
    formats = dict(formats or {})  #: number style name -> padding format
    padded_cells: dict[str, re.Match[str]] = {}  #: cell style name -> its number style's padding
    column_styles: list[str] = []  #: the sheet's columns' default cell styles
    merged: list[tuple[int, int, int, int]] = []
    extras = Extras()
    inside, row, column = False, 0, 0
    for event, element in ElementTree.iterparse(source, events=("start", "end")):
        if element.tag == f"{{{_NUMBER}}}number-style" and event == "end":
            _number_format(element, formats)  # automatic styles, before the sheets
        elif element.tag == f"{{{_STYLE}}}style" and event == "end":
            data_style = element.get(f"{{{_STYLE}}}data-style-name", "")
            if data_style in formats:
                padded_cells[element.get(f"{{{_STYLE}}}name", "")] = formats[data_style]
        elif element.tag == tag("table"):
            if event == "start":
                inside = element.get(tag("name")) == name
            elif inside:
                break
        elif not inside:
            continue
        elif element.tag == tag("table-column") and event == "end":
            repeat = min(int(element.get(tag("number-columns-repeated"), "1")), limits.MAX_COLUMNS)
            column_styles += [element.get(tag("default-cell-style-name"), "")] * repeat
        elif element.tag == tag("table-row") and event == "start":
            row, column = row + 1, 0
        elif element.tag == tag("table-row"):
            row += int(element.get(tag("number-rows-repeated"), "1")) - 1
            element.clear()
        elif element.tag in cells and event == "end":
            rows = int(element.get(tag("number-rows-spanned"), "1"))
            columns = int(element.get(tag("number-columns-spanned"), "1"))
            repeat = int(element.get(tag("number-columns-repeated"), "1"))
            if rows > 1 or columns > 1:
                merged.append((column + 1, row, column + columns, row + rows - 1))
            if element.get(f"{{{_CALC_EXT}}}value-type") == "error":
                extras.show(row, column + 1, "".join(element.itertext()).strip() or "#VALUE!")
            elif padded_cells and element.get(f"{{{_OFFICE}}}value-type") == "float":
                style = element.get(tag("style-name")) or (
                    column_styles[column] if column < len(column_styles) else ""
                )
                if style in padded_cells:
                    shown = padded(_number(element.get(f"{{{_OFFICE}}}value", "")), padded_cells[style])
                    for offset in range(min(repeat, limits.MAX_COLUMNS)) if isinstance(shown, str) else ():
                        extras.show(row, column + 1 + offset, shown)
            column += repeat
    return merged, extras


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
