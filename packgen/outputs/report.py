"""The plan as a spreadsheet for organizers (``packgen plan --export FILE``), built with pandas.

An ``.xlsx`` export holds three sheets — the members with plan and reason, members per branch and
plan (a pandas crosstab with totals), and the members who cannot be served — and a ``.csv`` export
the member sheet alone. Profile data is untrusted: in the workbook every text cell is stored as
text (never a formula), in the CSV a cell Excel would run as a formula is neutralised and number-like
text kept as text, as in the manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from packgen.config.schema import Config
from packgen.content.plans import PlanReport
from packgen.errors import UsageError
from packgen.files import atomic_output, write_atomic
from packgen.outputs.manifest import csv_cell

MEMBER_COLUMNS = ("编号", "姓名", "支部", "学习方式", "方式代码", "规则", "理由", "版本", "未能覆盖")
TOTAL = "合计"
#: how a plan was chosen when no rule chose it
SOURCES = {"override": "本人或组织指定", "default": "默认"}


def plan_frames(config: Config, report: PlanReport) -> dict[str, pd.DataFrame]:
    """Sheet name -> table, in the order the sheets appear."""
    members = pd.DataFrame(
        [
            (
                row.member.id,
                row.member.name,
                row.member.branch,
                config.plans[row.assignment.plan].label,
                row.assignment.plan,
                row.assignment.rule or SOURCES.get(row.assignment.source, row.assignment.source),
                row.assignment.explanation,
                "：".join(filter(None, [row.assignment.edition_label, row.assignment.edition_reason])),
                "；".join(row.gaps),
            )
            for row in report.rows
        ],
        columns=list(MEMBER_COLUMNS),
    )
    counts = pd.crosstab(members["支部"], members["学习方式"], margins=True, margins_name=TOTAL)
    labels = [plan.label for plan in config.plans.values() if plan.label in counts.columns]
    counts = counts[[*labels, TOTAL]].reset_index()
    uncovered = members.loc[members["未能覆盖"] != "", ["编号", "姓名", "支部", "学习方式", "未能覆盖"]]
    return {"名单": members, "统计": counts, "未能覆盖": uncovered}


def write_plan_export(path: Path, frames: dict[str, pd.DataFrame]) -> None:
    """Write the frames to ``path`` (.xlsx: every sheet; .csv: the member sheet, UTF-8 with BOM)."""
    suffix = path.suffix.lower()
    if not path.parent.is_dir():
        raise UsageError(f"--export {path}: the folder {path.parent} does not exist")
    if suffix == ".csv":
        members = next(iter(frames.values())).map(csv_cell)
        write_atomic(path, members.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig"))
    elif suffix == ".xlsx":
        with atomic_output(path) as handle, pd.ExcelWriter(handle, engine="openpyxl") as writer:
            for name, frame in frames.items():
                frame.to_excel(writer, sheet_name=name, index=False)
                _readable(writer.sheets[name])
    else:
        raise UsageError(f"--export {path}: give a file ending in .xlsx or .csv")


def _readable(sheet: Any) -> None:
    """Text stays text (openpyxl would store ``=1+1`` typed as a name as a formula), the header row is
    bold, frozen and filterable, and each column is about as wide as its longest cell."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    widths: dict[int, int] = {}
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
                wide = sum(2 if ord(ch) > 0x2E7F else 1 for ch in cell.value)  # a Chinese character: two
                widths[cell.column] = max(widths.get(cell.column, 0), wide)
            elif cell.value is not None:
                widths[cell.column] = max(widths.get(cell.column, 0), len(str(cell.value)))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column, chars in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = min(chars + 2, 60)
    sheet.freeze_panes = "A2"
    if sheet.max_row > 1:
        sheet.auto_filter.ref = sheet.dimensions
