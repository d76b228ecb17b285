"""packgen past one machine: a large roster built as shards one after another, then merged.

    .venv/bin/python benchmarks/scale.py --members 10000 --shards 8

generates a roster of N members (as ``benchmarks/run.py`` does), builds it as ``--shard K/S`` for
K = 1 … S one after another, each as a CI job on its own machine would (a fresh output folder, the
default workers), then ``packgen merge`` over the S folders. It reports the time and peak memory
(PSS of the whole process tree) of each shard and of the merge, and from them what N members take
over M machines like this one: the slowest shard's rate for the members each machine builds, plus
the merge, which grows with the roster (measured here per booklet). Results in
``benchmarks/results/scale.json``; the scratch folder is removed unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import run as bench  # benchmarks/run.py, beside this script: its roster, environment and memory sampler

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"


def timed(bench: Any, command: list[str], cwd: Path, watch: Path | None = None) -> dict[str, float]:
    """Run ``command``; its wall time and the peak memory of its process tree."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=bench._env(), stdout=subprocess.DEVNULL)
    memory = bench.TreeMemory(process.pid, watch)
    code = process.wait()
    seconds = time.perf_counter() - start
    rss, pss = memory.stop()
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed with exit code {code}")
    return {"seconds": seconds, "peak_pss_mb": pss / 2**20, "peak_rss_mb": rss / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--project", type=int, default=100_000, help="roster size to project for (100,000)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="packgen-scale-"))
    workspace = folder / "workspace"
    if workspace.exists():
        shutil.rmtree(workspace)
    bench.write_workspace(workspace, args.members)
    packgen = [sys.executable, "-m", "packgen"]
    shards = []
    try:
        for k in range(1, args.shards + 1):
            out = folder / f"shard-{k}"
            shutil.rmtree(out, ignore_errors=True)
            result = timed(
                bench,
                [*packgen, "build", "profiles", "-o", str(out), "--shard", f"{k}/{args.shards}", "--print-run", "none", "--quiet"],
                workspace,
                out / "booklets",
            )  # fmt: skip
            manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
            result["members"] = len(manifest["members"])
            result["pages"] = sum(m["pages"] for m in manifest["members"])
            shards.append(result)
            print(
                f"shard {k}/{args.shards}: {result['members']} members, {result['seconds']:.1f} s "
                f"({result['members'] / result['seconds']:.2f} booklets/s), peak {result['peak_pss_mb']:.0f} MB PSS",
                flush=True,
            )
        merged = folder / "merged"
        shutil.rmtree(merged, ignore_errors=True)
        sources = [str(folder / f"shard-{k}") for k in range(1, args.shards + 1)]
        merge = timed(bench, [*packgen, "merge", *sources, "-o", str(merged), "--quiet"], workspace)
        manifest = json.loads((merged / "manifest.json").read_text(encoding="utf-8"))
        merge["members"] = len(manifest["members"])
        merge["print_run_pages"] = sum(r["pages"] for r in manifest["print_runs"])
        print(
            f"merge: {merge['members']} members, {merge['seconds']:.1f} s, {len(manifest['print_runs'])} print-run "
            f"files of {merge['print_run_pages']} pages, peak {merge['peak_pss_mb']:.0f} MB PSS",
            flush=True,
        )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    slowest = min(s["members"] / s["seconds"] for s in shards)
    merge_per_booklet = merge["seconds"] / merge["members"]
    projection = []
    for machines in (1, 2, 4, 8, 16, 32, 64):
        build = args.project / machines / slowest
        projection.append(
            {
                "machines": machines,
                "build_minutes": build / 60,
                "merge_minutes": merge_per_booklet * args.project / 60,
                "total_minutes": (build + merge_per_booklet * args.project) / 60,
            }  # fmt: skip
        )
    result = {
        "members": args.members, "shards": shards, "merge": merge, "slowest_shard_booklets_per_second": slowest,
        "merge_seconds_per_booklet": merge_per_booklet, "projection_members": args.project, "projection": projection,
        "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }  # fmt: skip
    print(f"\nprojection for {args.project:,} members (each machine like this one, {os.cpu_count()} cores):")
    for row in projection:
        print(
            f"  {row['machines']:>3} machines: build {row['build_minutes']:6.1f} min + merge "
            f"{row['merge_minutes']:5.1f} min = {row['total_minutes']:6.1f} min"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"results: {args.json}")


if __name__ == "__main__":
    main()
