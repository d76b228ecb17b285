"""Make tests/data/rosters/features.{xls,ods,xlsb}: one small roster with what the spreadsheet reader must
handle, in the formats other than .xlsx (the .xlsx cases are made by the tests themselves).

Sheet 1 '说明' is hidden; sheet 2 '花名册': a title row merged over the table, a header of two rows
(党员编号 merged down, 基本信息 merged over 姓名/性别/出生年月), ids typed as numbers formatted 0000
and "QS"0000, birth dates as Excel dates, 所在党支部 merged down over three members, and a column
of formulas: =1/0 (#DIV/0!), =NA() (#N/A), text, a number. LibreOffice saves it as .xls and .ods
(calculating the formulas); the .xlsb is written by pyxlsbwriter, which has no merged cells or
number formats.

    python tests/data/rosters/make_features.py      # needs LibreOffice; pyxlsbwriter for the .xlsb
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
ROWS = [
    (12, "张三", "男", dt.datetime(1975, 3, 1), "第一党支部", 13812345678, "=1/0"),
    (7, "李四", "女", dt.datetime(1980, 10, 1), None, 13912345678, "=NA()"),
    (123, "王五", "男", dt.datetime(1990, 1, 1), None, 13712345678, '=B6&"同志"'),
    ("0042", "赵六", "女", "1985年6月", "第二党支部", "138 0000 1111", "=SUM(1,2)"),
]


def workbook(path: Path) -> None:
    book = Workbook()
    note = book.active
    note.title = "说明"
    note.append(["本表填写说明"])
    note.sheet_state = "hidden"
    sheet = book.create_sheet("花名册")
    sheet["A1"] = "青山镇流动党员花名册"
    sheet.merge_cells("A1:G1")
    for cell, text, span in [("A2", "党员编号", "A2:A3"), ("B2", "基本信息", "B2:D2"), ("E2", "所在党支部", "E2:E3"),
                             ("F2", "联系电话", "F2:F3"), ("G2", "公式", "G2:G3")]:  # fmt: skip
        sheet[cell] = text
        sheet.merge_cells(span)
    sheet["B3"], sheet["C3"], sheet["D3"] = "姓名", "性别", "出生年月"
    for number, row in enumerate(ROWS, start=4):
        for column, value in enumerate(row, start=1):
            sheet.cell(number, column, value)
        sheet.cell(number, 4).number_format = "yyyy-mm"
    sheet["A4"].number_format, sheet["A5"].number_format, sheet["A6"].number_format = (
        "0000",
        '"QS"0000',
        "000000",
    )
    sheet.merge_cells("E4:E6")
    book.save(path)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "features.xlsx"
        workbook(source)
        soffice = shutil.which("soffice") or shutil.which("libreoffice")
        if soffice is None:
            raise SystemExit("LibreOffice (soffice) is needed to save .xls and .ods")
        for kind in ("xls", "ods"):
            subprocess.run(
                [soffice, f"-env:UserInstallation=file://{scratch}/profile", "--headless", "--convert-to", kind,
                 "--outdir", str(HERE), str(source)],
                check=True, capture_output=True,
            )  # fmt: skip
    try:
        from pyxlsbwriter import XlsbWriter  # type: ignore[import-not-found]
    except ImportError:
        print("pyxlsbwriter is not installed: features.xlsb left as it is")
        return
    with XlsbWriter(str(HERE / "features.xlsb")) as writer:
        writer.add_sheet("说明", hidden=True)
        writer.write_sheet([["本表填写说明", None]])
        writer.add_sheet("花名册")
        writer.write_sheet([["青山镇流动党员花名册", None, None, None, None], ["党员编号", "姓名", "性别", "出生年月", "所在党支部"],
                            [12, "张三", "男", dt.datetime(1975, 3, 1), "第一党支部"], [7, "李四", "女", dt.date(1980, 10, 1), None]])  # fmt: skip


if __name__ == "__main__":
    main()
