"""packgen's speed, side by side with what a user would script instead.

    python benchmarks/run.py --members 200

generates a realistic roster of N members in a scratch workspace and times, in one run:

(a) a shell-style loop calling the ``weasyprint`` command once per member on the HTML packgen renders;
(b) a loop calling WeasyPrint in one Python process (``HTML(...).write_pdf()`` per member);
(c) ``packgen build`` with default options into a fresh output folder;
(d) the same ``packgen build`` again with nothing changed;
(e) a loop calling Typst in one process (the ``typst`` Python binding, one reused ``Compiler``) on a
    booklet of the same kind (``benchmarks/typst/``: same page size, fonts, text per page, tables and
    record sheets), what an engineer would pick instead today. Typst is installed for the benchmark
    only, into ``benchmarks/.typst-venv``; it lays out on all CPUs, as it does by default.

All of them make the booklets alone: the benchmark's workspace has the built-in config with
``digital: []`` (a digital edition is a second, tagged render of a member's booklet; its cost per
booklet is measured by ``benchmarks/print_features.py``; ``--digital`` keeps the default).

(a) and (b) take seconds per booklet, so by default they run on the first ``--baseline-members``
members and their per-booklet cost is extrapolated to N (the output says so). (c) and (d) always
build all N, and (e) all N. It prints booklets per second, milliseconds per page and pages per second
per core (pages read back from each PDF: a Typst booklet runs a page shorter, it sets Chinese
punctuation tighter), the ratios (a)/(c), (b)/(c) per booklet, (e)/(c) per page, (c)/(d), and the peak
memory of (c), and writes them to ``benchmarks/results/latest.json``.

``--only-build`` skips (a), (b) and (d): ``--members 1000 --only-build`` checks that memory stays flat.
Linux only (memory is read from /proc, processes found through /proc/<pid>/task/<tid>/children).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
EPOCH = "1796000000"  # fixed dates: the same inputs give the same booklets

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "建国秀英志明海涛红梅丽华伟强春燕玉兰文斌德胜桂芳小军永刚淑珍金凤国庆晓东卫东爱民玉珍宏伟立新"
BRANCHES = ["东湖村党支部", "西山村党支部", "南港村党支部", "北岭村党支部", "青山社区党支部", "镇机关党支部"]
PLACES = {
    "市内": ["临江县城关镇", "临江县工业园区", "临江市经开区"],
    "省内": ["苏州市工业园区", "南京市江宁区", "无锡市新吴区", "常州市武进区"],
    "省外": ["上海市浦东新区", "浙江省宁波市", "广东省东莞市", "深圳市宝安区", "北京市朝阳区"],
    "境外": ["新加坡", "阿联酋迪拜", "日本大阪"],
    "在途": ["跑长途运输（江浙沪线）", "跑长途运输（西北线）"],
}
JOBS = [
    "电子厂操作工",
    "建筑工人",
    "货车司机",
    "护工",
    "外卖骑手",
    "个体经营",
    "教师",
    "程序员",
    "厨师",
    "保安",
]
INTERNET = ["良好", "良好", "一般", "较差", "无"]


def roster(count: int, seed: int = 7) -> list[dict[str, str]]:
    """``count`` members shaped like the example roster: mixed mobility, branches, internet, ages."""
    rnd = random.Random(seed)
    rows = []
    for n in range(1, count + 1):
        mobility = rnd.choices(list(PLACES), weights=[2, 3, 4, 1, 1])[0]
        job = "货车司机" if mobility == "在途" else rnd.choice(JOBS)
        near = mobility in ("市内", "省内")
        rows.append({
            "党员编号": f"BM{n:05d}",
            "姓名": rnd.choice(SURNAMES) + "".join(rnd.sample(GIVEN, rnd.choice([1, 2]))),
            "性别": rnd.choice("男女"),
            "出生年月": f"{rnd.randint(1950, 2000)}年{rnd.randint(1, 12)}月",
            "所在党支部": rnd.choice(BRANCHES),
            "流动类型": mobility,
            "流入地": rnd.choice(PLACES[mobility]),
            "从事职业": job,
            "联系电话": f"139{rnd.randint(0, 99999999):08d}",
            "网络条件": rnd.choice(INTERNET),
            "能否返乡": rnd.choice("是否"),
            "邮寄地址": f"{rnd.choice(PLACES[mobility])}幸福路{rnd.randint(1, 300)}号" if near else "",
            "送学路线": rnd.choice(["一线（城关—工业园）", "二线（苏州方向）"]) if near else "",
            "指定学习方式": "",
            "备注": "",
        })  # fmt: skip
    return rows


def write_workspace(folder: Path, count: int, digital: bool = False) -> Path:
    """A workspace with a roster of ``count`` members and the built-in config, but for the digital
    editions (``digital: []`` unless ``digital``): (a) and (b) make the booklets alone, and so does
    (c), to compare like with like; what digital editions cost is ``benchmarks/print_features.py``'s."""
    (folder / "profiles").mkdir(parents=True)
    if not digital:
        import yaml

        from packgen.config import default_config_text

        config = yaml.safe_load(default_config_text())
        config["digital"] = []
        (folder / "packgen.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    path = folder / "profiles" / "roster.csv"
    rows = roster(count)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


class TreeMemory:
    """Samples the memory of a process and all its descendants (from /proc), keeping the peaks.

    ``rss`` sums each process's resident memory, counting pages the workers share (the mapped font
    files, the interpreter) once per process; ``pss`` counts each shared page once in all, which is
    what the machine must have.

    The sampler shares the machine with what it measures, so it must stay cheap: RSS (``statm``)
    costs microseconds and is read every ``interval``; PSS (``smaps_rollup``) walks each process's
    page tables, ~6 ms for a 250 MB worker, so it is read every ``pss_interval`` only. (Reading both
    ten times a second took ~14 ms of CPU a sample, a seventh of a core taken from the build being
    timed.) A build's memory is a plateau, not a spike, and one PSS sample a second finds it.
    """

    def __init__(
        self, pid: int, booklets: Path | None = None, interval: float = 0.1, pss_interval: float = 1.0
    ) -> None:
        self.pid, self.interval, self.pss_interval, self.rss, self.pss = pid, interval, pss_interval, 0, 0
        self.booklets = booklets
        #: (booklets written, peak PSS MB so far): shows whether memory grows as the build goes on
        self.timeline: list[tuple[int, float]] = []
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last_pss, last_timeline = 0.0, time.monotonic()
        while not self._stop.is_set():
            pids = self._tree()
            self.rss = max(self.rss, sum(self._read(pid, "statm") for pid in pids))
            if time.monotonic() - last_pss >= self.pss_interval:
                last_pss = time.monotonic()
                self.pss = max(self.pss, sum(self._read(pid, "smaps_rollup") for pid in pids))
            if self.booklets is not None and time.monotonic() - last_timeline > 10:
                last_timeline = time.monotonic()
                done = len(list(self.booklets.glob("*.pdf"))) if self.booklets.is_dir() else 0
                self.timeline.append((done, round(self.pss / 2**20, 1)))
            self._stop.wait(self.interval)

    def _tree(self) -> list[int]:
        """The process and its descendants, from each thread's ``children`` list."""
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    todo.extend(int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split())
            except OSError:
                continue  # gone meanwhile
        return pids

    def _read(self, pid: int, name: str) -> int:
        """Resident bytes (``statm``) or proportional set size (``smaps_rollup``) of one process."""
        try:
            text = Path(f"/proc/{pid}/{name}").read_text()
        except OSError:
            return 0
        if name == "statm":
            return int(text.split()[1]) * self._page
        return next((int(line.split()[1]) * 1024 for line in text.splitlines() if line.startswith("Pss:")), 0)

    def stop(self) -> tuple[int, int]:
        self._stop.set()
        self._thread.join()
        return self.rss, self.pss


def pdf_pages(folder: Path) -> int:
    """All the pages of the PDFs in ``folder``."""
    import pikepdf

    total = 0
    for path in sorted(folder.glob("*.pdf")):
        with pikepdf.Pdf.open(path) as pdf:
            total += len(pdf.pages)
    return total


def typst_loop(workspace: Path, folder: Path, count: int) -> dict[str, Any]:
    """(e): benchmarks/typst/loop.py's Typst loop on the first ``count`` members of ``workspace``."""
    spec = importlib.util.spec_from_file_location(
        "packgen_bench_typst", ROOT / "benchmarks" / "typst" / "loop.py"
    )
    assert spec and spec.loader
    loop = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loop)
    return dict(loop.run_typst_loop(loop.booklet_members(workspace, count), folder))


