"""``packgen doctor``'s table: what :func:`packgen.render.machine.diagnose` found."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def show_diagnosis(console: Console, report: dict[str, Any]) -> None:
    table = Table(show_header=False, title="packgen doctor", title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key in ("packgen", "python", "platform", "weasyprint", "pango", "harfbuzz_subset"):
        table.add_row(key, str(report.get(key) or "missing"))
    if "shortcuts" in report:  # same booklets either way; off, builds take ~30 % longer
        table.add_row("rendering shortcuts", report["shortcuts"])
    for role, found in report["fonts_used"].items():
        table.add_row(f"font for {role}", f"{found[0]} ({found[1]})" if found else "none")
    families = sorted({f["family"] for f in report["chinese_fonts"]})
    table.add_row("fonts covering Chinese", ", ".join(families) or "none")
    table.add_row("poppler", report["poppler"] or "missing")
    console.print(table)
    for problem in report["problems"]:
        console.print(f"problem: {problem}", markup=False)
    for note in report["notes"]:
        console.print(f"note: {note}", markup=False)
    console.print(
        "ok: this machine can print Chinese booklets" if report["ok"] else "not ready", markup=False
    )
