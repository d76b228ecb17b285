"""How long from saving a chapter to the refreshed booklet in ``packgen serve``, for one member.

    .venv/bin/python benchmarks/serve_latency.py --runs 7

Makes a scratch workspace in /tmp (``packgen init``, the bundled example's 40 members), starts
``packgen serve --port 0`` on it, opens one member's page in headless Chromium (Playwright) and
then, run after run, inserts a new sentence at the top of the first chapter and times from the
save until (1) the sentence is on the page (the new booklet's text swapped in) and (2) the image of
its page is shown. Side by side in the same run, what organizers did before: ``packgen preview
ID --pdf FILE`` after each save (a new process each time). Prints each run, the medians and the
CPU time each took (the server's from /proc, the preview command's from getrusage).
Needs the test tools (scripts/setup.sh --test: Chromium and Playwright).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
PACKGEN = str(Path(sys.executable).parent / "packgen")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LINE = """() => [...document.querySelectorAll('.page .text span')]
    .find((span) => span.textContent.includes(MARK))"""
SHOWN = """() => {
    const line = (LINE)();
    const image = line && line.closest('.page').querySelector('img');
    if (!image) return false;
    image.scrollIntoView({block: 'center'});
    return image.complete && image.naturalWidth > 0;
}"""


def cpu_seconds(pid: int) -> float:
    """User and system time of a process and its waited-for children (poppler), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--member", default="QS0004")
    args = parser.parse_args()
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1796000000", "NO_COLOR": "1"}
    with tempfile.TemporaryDirectory(prefix="packgen-serve-") as scratch:
        workspace = Path(scratch) / "ws"
        subprocess.run([PACKGEN, "init", str(workspace)], check=True, capture_output=True, env=env)
        for path in (ROOT / "profiles").iterdir():
            shutil.copy(path, workspace / "profiles" / path.name)
        chapter = workspace / "materials" / "01-dangzhang.md"
        original = chapter.read_text(encoding="utf-8")
        heading, rest = original.split("\n", 1)
        serve = subprocess.Popen(
            [PACKGEN, "serve", "--port", "0"], cwd=workspace, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert serve.stdout is not None
            url = serve.stdout.readline().split()[2]
            rows = run(url, args, serve.pid, chapter, heading, rest, workspace, env)
        finally:
            serve.terminate()
            serve.wait(30)
    print(
        f"{'run':>4} {'text s':>7} {'image s':>8} {'server CPU s':>13} {'preview --pdf s':>16} {'its CPU s':>10}"
    )
    for i, row in enumerate(rows, 1):
        print(f"{i:>4} {row[0]:>7.2f} {row[1]:>8.2f} {row[2]:>13.2f} {row[3]:>16.2f} {row[4]:>10.2f}")
    medians = [statistics.median(column) for column in zip(*rows, strict=True)]
    print(
        f"median {medians[0]:.2f} {medians[1]:.2f} {medians[2]:.2f} {medians[3]:.2f} {medians[4]:.2f}"
        f"  ({args.runs} runs, member {args.member}, {os.cpu_count()} cores)"
    )


def run(
    url: str, args: argparse.Namespace, pid: int, chapter: Path, heading: str, rest: str,
    workspace: Path, env: dict[str, str],
) -> list[tuple[float, float, float, float, float]]:  # fmt: skip
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}member/{args.member}")
        page.locator(".page img").first.wait_for(timeout=120_000)
        for run in range(args.runs + 1):  # the first one warms up: not counted
            mark = f"测量标记{run}号：本句用于计时。"
            line, shown = (
                LINE.replace("MARK", repr(mark)),
                SHOWN.replace("LINE", LINE).replace("MARK", repr(mark)),
            )
            cpu = cpu_seconds(pid)
            started = time.perf_counter()
            chapter.write_text(f"{heading}\n\n{mark}\n{rest}", encoding="utf-8")
            page.wait_for_function(line, polling="raf", timeout=60_000)
            text = time.perf_counter() - started
            page.wait_for_function(shown, polling="raf", timeout=60_000)
            image = time.perf_counter() - started
            time.sleep(0.5)  # the server's last page images
            server_cpu = cpu_seconds(pid) - cpu
            before, started = children_cpu(), time.perf_counter()
            subprocess.run(
                [PACKGEN, "preview", args.member, "--pdf", str(workspace.parent / "preview.pdf")],
                cwd=workspace, env=env, check=True, capture_output=True,
            )  # fmt: skip
            preview, preview_cpu = time.perf_counter() - started, children_cpu() - before
            if run:
                rows.append((text, image, server_cpu, preview, preview_cpu))
            time.sleep(1)
        browser.close()
    return rows


if __name__ == "__main__":
    main()
