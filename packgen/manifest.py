"""The build's record: ``manifest.json`` and ``manifest.csv`` at the output root."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packgen import __version__
from packgen.render import write_atomic

CSV_COLUMNS = ("id", "name", "branch", "plan", "reason", "file", "pages", "sha256", "status", "error")
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


def summarize(entries: Iterable[Entry], not_covered: Iterable[dict[str, str]] = ()) -> dict[str, Any]:
    entries = list(entries)
    uncovered = list(not_covered) + [
        {"id": e.id, "name": e.name, "why": gap} for e in entries for gap in e.gaps
    ]
    return {
        "members": len(entries),
        "by_status": dict(sorted(Counter(e.status for e in entries).items())),
        "by_plan": dict(sorted(Counter(e.plan for e in entries).items())),
        "by_branch": dict(sorted(Counter(e.branch for e in entries).items())),
        "not_covered": uncovered,
    }


def write_manifest(output: Path, entries: list[Entry], summary: dict[str, Any]) -> None:
    data = {
        "packgen": __version__,
        "summary": summary,
        "members": [asdict(e) for e in entries],
    }
    write_atomic(output / "manifest.json", json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))
    write_atomic(output / "manifest.csv", manifest_csv(entries).encode("utf-8-sig"))


def read_manifest(output: Path) -> dict[str, Any] | None:
    path = output / "manifest.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def manifest_csv(entries: Iterable[Entry]) -> str:
    """CSV text for Excel: every cell that Excel would take as a formula neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        row = asdict(entry)
        writer.writerow([neutralise(row[column]) for column in CSV_COLUMNS])
    return buffer.getvalue()


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
