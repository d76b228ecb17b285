"""CSV profiles: UTF-8 (with or without BOM), UTF-16, GB18030/GBK as Excel writes it on Chinese
Windows, or an encoding the user names; the separator found from the header line."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

from packgen.errors import InputError
from packgen.roster import limits
from packgen.roster.table import Table, first_line, table_from_records

CSV_ENCODINGS = ("utf-8-sig", "gb18030")


def read_csv(path: Path, encoding: str | None, _sheet: str | None) -> Table:
    text = decode(path, path.read_bytes(), encoding, "a CSV text file")
    if not text.strip():
        raise InputError(f"{path}: the file has no header row; export the roster again with its header row")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))

    wrapped = '="' in text  # cells written ="0012" to keep their zeros: looked at only if there are any

    def records() -> Iterator[list[str]]:
        start, begin, record = 1, 1, []
        try:
            for record in reader:
                start = begin
                yield [_unwrap(cell) for cell in record] if wrapped else record
                begin = reader.line_num + 1
        except csv.Error as exc:
            raise InputError(
                f"{path}: not a readable CSV file at line {reader.line_num} ({first_line(exc)})"
            ) from None
        if any("\n" in cell for cell in record) and _unclosed_quote(text, start):
            raise InputError(
                f'{path}: line {start} opens a quote (") that never closes, so the rest of the file '
                "ran into one cell; close the quote or remove it"
            )

    # no cell of a file within limits.MAX_FILE_BYTES is too long for the csv module: an over-long
    # cell is then refused by the roster's own limit, with its row and column (limits.MAX_CELL_CHARS)
    previous = csv.field_size_limit(limits.MAX_FILE_BYTES)
    try:
        return table_from_records(path, records())
    finally:
        csv.field_size_limit(previous)


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
    if not cell.startswith('="'):
        return cell
    match = _EXCEL_TEXT.fullmatch(cell)
    return match[1].replace('""', '"') if match else cell


_EXCEL_TEXT = re.compile(r'="(.*)"', re.DOTALL)


def decode(path: Path, raw: bytes, encoding: str | None, what: str) -> str:
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
