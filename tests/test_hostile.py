"""Issue 20: nothing from outside (a roster, a shard from another machine, a template or material
received from others) can break out of the workspace, hang a build or show a traceback.

Each test reproduces one case of the issue and asserts the exact message a user sees.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from booklets import small_workspace
from conftest import write_csv
from openpyxl import Workbook

ROSTER = "党员编号,姓名,所在党支部,流动类型,网络条件\n"
TOO_LONG = (
    "characters, more than any roster cell holds (limit 2,000 characters); text pasted into the wrong "
    "cell? Shorten it"
)


def xlsx_with(path: Path, rows: list[list[str]], long_text: str = "") -> Path:
    """An .xlsx of ``rows``; a cell ``LONG`` holds ``long_text``, written into the shared strings
    directly (openpyxl cuts a cell at Excel's 32,767 characters, a hostile file need not)."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info).replace(b"LONG", long_text.encode("utf-8")))
    return path


# --- 4. long values: one limit per cell, at read time, in every format -------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "yaml"])
def test_a_cell_longer_than_the_limit_refuses_that_row_in_every_format(run, tmp_path: Path, fmt: str) -> None:
    name = "长" * 2_001
    path = tmp_path / f"r.{fmt}"
    if fmt == "csv":
        write_csv(path, f"党员编号,姓名\nA1,{name}\nA2,李四\n")
    elif fmt == "xlsx":
        xlsx_with(path, [["党员编号", "姓名"], ["A1", "LONG"], ["A2", "李四"]], name)
    else:
        write_csv(path, f"- {{党员编号: A1, 姓名: {name}}}\n- {{党员编号: A2, 姓名: 李四}}\n")
    result = run("validate", path)
    row = "item 1" if fmt == "yaml" else "row 2"
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: {path}, {row}, column '姓名': 2,001 {TOO_LONG}\n",
    )
    assert result.stdout == "1 member read; 1 error, 0 warnings\n"


def test_a_header_longer_than_the_limit_refuses_the_file(run, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", f"党员编号,{'名' * 3_000}\nA1,张三\n")
    result = run("validate", path)
    assert (result.exit_code, result.stderr) == (
        2, f"error: {path}: row 1, column B: the header has 3,000 {TOO_LONG}, or check that this is the right file\n"
    )  # fmt: skip


def test_a_5_mb_name_in_an_xlsx_fails_that_member_and_the_build_goes_on(run, tmp_path: Path) -> None:
    small_workspace(tmp_path)
    roster = tmp_path / "profiles" / "roster.csv"
    roster.unlink()
    rows = [["党员编号", "姓名", "所在党支部", "流动类型", "网络条件"], ["A1", "LONG", "东湖村党支部", "境外", "良好"],
            ["A2", "李四", "西山村党支部", "市内", "较差"]]  # fmt: skip
    xlsx = xlsx_with(tmp_path / "profiles" / "roster.xlsx", rows, "张" * 1_750_000)  # 5.25 MB of UTF-8
    result = run("build", "-q", "-j", "1")
    assert result.exit_code == 1
    assert result.stderr == f"error: {xlsx}, row 2, column '姓名': 1,750,000 {TOO_LONG}\n"
    assert sorted(p.name for p in (tmp_path / "output" / "booklets").iterdir()) == ["A2.pdf"]
