"""The plan as a spreadsheet for organizers (``packgen plan --export FILE``), built with pandas.

An ``.xlsx`` export holds three sheets — the members with plan and reason, members per branch and
plan (a pandas crosstab with totals), and the members who cannot be served — and a ``.csv`` export
the member sheet alone. Profile data is untrusted: any cell Excel would run as a formula is
neutralised, as in the manifest.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from packgen.config import Config
from packgen.errors import UsageError
from packgen.files import atomic_output, write_atomic
from packgen.manifest import neutralise
from packgen.plans import PlanReport

MEMBER_COLUMNS = ("编号", "姓名", "支部", "学习方式", "方式代码", "规则", "理由", "未能覆盖")
TOTAL = "合计"


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
                row.assignment.rule or row.assignment.source,
                row.assignment.explanation,
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
    safe = {name: frame.map(neutralise) for name, frame in frames.items()}
    suffix = path.suffix.lower()
    if not path.parent.is_dir():
        raise UsageError(f"--export {path}: the folder {path.parent} does not exist")
    if suffix == ".csv":
        members = next(iter(safe.values()))
        write_atomic(path, members.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig"))
    elif suffix == ".xlsx":
        with atomic_output(path) as handle, pd.ExcelWriter(handle, engine="openpyxl") as writer:
            for name, frame in safe.items():
                frame.to_excel(writer, sheet_name=name, index=False)
    else:
        raise UsageError(f"--export {path}: give a file ending in .xlsx or .csv")
