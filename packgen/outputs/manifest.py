"""The build's record: ``manifest.json`` and ``manifest.csv`` at the output root."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from packgen import __version__
from packgen.files import write_atomic

MANIFEST_JSON = "manifest.json"
MANIFEST_CSV = "manifest.csv"
#: One JSON line per booklet finished since the last manifest, so a killed build can resume.
JOURNAL = ".packgen-journal.jsonl"
#: Every booklet the folder holds, also those a narrower build (``--only``, ``--plan``) left out.
STATE = ".packgen-state.json"
CSV_COLUMNS = (
    "id", "name", "branch", "plan", "reason", "edition", "file", "pages", "sha256", "status", "error", "digital",
)  # fmt: skip
#: A cell starting with one of these is a formula to Excel; prefix it with ' to keep it text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Entry:
    """One member's line in the manifest."""

    id: str
    name: str
    branch: str
    plan: str
    reason: str
    rule: str | None = None
    file: str = ""
    pages: int = 0
    sha256: str = ""
    status: str = "built"  #: built, unchanged or failed
    error: str = ""
    route: str = ""
    gaps: list[str] = field(default_factory=list)
    key: str = ""  #: hash of everything the booklet depends on; unchanged inputs give an unchanged key
    seq: int = 0  #: position in the roster, so merged shards come back in roster order
    edition: str = "standard"  #: standard or large (print)
    edition_reason: str = ""  #: why large print (or why not, when the roster's column says so)
    digital: str = ""  #: the digital edition, for members whose plan has one
    digital_sha256: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def summarize(entries: Iterable[Entry], not_covered: Iterable[dict[str, str]] = ()) -> dict[str, Any]:
    entries = list(entries)
    uncovered = list(not_covered) + [
        {"id": e.id, "name": e.name, "why": gap} for e in entries for gap in e.gaps
    ]
    return {
        "members": len(entries),
        "by_status": dict(sorted(Counter(e.status for e in entries).items())),
        "by_plan": dict(sorted(Counter(e.plan for e in entries if e.plan).items())),  # "": a row with errors
        "by_edition": dict(sorted(Counter(e.edition for e in entries if e.plan).items())),
        "by_branch": dict(sorted(Counter(e.branch for e in entries).items())),
        "not_covered": uncovered,
    }


def write_manifest(
    output: Path,
    entries: list[Entry],
    summary: dict[str, Any],
    extra: dict[str, Any] | None = None,
    *,
    forget: Iterable[str] = (),
) -> None:
    """Write ``manifest.json`` (with ``extra`` sections: print runs, delivery, shard) and ``manifest.csv``.

    The state file keeps what earlier builds made for members this one left out, except those in
    ``forget``; the build journal is removed last: once state and manifest are written they hold
    everything the journal did.
    """
    known = previous_entries(output)
    for member_id in forget:
        known.pop(member_id, None)
    known.update((e.id, e) for e in entries)
    state = {key: asdict(e) for key, e in sorted(known.items()) if e.status != "failed"}
    write_atomic(output / STATE, json.dumps(state, ensure_ascii=False).encode("utf-8"))
    data = {
        "packgen": __version__,
        "summary": summary,
        "members": [asdict(e) for e in entries],
        **(extra or {}),
    }
    write_atomic(output / MANIFEST_JSON, json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))
    write_atomic(output / MANIFEST_CSV, manifest_csv(entries).encode("utf-8-sig"))
    (output / JOURNAL).unlink(missing_ok=True)


def read_manifest(output: Path) -> dict[str, Any] | None:
    path = output / MANIFEST_JSON
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def previous_entries(output: Path) -> dict[str, Entry]:
    """What earlier builds into ``output`` recorded: state, manifest, then the journal of a build cut short."""
    found: dict[str, Entry] = {}
    try:
        state = json.loads((output / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    data = read_manifest(output) or {}
    items = list(state.values()) if isinstance(state, dict) else []
    for item in items + data.get("members", []):
        if isinstance(item, dict) and "id" in item:
            found[item["id"]] = Entry.from_dict(item)
    try:
        lines = (output / JOURNAL).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue  # the last line of a killed build may be cut short
        if isinstance(item, dict) and "id" in item:
            found[item["id"]] = Entry.from_dict(item)
    return found


def append_journal(output: Path, entry: Entry) -> None:
    """Record one finished booklet. One ``write`` of one line, so concurrent workers never interleave."""
    line = (json.dumps(asdict(entry), ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(output / JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def manifest_csv(entries: Iterable[Entry]) -> str:
    """CSV text for Excel: every cell that Excel would take as a formula neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        row = asdict(entry)
        writer.writerow([csv_cell(row[column]) for column in CSV_COLUMNS])
    return buffer.getvalue()


#: text Excel would read as a number and change: leading zeros (an id 0012, a landline 0523…), more
#: digits than it keeps (an 18-digit ID number), a phone with its country code (+81…)
_NUMBER_LIKE = re.compile(r"0\d+|\d{12,}|\+\d[\d ]*")


def csv_cell(value: Any) -> Any:
    """A CSV cell as Excel should show it: number-like text as ``="0012"`` (Excel's way to keep text
    in a CSV, shown without quotes or sign), anything Excel would run as a formula prefixed with '."""
    if isinstance(value, str) and _NUMBER_LIKE.fullmatch(value):
        return f'="{value}"'
    return neutralise(value)


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
