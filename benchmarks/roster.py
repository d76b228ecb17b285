"""packgen reading a province-wide roster, side by side with pandas reading the same file alone.

    python benchmarks/roster.py --members 100000 --repeat 3

writes a roster of N members (default 100,000) as a UTF-8 CSV and as an .xlsx into a scratch
workspace registered at 江苏省盐城市大丰区, and times, each in a fresh process, in one run:

- ``pandas.read_csv`` of the CSV, and ``packgen plan --quiet`` on it (read, validate, plan);
- ``pandas.read_excel`` of the .xlsx with ``engine="calamine"`` (the reader packgen uses; pandas'
  default engine, openpyxl, is ~6x slower and is timed too unless ``--no-openpyxl``), and
  ``packgen plan --quiet`` on it.

The roster is shaped like a real one: 流动类型 in the statistics tables' words, a fifth of the
members with only ``流动`` or nothing (their class worked out from 外出地点), freight drivers on the
road, birth dates, phones, addresses for the members nearby. Each run is timed by wall clock and
by CPU (user + system, which a loaded machine disturbs less), with its peak memory (maxrss); the
medians of ``--repeat`` runs, taken in alternating order, are printed with the ratios
packgen/pandas and written to ``benchmarks/results/roster.json``. Linux only (os.wait4).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "roster.json"
HOME = "江苏省盐城市大丰区"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "建国秀英志明海涛红梅丽华伟强春燕玉兰文斌德胜桂芳小军永刚淑珍金凤国庆晓东卫东爱民玉珍宏伟立新"
BRANCHES = [
    f"{town}镇{village}村党支部"
    for town in "草白刘新"
    for village in ("东湖", "西岭", "南港", "北圩", "中心")
]
PLACES = {
    "市内流动": ["盐城市亭湖区", "盐城市盐都区", "东台市", "射阳县"],
    "省内跨市流动": ["苏州市工业园区", "南京市江宁区", "无锡市新吴区", "常州市武进区", "昆山市"],
    "跨省流动": [
        "上海市浦东新区",
        "浙江省宁波市",
        "广东省东莞市",
        "深圳市宝安区",
        "北京市朝阳区",
        "安徽合肥",
    ],
    "出国（境）": ["新加坡", "阿联酋迪拜", "日本大阪"],
    "流动": ["货运途中（长三角线路）", "货运途中（京沪线）"],
}
JOBS = ["电子厂操作工", "建筑工人", "护工", "外卖骑手", "个体经营", "教师", "程序员", "厨师", "保安"]
HEADERS = ["党员编号", "姓名", "性别", "出生年月", "所在党支部", "流动类型", "外出地点", "从事职业", "联系手机",
           "网络条件", "能否返乡", "邮寄地址", "送学路线", "指定学习方式", "备注"]  # fmt: skip


def roster(count: int, seed: int = 19) -> list[list[Any]]:
    rnd = random.Random(seed)
    rows = []
    for n in range(1, count + 1):
        kind = rnd.choices(list(PLACES), weights=[3, 4, 5, 1, 2])[0]
        place = rnd.choice(PLACES[kind])
        word = kind if rnd.random() < 0.8 or kind == "流动" else rnd.choice(["流动", "", "外出"])
        near = kind in ("市内流动", "省内跨市流动")
        rows.append([
            f"JS{n:06d}", rnd.choice(SURNAMES) + "".join(rnd.sample(GIVEN, rnd.choice([1, 2]))), rnd.choice("男女"),
            f"{rnd.randint(1950, 2000)}-{rnd.randint(1, 12):02d}", rnd.choice(BRANCHES), word, place,
            "货车司机" if kind == "流动" else rnd.choice(JOBS), f"139{rnd.randint(0, 99999999):08d}",
            rnd.choice(["良好", "良好", "一般", "较差", "无"]), rnd.choice("是否"),
            f"{place}幸福路{rnd.randint(1, 300)}号" if near else "", rnd.choice(["一线", "二线"]) if near else "",
            "", "",
        ])  # fmt: skip
    return rows


def write_inputs(folder: Path, count: int) -> tuple[Path, Path]:
    """The workspace (config with organization.home) and the roster as .csv and .xlsx."""
    from openpyxl import Workbook

    subprocess.run([sys.executable, "-m", "packgen", "init", str(folder)], check=True, capture_output=True)
    config = folder / "packgen.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("  campaign:", f"  home: {HOME}\n  campaign:", 1), encoding="utf-8")
    shutil.rmtree(folder / "profiles")
    rows = roster(count)
    csv_path, xlsx_path = folder / "roster.csv", folder / "roster.xlsx"
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("花名册")
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    book.save(xlsx_path)
    return csv_path, xlsx_path


def timed(command: list[str], cwd: Path) -> dict[str, float]:
    """Wall seconds, CPU seconds (user + system) and peak memory (MB) of one fresh process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000, help="roster size (default 100,000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each case; medians are reported")
    parser.add_argument("--no-openpyxl", action="store_true", help="skip pandas.read_excel with openpyxl")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write results ({RESULTS})")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="packgen-roster-"))
    if args.keep and folder.exists():
        shutil.rmtree(folder)
    try:
        csv_path, xlsx_path = write_inputs(folder, args.members)
        python, packgen = sys.executable, [sys.executable, "-m", "packgen", "plan", "--quiet"]
        read = "import pandas as pd, sys; pd.read_{}(sys.argv[1]{})"
        cases = {
            "pandas read_csv": [python, "-c", read.format("csv", ""), str(csv_path)],
            "packgen plan (csv)": [*packgen, str(csv_path)],
            "pandas read_excel calamine": [
                python,
                "-c",
                read.format("excel", ", engine='calamine'"),
                str(xlsx_path),
            ],
            "packgen plan (xlsx)": [*packgen, str(xlsx_path)],
        }
        if not args.no_openpyxl:
            cases["pandas read_excel openpyxl"] = [python, "-c", read.format("excel", ""), str(xlsx_path)]
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
        for attempt in range(args.repeat):
            order = list(cases) if attempt % 2 == 0 else list(reversed(cases))
            for name in order:
                runs[name].append(timed(cases[name], folder))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    medians = {
        name: {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "peak_mb")}
        for name, rs in runs.items()
    }
    ratios = {
        "csv: packgen / pandas read_csv": _ratio(medians, "packgen plan (csv)", "pandas read_csv"),
        "xlsx: packgen / pandas read_excel (calamine)": _ratio(medians, "packgen plan (xlsx)", "pandas read_excel calamine"),
    }  # fmt: skip
    if "pandas read_excel openpyxl" in medians:
        ratios["xlsx: packgen / pandas read_excel (openpyxl, its default)"] = _ratio(
            medians, "packgen plan (xlsx)", "pandas read_excel openpyxl"
        )
    print(f"{args.members:,} members, median of {args.repeat} run(s) each")
    print(f"{'':32} {'wall s':>8} {'cpu s':>8} {'peak MB':>8}")
    for name, m in medians.items():
        print(f"{name:32} {m['wall']:>8.2f} {m['cpu']:>8.2f} {m['peak_mb']:>8.0f}")
    for name, ratio in ratios.items():
        print(f"{name}: {ratio['wall']:.1f}x wall, {ratio['cpu']:.1f}x cpu")
    result = {
        "members": args.members, "repeat": args.repeat, "cpus": os.cpu_count(), "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": runs, "medians": medians, "ratios": ratios,
    }  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")


def _ratio(medians: dict[str, dict[str, float]], ours: str, theirs: str) -> dict[str, float]:
    return {k: medians[ours][k] / medians[theirs][k] for k in ("wall", "cpu")}


if __name__ == "__main__":
    main()
