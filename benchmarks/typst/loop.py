"""Benchmark (e): a Typst loop on a booklet of the same kind as packgen's, installed only for the benchmark.

    .venv/bin/python benchmarks/typst/loop.py --members 20

generates the same roster as ``benchmarks/run.py``, takes each member's booklet data from packgen
(plan, reason, schedule, links, contacts, chapters: what packgen's template prints), and compiles
``booklet.typ`` once per member in one Python process with the ``typst`` binding (PyPI ``typst``),
personalised through ``sys.inputs``. It prints seconds, booklets per second, pages per booklet and
milliseconds per page.

Typst is never a dependency of packgen: the first run makes a virtual environment in
``benchmarks/.typst-venv`` (ignored by git) with ``typst`` and ``pypdf`` in it, and the timed loop runs
in that environment's Python, started by this script (run it with packgen's Python, which supplies the
booklet data). ``run_typst_loop(members, folder)`` is what ``benchmarks/run.py`` can call.

Modes: ``compiler`` (default) reuses one ``typst.Compiler`` for every member, as an engineer would
for speed (fonts are read once and Typst's memoised layout carries over from one member to the
next); ``compile`` calls ``typst.compile(...)`` afresh for each member.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = ROOT / "benchmarks" / ".typst-venv"
TYPST_VERSION = "0.15.2"
#: Debian's fonts-noto-cjk, the fonts packgen's booklets use; nothing else is given to Typst
FONT_DIR = Path("/usr/share/fonts/opentype/noto")
EPOCH = "1796000000"  # as benchmarks/run.py: fixed dates, the same inputs give the same booklets


# ---- the benchmark's own Typst, outside packgen's environment ---------------------------------------


def ensure_typst(folder: Path = VENV, version: str = TYPST_VERSION) -> Path:
    """The Python of a virtual environment holding ``typst==version`` and ``pypdf``, made on first use."""
    python = folder / "bin" / "python"
    marker = folder / f".typst-{version}"
    if python.exists() and marker.exists():
        return python
    if folder.exists():
        shutil.rmtree(folder)
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"typst=={version}",
            "pypdf",
        ],
        check=True,
    )
    marker.touch()
    return python


# ---- Markdown chapters to Typst markup ---------------------------------------------------------------

# Typst markup gives these a meaning (strong, emphasis, code, math, references, labels, comments, smart
# quotes, dashes, headings, lists); a backslash makes each a plain character.
_SPECIAL = re.compile(r"""([\\#*_`$@<>\[\]~/"'=+\-])""")
_STRONG = re.compile(r"\*\*(.+?)\*\*")


def _inline(text: str) -> str:
    """One line of Markdown text (plain, ``**bold**``) as Typst markup."""
    out, last = [], 0
    for match in _STRONG.finditer(text):
        out.append(_SPECIAL.sub(r"\\\1", text[last : match.start()]))
        # the ";" ends the call, so a "(" or "[" right after it stays text
        out.append("#strong[" + _SPECIAL.sub(r"\\\1", match.group(1)) + "];")
        last = match.end()
    out.append(_SPECIAL.sub(r"\\\1", text[last:]))
    return "".join(out)


def markdown_to_typst(text: str) -> tuple[str, str]:
    """The Markdown the bundled chapters use (headings, paragraphs, ``**bold**``, ``-`` and ``1.``
    lists, pipe tables) as Typst markup, and the chapter's title (its first heading)."""
    lines, out, title = text.splitlines(), [], ""
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line:
            i += 1
        elif heading := re.match(r"(#{1,6})\s+(.*)", line):
            title = title or heading.group(2).strip()
            out.append("=" * len(heading.group(1)) + " " + _inline(heading.group(2).strip()))
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):  # not the |---| line
                    rows.append(cells)
                i += 1
            head, *body = rows
            cell = lambda c: f"[{_inline(c)}]"  # noqa: E731
            out.append(
                f"#table(columns: {len(head)}, table.header({', '.join(map(cell, head))}),\n  "
                + ",\n  ".join(", ".join(map(cell, row)) for row in body)
                + ")"
            )
        elif item := re.match(r"([-*]|\d+\.)\s+(.*)", line):
            while i < len(lines) and (item := re.match(r"([-*]|\d+\.)\s+(.*)", lines[i].strip())):
                out.append(("+ " if item.group(1)[0].isdigit() else "- ") + _inline(item.group(2)))
                i += 1
            out.append("")
        else:
            paragraph = []  # lines of one paragraph, joined without a space as Chinese text is
            while (
                i < len(lines)
                and lines[i].strip()
                and not re.match(r"(#|\||[-*]\s|\d+\.\s)", lines[i].strip())
            ):
                paragraph.append(lines[i].strip())
                i += 1
            out.append(_inline("".join(paragraph)))
        out.append("")
    return "\n".join(out), title


# ---- the booklet data, from packgen -------------------------------------------------------------------


def booklet_members(workspace: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """What packgen's template prints for each member of ``workspace`` (first ``limit``), as plain data.

    Needs packgen (run with its Python); the Typst side needs nothing of packgen."""
    os.environ.setdefault("SOURCE_DATE_EPOCH", EPOCH)
    # the packgen of this checkout, not whichever one the Python in use has installed
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from packgen.build import read_and_assign
    from packgen.config import load_config
    from packgen.content.plans import booklet_content, format_date
    from packgen.render.templates import build_date
    from packgen.roster.members import format_phone

    config = load_config(workspace=workspace)
    _, assigned = read_and_assign(config, [workspace / "profiles"])
    training, org = config.training, config.organization
    created = format_date(build_date().date(), "zh", year=True)
    members = []
    for member, assignment in assigned[:limit]:
        content = booklet_content(config, member, assignment)
        plan = content.plan
        links = [{"title": link.title, "url": link.url} for link in content.links]
        links += [{"title": s.title, "url": s.link} for s in plan.sessions if s.link]
        members.append({
            "id": member.id, "name": member.name, "branch": member.branch,
            "mobility": member.mobility or "", "location": member.location, "occupation": member.occupation,
            "address": member.address, "route": member.route, "phone": format_phone(member.phone),
            "plan_key": assignment.plan, "plan_label": plan.label, "explanation": assignment.explanation,
            "plan": {"summary": plan.summary, "report_back": plan.report_back, "chat_group": plan.chat_group},
            "schedule": [{"when": r.when, "what": r.what, "detail": r.detail} for r in content.schedule],
            "links": links,
            "contacts": [{"name": c.name, "role": c.role, "phone": c.phone, "wechat": c.wechat}
                         for c in content.contacts],
            "chapters": [{"title": c.title, "source": str(c.path)} for c in content.materials if c.kind == "markdown"],
            "org": {"name": org.name, "campaign": org.campaign},
            "training": {
                "period": f"{format_date(training.start, 'zh', year=True)} — {format_date(training.end, 'zh', year=True)}",
                "report_by": format_date(training.report_by, "zh") if training.report_by else "",
            },
            "created_date": created,
        })  # fmt: skip
    return members


def _qr_svg(url: str) -> bytes:
    """The QR code packgen prints for ``url`` (``packgen.render.qr_svg``'s settings)."""
    import io

    import segno  # packgen's own dependency, in the Python that runs this

    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", xmldecl=False, svgns=True, border=2, scale=4)
    return buffer.getvalue()


# ---- the timed loop -----------------------------------------------------------------------------------


def run_typst_loop(
    members: list[dict[str, Any]],
    folder: Path,
    *,
    mode: str = "compiler",
    pdf_tags: bool = False,
    cpus: int = 0,
    venv_folder: Path = VENV,
) -> dict[str, Any]:
    """Compile one Typst booklet per member into ``folder/pdf`` in one Python process; the timings.

    Before the clock starts (as packgen, too, does once per build): the template is copied into
    ``folder``, each distinct Markdown chapter converted to Typst, each link's QR code written as SVG.
    ``pdf_tags=False`` because packgen's (WeasyPrint's) PDFs are untagged; Typst tags by default.
    Typst lays out and writes on a thread pool as large as the CPUs it may use; ``cpus=1`` keeps the
    loop on one CPU, as a WeasyPrint loop is (0: all CPUs).
    """
    python = ensure_typst(venv_folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "booklet.typ", folder / "booklet.typ")
    (folder / "chapters").mkdir(exist_ok=True)
    (folder / "qr").mkdir(exist_ok=True)
    chapters: dict[str, str] = {}
    qr: dict[str, str] = {}
    prepared = []
    for member in members:
        member = json.loads(json.dumps(member))  # a copy, with paths inside ``folder``
        for chapter in member["chapters"]:
            if chapter["source"] not in chapters:
                markup, _ = markdown_to_typst(Path(chapter["source"]).read_text(encoding="utf-8"))
                name = f"chapters/{len(chapters) + 1:02d}-{Path(chapter['source']).stem}.typ"
                (folder / name).write_text(markup, encoding="utf-8")
                chapters[chapter["source"]] = name
            chapter["file"] = chapters[chapter["source"]]
        for link in member["links"]:
            if link["url"] not in qr:
                name = f"qr/{hashlib.sha1(link['url'].encode()).hexdigest()[:12]}.svg"
                (folder / name).write_bytes(_qr_svg(link["url"]))
                qr[link["url"]] = name
            link["qr"] = qr[link["url"]]
        prepared.append(member)
    (folder / "members.json").write_text(json.dumps(prepared, ensure_ascii=False), encoding="utf-8")
    job = {"mode": mode, "pdf_tags": pdf_tags, "cpus": cpus, "fonts": str(FONT_DIR), "timestamp": int(EPOCH)}
    (folder / "job.json").write_text(json.dumps(job), encoding="utf-8")
    done = subprocess.run(
        [str(python), str(Path(__file__).resolve()), "--worker", str(folder)],
        check=True, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def _worker(folder: Path) -> None:
    """In the benchmark's Typst environment: the timed loop, then the page counts; JSON on stdout."""
    job = json.loads((folder / "job.json").read_text(encoding="utf-8"))
    if job["cpus"]:
        # before Typst starts its thread pool, which sizes itself to the CPUs this process may use
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: job["cpus"]])
    import typst
    from pypdf import PdfReader

    members = json.loads((folder / "members.json").read_text(encoding="utf-8"))
    out = folder / "pdf"
    out.mkdir(exist_ok=True)
    template = folder / "booklet.typ"
    fonts = [job["fonts"]]
    per_booklet: list[float] = []

    start, cpu_start = time.perf_counter(), time.process_time()
    if job["mode"] == "compiler":
        # one compiler for all: reads the font folder once, keeps Typst's memoised work between members
        compiler = typst.Compiler(template, root=folder, font_paths=fonts, ignore_system_fonts=True)
        setup = time.perf_counter() - start
        for member in members:
            t = time.perf_counter()
            pdf = compiler.compile(
                format="pdf", sys_inputs={"member": json.dumps(member, ensure_ascii=False)},
                timestamp=job["timestamp"], pdf_tags=job["pdf_tags"],
            )  # fmt: skip
            (out / f"{member['id']}.pdf").write_bytes(pdf)
            per_booklet.append(time.perf_counter() - t)
    else:
        setup = 0.0
        for member in members:
            t = time.perf_counter()
            typst.compile(
                template, output=out / f"{member['id']}.pdf", root=folder, font_paths=fonts,
                ignore_system_fonts=True, format="pdf",
                sys_inputs={"member": json.dumps(member, ensure_ascii=False)},
                timestamp=job["timestamp"], pdf_tags=job["pdf_tags"],
            )  # fmt: skip
            per_booklet.append(time.perf_counter() - t)
    seconds = time.perf_counter() - start
    # CPU time of all the process's threads (Typst lays out and writes on several): a busy machine
    # stretches wall time, much less this
    cpu_seconds = time.process_time() - cpu_start

    pages = [len(PdfReader(out / f"{m['id']}.pdf").pages) for m in members]
    n, total = len(members), sum(pages)
    json.dump({
        "label": f"Typst loop in one process ({job['mode']})", "typst_version": typst.__version__,
        "api": "typst.Compiler(...).compile(format='pdf', sys_inputs=...)" if job["mode"] == "compiler"
        else "typst.compile(..., format='pdf', sys_inputs=...)",
        "pdf_tags": job["pdf_tags"], "cpus": len(os.sched_getaffinity(0)), "members": n, "seconds": seconds, "cpu_seconds": cpu_seconds, "setup_seconds": setup,
        "per_booklet": seconds / n, "booklets_per_second": n / seconds,
        "first_booklet_seconds": per_booklet[0],
        "median_booklet_seconds_after_first": statistics.median(per_booklet[1:] or per_booklet),
        "pages": total, "pages_per_booklet": {"min": min(pages), "max": max(pages), "mean": total / n},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "per_page_ms": seconds * 1000 / total, "cpu_per_page_ms": cpu_seconds * 1000 / total,
        "folder": str(out),
    }, sys.stdout)  # fmt: skip


# ---- standalone -----------------------------------------------------------------------------------------


def check_pdf(path: Path) -> dict[str, Any]:
    """Fonts embedded (``pdffonts``) and CJK characters extracted (``pdftotext``), when poppler is there."""
    if not shutil.which("pdffonts"):
        return {}
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    names = sorted({line.split()[0].split("+")[-1] for line in fonts.splitlines()[2:] if line.strip()})
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in text)
    return {"fonts": names, "cjk_characters": cjk, "characters": len("".join(text.split()))}