def run_build(workspace: Path, output: Path, jobs: int) -> dict[str, Any]:
    """One ``packgen build`` as a user runs it; wall time and peak memory of its process tree."""
    command = [sys.executable, "-m", "packgen", "build", "profiles", "-o", str(output), "--quiet"]
    if jobs:
        command += ["-j", str(jobs)]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=workspace, env=_env(), stdout=subprocess.DEVNULL)
    memory = TreeMemory(process.pid, output / "booklets")
    code = process.wait()
    seconds = time.perf_counter() - start
    rss, pss = memory.stop()
    if code != 0:
        raise SystemExit(f"packgen build failed with exit code {code}: {' '.join(command)}")
    return {
        "seconds": seconds,
        "peak_tree_rss_mb": rss / 2**20,
        "peak_tree_pss_mb": pss / 2**20,
        "pss_timeline": memory.timeline,
    }


def _env() -> dict[str, str]:
    return {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "NO_COLOR": "1"}


def member_html(workspace: Path, limit: int) -> tuple[list[str], str]:
    """The booklet HTML of the first ``limit`` members, as packgen renders it, and its base URL."""
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    from packgen.build import read_and_assign
    from packgen.config import load_config
    from packgen.content.plans import booklet_content
    from packgen.render import Renderer

    config = load_config(workspace=workspace)
    _, assigned = read_and_assign(config, [workspace / "profiles"])
    renderer = Renderer(config)
    pages = [renderer.html(booklet_content(config, m, a)) for m, a in assigned[:limit]]
    return pages, renderer.base_url


