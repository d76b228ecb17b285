"""Make the township roster of tests/data/rosters: 172 floating members of the fictional 青山镇 in 江苏省盐城市
大丰区, as the organizers' office exports it, in four files with the same rows:

- ``township.xlsx``: a title row merged over the table, the header, 172 members, two lines under
  the table (合计, 填表人); birth and leaving dates as Excel dates, phones typed as numbers;
- ``township.xls``: the same saved as Excel 97-2003 (by LibreOffice, which this script calls);
- ``township-utf8.csv``: as Excel's "CSV UTF-8" writes it (BOM, CRLF, dates as shown);
- ``township-gbk.csv``: as Excel's "CSV" writes it on Chinese Windows (GB18030, CRLF).

The 流动类型 column speaks the statistics tables' words (跨省流动, 省内跨市（地）流动, 市内流动, 出国（境）
…), or says only ``流动`` / ``外出``, or is empty: the class then follows from 外出地点 and the
workspace's ``organization.home``. The 31 freight drivers (18 %) have ``流动`` and ``货运途中（…）``.
``township-expected.csv`` holds the class a person would give each member, for the tests.

    python tests/data/rosters/make_township.py      # needs openpyxl (a packgen dependency) and LibreOffice
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
HEADERS = [
    "序号", "党员编号", "姓名", "性别", "民族", "出生年月", "学历", "所在党支部", "流动类型", "外出地点",
    "外出原因", "流出时间", "从事职业", "联系手机", "网络条件", "邮寄地址", "流动党员活动证编号", "备注",
]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈"
GIVEN = "建国秀英志明海涛红梅丽华伟强春燕玉兰文斌德胜桂芳军永刚淑珍金凤国庆晓东卫东爱民宏立新佳怡子豪雨欣浩然"
BRANCHES = [
    "东湖村党支部",
    "西岭村党支部",
    "南港村党支部",
    "北圩村党支部",
    "青山社区党支部",
    "镇机关第二党支部",
]
#: place -> the class a person gives a member there, registered in 江苏省盐城市大丰区
PLACES = {
    "within_city": ["盐城市亭湖区", "盐城市盐都区", "东台市", "射阳县", "大丰区城东新区", "建湖县"],
    "within_province": ["苏州市工业园区", "昆山市", "南京市江宁区", "无锡市新吴区", "常州市武进区", "南通市崇川区"],
    "out_of_province": [
        "上海市浦东新区", "上海市闵行区", "浙江省杭州市", "浙江宁波", "广东省深圳市南山区", "东莞市",
        "北京市朝阳区", "安徽合肥", "新疆乌鲁木齐",
    ],
    "abroad": ["日本东京", "新加坡", "阿联酋迪拜", "澳大利亚悉尼", "中国香港", "韩国首尔"],
    "on_the_road": ["货运途中（长三角线路）", "货运途中（京沪线）", "货运途中（沪陕线）"],
}  # fmt: skip
#: what 流动类型 says for each class: the statistics tables' words, a vague word, or nothing
WORDS = {
    "within_city": ["市内流动", "市内流动", "市内", "", "外出"],
    "within_province": ["省内跨市（地）流动", "省内跨市(区、市)流动", "省内流动", "省内", "", "流动"],
    "out_of_province": ["跨省流动", "跨省（区、市）流动", "跨省流动", "省外", "", "流动"],
    "abroad": ["出国（境）", "出国(境)", "出国（境）", ""],
    "on_the_road": ["流动"],
}
REASONS = {
    "within_city": "务工",
    "within_province": "务工",
    "out_of_province": "务工经商",
    "abroad": "劳务输出",
}
JOBS = [
    "电子厂操作工", "建筑工人", "护工", "外卖骑手", "个体经营", "教师", "程序员", "厨师", "保安", "快递员",
]  # fmt: skip
INTERNET = ["良好", "良好", "一般", "较差", "无"]
COUNT, DRIVERS = 172, 31


def members() -> list[tuple[list[object], str]]:
    """The rows (as typed into Excel) and each member's class."""
    rnd = random.Random(19)
    classes = ["on_the_road"] * DRIVERS + rnd.choices(
        ["within_city", "within_province", "out_of_province", "abroad"],
        weights=[3, 4, 5, 1],
        k=COUNT - DRIVERS,
    )
    rnd.shuffle(classes)
    rows = []
    for number, kind in enumerate(classes, start=1):
        driver = kind == "on_the_road"
        near = kind in ("within_city", "within_province")
        place = rnd.choice(PLACES[kind])
        born = dt.datetime(rnd.randint(1950, 2001), rnd.randint(1, 12), 1)
        left = dt.datetime(rnd.randint(2012, 2025), rnd.randint(1, 12), 1)
        rows.append(
            (
                [
                    number, f"DF{number:04d}", rnd.choice(SURNAMES) + "".join(rnd.sample(GIVEN, rnd.choice([1, 2]))),
                    rnd.choice("男男女"), rnd.choice(["汉族"] * 9 + ["回族"]), born,
                    rnd.choice(["初中", "高中", "中专", "大专", "本科"]), rnd.choice(BRANCHES),
                    rnd.choice(WORDS[kind]), place, "跑运输" if driver else REASONS[kind], left,
                    "货车司机" if driver else rnd.choice(JOBS), int(f"139{rnd.randint(0, 99999999):08d}"),
                    rnd.choice(INTERNET), f"{place}幸福路{rnd.randint(1, 300)}号" if near and rnd.random() < 0.7 else "",
                    f"苏盐丰流字{number:05d}号", "春节前返乡" if rnd.random() < 0.1 else "",
                ],
                kind,
            )
        )  # fmt: skip
    return rows


FOOTER = [["合计：172人"], ["填表人：王明", None, None, "审核人：李华", None, "填表日期：2026年11月20日"]]
TITLE = "大丰区青山镇流动党员花名册（2026年度）"


def shown(value: object) -> object:
    """A cell as Excel shows it, and so writes it to a CSV."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m")
    return value


def write_workbook(path: Path, rows: list[list[object]]) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "花名册"
    sheet.append([TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
        for column in (6, 12):
            sheet.cell(sheet.max_row, column).number_format = "yyyy-mm"
    for line in FOOTER:
        sheet.append(line)
    book.save(path)


def write_csv(path: Path, rows: list[list[object]], encoding: str) -> None:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([TITLE] + [""] * (len(HEADERS) - 1))
        writer.writerow(HEADERS)
        writer.writerows([shown(v) for v in row] for row in rows)
        writer.writerows(line + [None] * (len(HEADERS) - len(line)) for line in FOOTER)


def main() -> None:
    made = members()
    rows = [row for row, _ in made]
    write_workbook(HERE / "township.xlsx", rows)
    write_csv(HERE / "township-utf8.csv", rows, "utf-8-sig")
    write_csv(HERE / "township-gbk.csv", rows, "gb18030")
    with open(HERE / "township-expected.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["id", "mobility"], *[[row[1], kind] for row, kind in made]])
    with tempfile.TemporaryDirectory() as scratch:  # LibreOffice saves as Excel 97-2003
        soffice = shutil.which("soffice") or shutil.which("libreoffice")
        if soffice is None:
            raise SystemExit("LibreOffice (soffice) is needed to save township.xls")
        subprocess.run(
            [soffice, f"-env:UserInstallation=file://{scratch}/profile", "--headless", "--convert-to", "xls",
             "--outdir", scratch, str(HERE / "township.xlsx")],
            check=True, capture_output=True,
        )  # fmt: skip
        shutil.copy(Path(scratch) / "township.xls", HERE / "township.xls")


if __name__ == "__main__":
    main()
