"""Read profile files into plain rows of cells: one reader per format behind :func:`read_table`.

Nothing here knows what a member is: a reader returns a :class:`~packgen.roster.table.Table` of
header names as written and rows of raw cell values, each row numbered as the user sees it in the
file (spreadsheet row number for CSV/XLSX, item number for YAML). The readers: ``csv_file``,
``excel`` (every spreadsheet format), ``yaml_file``.

Profiles are untrusted: every reader refuses binary data, oversized files, zip bombs, YAML
tags that would build objects, YAML aliases and absurd nesting with an :class:`InputError`
that names the file, never with a traceback or a hang.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from packgen.errors import InputError
from packgen.roster import limits
from packgen.roster.csv_file import read_csv
from packgen.roster.excel import SPREADSHEET_SUFFIXES, read_spreadsheet
from packgen.roster.table import Row, Table, human_size
from packgen.roster.yaml_file import read_yaml

__all__ = ["Row", "Table", "find_profiles", "read_table"]

PROFILE_SUFFIXES = (".csv", *SPREADSHEET_SUFFIXES, ".yaml", ".yml")


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
        hint = "; export it as .xlsx or .csv" if suffix == ".numbers" else ""
        raise InputError(
            f"{path}: unknown file type '{suffix or '(none)'}'; packgen reads .csv, .xlsx, .xls, .xlsb, "
            ".ods, .et, .yaml and .yml" + hint
        )
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path}: the file is empty; export the roster again with its header row")
    if size > limits.MAX_FILE_BYTES:
        raise InputError(
            f"{path}: the file is {human_size(size)}, more than any roster (limit {human_size(limits.MAX_FILE_BYTES)}); "
            "check that this is the right file"
        )
    return reader(path, encoding, sheet)


_READERS: dict[str, Callable[[Path, str | None, str | None], Table]] = {
    ".csv": read_csv,
    **dict.fromkeys(SPREADSHEET_SUFFIXES, read_spreadsheet),
    ".yaml": read_yaml,
    ".yml": read_yaml,
}