def _load_run_module() -> Any:
    """benchmarks/run.py, for the roster it generates (the same members as (a)–(d))."""
    spec = importlib.util.spec_from_file_location("packgen_bench_run", ROOT / "benchmarks" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=20, help="booklets to compile (default 20)")
    parser.add_argument("--mode", choices=("compiler", "compile"), default="compiler")
    parser.add_argument("--pdf-tags", action="store_true", help="tagged PDFs, Typst's own default")
    parser.add_argument("--cpus", type=int, default=0, help="CPUs the loop may use (default: all)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker)
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="packgen-typst-"))
    if args.keep and folder.exists():
        shutil.rmtree(folder)
    try:
        _load_run_module().write_workspace(folder / "workspace", args.members)
        members = booklet_members(folder / "workspace", args.members)
        result = run_typst_loop(
            members, folder / "typst", mode=args.mode, pdf_tags=args.pdf_tags, cpus=args.cpus
        )
        result["check_first_pdf"] = check_pdf(Path(result["folder"]) / f"{members[0]['id']}.pdf")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    pages = result["pages_per_booklet"]
    print(
        f"typst {result['typst_version']}, {result['api']}, pdf_tags={result['pdf_tags']}, cpus={result['cpus']}"
    )
    print(f"{result['members']} booklets in {result['seconds']:.2f} s (compiler setup {result['setup_seconds']:.2f} s): "
          f"{result['booklets_per_second']:.2f} booklets/s, {result['per_booklet'] * 1000:.0f} ms a booklet "
          f"(first {result['first_booklet_seconds'] * 1000:.0f} ms, then median "
          f"{result['median_booklet_seconds_after_first'] * 1000:.0f} ms)")  # fmt: skip
    print(
        f"pages per booklet {pages['min']}–{pages['max']} (mean {pages['mean']:.1f}); "
        f"{result['per_page_ms']:.2f} ms per page ({result['cpu_per_page_ms']:.2f} ms of CPU)"
    )
    print(f"first booklet: {result['check_first_pdf']}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
