"""Write the roster fixtures in tests/data as organisers' tools write them (run once, committed).

``python tests/data/make_fixtures.py`` regenerates them; the tests read the committed files.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
HEADER = "党员编号,姓名,性别,出生年月,所在党支部,流动类型,流入地,联系电话,网络条件,能否返乡,邮寄地址,指定学习方式,备注"


def excel_gbk_csv() -> None:
    """Excel on Chinese Windows, "CSV (逗号分隔)": GBK, CRLF, quotes only where needed,
    a line break inside a cell as a bare LF, and trailing rows of empty cells."""
    lines = [
        HEADER,
        'G001,周德明,男,1962年5月,西山村党支部,市内,临江县城关镇,138 0000 2001,较差,是,"临江县城关镇人民路1号,3单元",送学上门,',
        'G002,吴丽,女,1988-11,西山村党支部,省外,上海市闵行区,13800002002,良好,否,,,"夜班为主\n周末可联系"',
        'G003,郑"大"海,男,1975.3,西山村党支部,在途,沪陕线,+86 138-0000-2003,一般,否,,,"说""跑车""时不便接电话"',
        ",,,,,,,,,,,,",
        ",,,,,,,,,,,,",
    ]
    (HERE / "excel-gbk.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))


def utf8_bom_csv() -> None:
    """UTF-8 with BOM (Excel's "CSV UTF-8"): a full-width space around a name, a name with a
    character outside the Basic Multilingual Plane, English labels, and a trailing blank row."""
    lines = [
        HEADER,
        "U001,\u3000王秀兰\u3000,女,1970-01,南湖村党支部,within_city,临江县,13800003001,weak,yes,临江县南湖村8号,,",
        "U002,陈\U00020bb7,男,1991-06,南湖村党支部,abroad,新加坡,+65 8000 3002,good,no,,online,",
        "",
    ]
    (HERE / "utf8-bom.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))


def roster_xlsx() -> None:
    """An .xlsx made with openpyxl as the member system exports it: a title row above the
    header, real date cells, phones as numbers, and a second sheet."""
    book = Workbook()
    sheet = book.active
    sheet.title = "花名册"
    sheet.append(["青山镇北港村流动党员花名册"])
    sheet.append(
        [
            "党员编号",
            "姓名",
            "出生年月",
            "所在党支部",
            "流动类型",
            "联系电话",
            "网络条件",
            "能否返乡",
            "邮寄地址",
        ]
    )
    sheet.append(
        [
            "X001",
            "顾海生",
            dt.datetime(1957, 6, 1),
            "北港村党支部",
            "市内",
            13800004001,
            "一般",
            "是",
            "城关镇滨江路33号",
        ]
    )
    sheet.append([None] * 9)
    sheet.append(
        ["X002", "邵春燕", dt.datetime(1981, 4, 1), "北港村党支部", "省内", 15900004002, "较差", "是", None]
    )
    abroad = book.create_sheet("境外")
    abroad.append(["id", "name", "mobility", "internet"])
    abroad.append(["X101", "林晓", "abroad", "good"])
    book.save(HERE / "roster.xlsx")


def members_yaml() -> None:
    (HERE / "members.yaml").write_text(
        "# 境外流动党员\n"
        "members:\n"
        "  - id: 0012\n"
        "    name: 林晓\n"
        "    birth: 1975.10\n"
        "    mobility: 境外\n"
        "    phone: +81 90 0000 0137\n"
        "    can_return: no\n"
        "    微信号: linxiao01\n"
        "  - id: Y002\n"
        "    name: 黄\U0002a6a5\n"
        "    mobility: abroad\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    excel_gbk_csv()
    utf8_bom_csv()
    roster_xlsx()
    members_yaml()