def baseline_cli(html_files: list[Path], base_url: str, folder: Path) -> float:
    """(a): ``for f in *.html; do weasyprint -u BASE f f.pdf; done``."""
    # the weasyprint of this interpreter's environment (.venv/bin), even when that is not on PATH
    here = str(Path(sys.executable).parent)
    weasyprint = shutil.which("weasyprint", path=here) or shutil.which("weasyprint")
    if weasyprint is None:
        raise SystemExit(f"no weasyprint command in {here} or on PATH: pip install weasyprint")
    start = time.perf_counter()
    for path in html_files:
        subprocess.run(
            [weasyprint, "-u", base_url, str(path), str(folder / (path.stem + ".pdf"))],
            check=True,
            env=_env(),
        )
    return time.perf_counter() - start


def baseline_in_process(html_files: list[Path], base_url: str, folder: Path) -> float:
    """(b): one Python process, ``HTML(...).write_pdf()`` per member, as the WeasyPrint docs show."""
    from weasyprint import HTML

    from packgen.render import accel

    accel.uninstall()  # WeasyPrint as a user's loop has it
    start = time.perf_counter()
    for path in html_files:
        HTML(filename=str(path), base_url=base_url).write_pdf(folder / (path.stem + ".pdf"))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--members", type=int, default=200, help="roster size for packgen build (default 200)"
    )
    parser.add_argument("--baseline-members", type=int, default=20, help="members timed for (a) and (b)")
    parser.add_argument("--jobs", type=int, default=0, help="packgen build -j (default: packgen's own)")
    parser.add_argument("--only-build", action="store_true", help="time (c) and its memory only")
    parser.add_argument("--no-baselines", action="store_true", help="skip (a), (b) and (e)")
    parser.add_argument("--no-typst", action="store_true", help="skip (e), the Typst loop")
    parser.add_argument(
        "--digital", action="store_true", help="keep the default digital editions for online members in (c)"
    )
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write results ({RESULTS})")
    args = parser.parse_args()
    if not Path("/proc/self/task").is_dir() or not any(Path("/proc/self/task").glob("*/children")):
        raise SystemExit(
            "measuring memory needs /proc/<pid>/task/<tid>/children (Linux, CONFIG_PROC_CHILDREN)"
        )

    folder = args.keep or Path(tempfile.mkdtemp(prefix="packgen-bench-"))
    if args.keep and folder.exists():
        shutil.rmtree(folder)
    workspace = folder / "workspace"
    write_workspace(workspace, args.members, digital=args.digital)
    n, k = args.members, min(args.baseline_members, args.members)
    result: dict[str, object] = {
        "members": n, "baseline_members": k, "cpus": os.cpu_count(), "python": platform.python_version(),
        "machine": platform.machine(), "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }  # fmt: skip
    rows = []
    try:
        if not (args.only_build or args.no_baselines):
            pages, base_url = member_html(workspace, k)
            html_dir = folder / "html"
            html_dir.mkdir()
            files = []
            for i, page in enumerate(pages):
                files.append(html_dir / f"member-{i:05d}.html")
                files[-1].write_text(page, encoding="utf-8")
            for key, label, func in (
                ("a", "weasyprint command per member", baseline_cli),
                ("b", "WeasyPrint loop in one process", baseline_in_process),
            ):
                out = folder / f"pdf-{key}"
                out.mkdir()
                seconds = func(files, base_url, out)
                per, pages = seconds / k, pdf_pages(out)
                result[key] = {"label": label, "timed_members": k, "seconds": seconds, "per_booklet": per,
                               "booklets_per_second": 1 / per, "extrapolated_seconds_for_n": per * n,
                               "pages": pages, "per_page_ms": 1000 * seconds / pages,
                               "pages_per_second_per_core": pages / seconds, "cores": 1}  # fmt: skip
                rows.append(
                    (
                        f"({key}) {label}",
                        k,
                        seconds,
                        1 / per,
                        1000 * seconds / pages,
                        pages / seconds,
                        f"x{n / k:g} extrapolated" if k < n else "",
                    )
                )
        if not (args.only_build or args.no_baselines or args.no_typst):
            typst = typst_loop(workspace, folder / "typst", n)
            cores = len(os.sched_getaffinity(0))
            pages = int(typst["pages"])
            result["e"] = {"label": "Typst loop in one process", "seconds": typst["seconds"],
                           "per_booklet": typst["seconds"] / n, "booklets_per_second": n / typst["seconds"],
                           "pages": pages, "per_page_ms": 1000 * typst["seconds"] / pages,
                           "pages_per_second_per_core": pages / typst["seconds"] / cores, "cores": cores,
                           "typst": {k: v for k, v in typst.items() if k not in ("pages", "folder")}}  # fmt: skip
            rows.append(("(e) Typst loop in one process", n, typst["seconds"], n / typst["seconds"],
                         1000 * typst["seconds"] / pages, pages / typst["seconds"] / cores,
                         f"typst {typst.get('typst_version', '?')}, all {cores} CPUs"))  # fmt: skip
        build = run_build(workspace, folder / "output", args.jobs)
        built_pages = sum(
            m["pages"] for m in json.loads((folder / "output" / "manifest.json").read_text())["members"]
        )
        cores = args.jobs or len(os.sched_getaffinity(0))
        result["c"] = {"label": "packgen build", "seconds": build["seconds"], "pages": built_pages,
                       "per_page_ms": 1000 * build["seconds"] / built_pages, "cores": cores,
                       "pages_per_second_per_core": built_pages / build["seconds"] / cores,
                       "per_booklet": build["seconds"] / n, "booklets_per_second": n / build["seconds"],
                       "peak_tree_rss_mb": build["peak_tree_rss_mb"],
                       "peak_tree_pss_mb": build["peak_tree_pss_mb"],
                       "peak_pss_mb_by_booklets_done": build["pss_timeline"]}  # fmt: skip
        rows.append(
            (
                "(c) packgen build",
                n,
                build["seconds"],
                n / build["seconds"],
                1000 * build["seconds"] / built_pages,
                built_pages / build["seconds"] / cores,
                f"{cores} workers",
            )
        )
        if not args.only_build:
            again = run_build(workspace, folder / "output", args.jobs)
            result["d"] = {"label": "packgen build, nothing changed", "seconds": again["seconds"],
                           "booklets_per_second": n / again["seconds"]}  # fmt: skip
            rows.append(
                (
                    "(d) packgen build again, no change",
                    n,
                    again["seconds"],
                    n / again["seconds"],
                    None,
                    None,
                    "",
                )
            )
            c_per = build["seconds"] / n
            ratios = {"c/d": build["seconds"] / again["seconds"]}
            if not args.no_baselines:
                ratios["a/c"] = result["a"]["per_booklet"] / c_per  # type: ignore[index]
                ratios["b/c"] = result["b"]["per_booklet"] / c_per  # type: ignore[index]
                ratios["a/c per page"] = result["a"]["per_page_ms"] / result["c"]["per_page_ms"]  # type: ignore[index]
                ratios["b/c per page"] = result["b"]["per_page_ms"] / result["c"]["per_page_ms"]  # type: ignore[index]
            if "e" in result:
                ratios["e/c per page"] = result["e"]["per_page_ms"] / result["c"]["per_page_ms"]  # type: ignore[index]
            result["ratios"] = ratios
        result["peak_memory_mb_c"] = {"pss": build["peak_tree_pss_mb"], "rss": build["peak_tree_rss_mb"]}
        result["largest_child_maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    print(f"{'':42} {'members':>8} {'seconds':>9} {'booklets/s':>11} {'ms/page':>8} {'pages/s/core':>13}")
    for name, members, seconds, rate, per_page, per_core, note in rows:
        page = f"{per_page:>8.2f} {per_core:>13.1f}" if per_page is not None else f"{'':>8} {'':>13}"
        print(f"{name:42} {members:>8} {seconds:>9.1f} {rate:>11.2f} {page}  {note}")
    for name, value in dict(result.get("ratios", {})).items():  # type: ignore[call-overload]
        print(f"ratio {name}: {value:.1f}")
    memory = result["peak_memory_mb_c"]
    print(
        f"peak memory of (c), whole process tree: {memory['pss']:.0f} MB PSS (shared pages once), "  # type: ignore[index]
        f"{memory['rss']:.0f} MB summed RSS; largest process {result['largest_child_maxrss_mb']:.0f} MB"  # type: ignore[index]
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"results: {args.json}")


if __name__ == "__main__":
    main()
