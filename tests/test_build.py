"""Batch builds: resume after a kill, failure isolation, the lock, shards and merge, the manifest.

A small workspace template (one to three A5 pages per member) keeps every build quick; the
booklets are still real WeasyPrint PDFs, read back with pypdf and poppler.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import ROOT, pdftotext
from pypdf import PdfReader

from packgen.build import BuildOptions
from packgen.build.lock import output_lock
from packgen.build.selection import in_shard, parse_shard, shard_from_environment
from packgen.build.workers import WORKER_DIED
from packgen.errors import UsageError

TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><style>
@page { size: A5; margin: 15mm;
  @bottom-center { content: "第 " counter(page) " 页 / 共 " counter(pages) " 页"; font-family: "Noto Sans CJK SC"; } }
body { font-family: "Noto Sans CJK SC"; }
section + section { break-before: page; }
</style></head><body>
<section><h1>{{ member.name }}</h1><p>{{ member.id }} · {{ plan_label }}</p><p>{{ assignment.explanation }}</p>
{{ extra_line }}</section>
{% for i in range(member.extra.get('页数', '1') | int - 1) %}<section>学习记录 {{ i + 2 }}</section>{% endfor %}
</body></html>
"""
HEADER = "党员编号,姓名,所在党支部,邮寄地址,送学路线,指定学习方式,页数"
MEMBERS = [
    ("T01", "张建国", "东湖村党支部", "临江县人民路1号", "一线", "送学上门", "2"),
    ("T02", "李秀英", "西岭村党支部", "", "", "就地自学", "1"),
    ("T03", "王志强", "东湖村党支部", "", "", "线上联学", "3"),
    ("T04", "陈静", "西岭村党支部", "苏州市星湖街2号", "二线", "送学上门", "1"),
    ("T05", "刘洋", "东湖村党支部", "", "", "就地自学", "2"),
    ("T06", "赵敏", "西岭村党支部", "", "", "线上联学", "1"),
    ("T07", "孙立", "东湖村党支部", "临江县工业园3号", "一线", "送学上门", "3"),
    ("T08", "周红", "西岭村党支部", "", "", "就地自学", "2"),
    ("T09", "吴刚", "东湖村党支部", "", "", "线上联学", "1"),
    ("T10", "郑丽", "西岭村党支部", "无锡市长江路4号", "二线", "送学上门", "2"),
    ("T11", "冯涛", "东湖村党支部", "", "", "就地自学", "3"),
    ("T12", "何芳", "西岭村党支部", "", "", "线上联学", "1"),
]


def copies_of_members(copies: int) -> list[tuple[str, ...]]:
    """MEMBERS ``copies`` times over, with ids T010, T020 … T011 …: a build long enough to interrupt."""
    return [(f"{member[0]}{n}", *member[1:]) for n in range(copies) for member in MEMBERS]


def make_workspace(root: Path, members: list[tuple[str, ...]] = MEMBERS, template: str = TEMPLATE) -> Path:
    """A workspace in ``root``: the small template override and ``profiles/roster.csv``."""
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "templates" / "booklet.html.j2").write_text(
        template.replace("{{ extra_line }}", ""), encoding="utf-8"
    )
    (root / "profiles").mkdir(exist_ok=True)
    lines = [HEADER, *(",".join(m) for m in members)]
    (root / "profiles" / "roster.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def statuses(out: Path) -> dict[str, str]:
    return {e["id"]: e["status"] for e in manifest(out)["members"]}


def test_killed_build_resumes_with_finished_booklets_unchanged(run, tmp_path: Path) -> None:
    members = copies_of_members(3)
    make_workspace(tmp_path, members)  # long enough to be killed midway however late this test looks
    out = tmp_path / "out"
    booklets = out / "booklets"
    process = subprocess.Popen(
        [sys.executable, "-m", "packgen", "build", "-o", str(out), "-j", "1", "--quiet"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        while process.poll() is None and len(list(booklets.glob("*.pdf"))) < 3:
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    finished = {p.stem: p.stat().st_mtime_ns for p in booklets.glob("*.pdf")}
    assert 3 <= len(finished) < len(members), "the build was not killed midway"
    assert not (out / "manifest.json").exists()

    result = run("build", "-o", out, "-j", "1", "--json")
    assert result.exit_code == 0, result.output
    assert gc.get_freeze_count() == 0  # a build in this process leaves its garbage collector as it was
    data = json.loads(result.stdout)
    status = {e["id"]: e["status"] for e in data["members"]}
    assert {i for i, s in status.items() if s == "unchanged"} == set(finished)
    assert {i for i, s in status.items() if s == "built"} == {m[0] for m in members} - set(finished)
    for member_id, mtime in finished.items():
        assert (booklets / f"{member_id}.pdf").stat().st_mtime_ns == mtime  # not written again
    for entry, member in zip(data["members"], members, strict=True):
        reader = PdfReader(out / entry["file"])
        assert len(reader.pages) == entry["pages"] == int(member[6])
        assert member[1] in reader.pages[0].extract_text()
    assert sorted(p.name for p in booklets.iterdir()) == sorted(f"{m[0]}.pdf" for m in members)
    assert not (out / ".packgen-journal.jsonl").exists()

    again = run("build", "-o", out, "-j", "1", "--json")
    assert set(json.loads(again.stdout)["summary"]["by_status"]) == {"unchanged"}


def test_one_member_breaking_the_template_fails_alone(run, tmp_path: Path) -> None:
    make_workspace(
        tmp_path, MEMBERS[:3], TEMPLATE.replace("{{ extra_line }}", "<p>工号 {{ member.extra['工号'] }}</p>")
    )
    roster = tmp_path / "profiles" / "roster.csv"
    lines = roster.read_text(encoding="utf-8").splitlines()
    roster.write_text(
        "\n".join(line + (",工号" if i == 0 else f",G{i}") for i, line in enumerate(lines)) + "\n"
    )
    (tmp_path / "profiles" / "late.yaml").write_text(
        "- 党员编号: T99\n  姓名: 林晓\n  所在党支部: 东湖村党支部\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    result = run("build", "-o", out, "-j", "2")
    assert result.exit_code == 1
    template = tmp_path / "templates" / "booklet.html.j2"
    line = next(
        n for n, text in enumerate(template.read_text(encoding="utf-8").splitlines(), 1) if "工号" in text
    )
    error = f"late.yaml, item 1: template {template}, line {line}: 'dict object' has no attribute '工号'"
    assert f"failed: T99 林晓: {error}" in result.stderr
    assert re.search(r"^\[\d/4\] built T01 张建国$", result.stderr, re.MULTILINE)  # plain progress, not a TTY
    assert "\nwriting print runs\nwriting delivery list and labels\nwriting manifest\n" in result.stderr
    entries = {e["id"]: e for e in manifest(out)["members"]}
    assert entries["T99"]["status"] == "failed" and entries["T99"]["error"] == error
    assert entries["T99"]["file"] == "" and not (out / "booklets" / "T99.pdf").exists()
    for member_id in ("T01", "T02", "T03"):
        assert entries[member_id]["status"] == "built"
        assert "工号 G" in pdftotext(out / entries[member_id]["file"])
    rows = list(csv.DictReader(io.StringIO((out / "manifest.csv").read_text(encoding="utf-8-sig"))))
    assert [(r["id"], r["status"], r["error"]) for r in rows if r["status"] == "failed"] == [
        ("T99", "failed", error)
    ]
    print_run = manifest(out)["print_runs"]
    assert "T99" not in {b["id"] for run_ in print_run for b in run_["booklets"]}


def test_ids_equal_but_for_case_get_booklets_a_case_blind_file_system_keeps_apart(
    run, tmp_path: Path
) -> None:
    """On Windows and macOS (or a USB stick) ``T02.pdf`` and ``t02.pdf`` are one file: the second
    booklet would overwrite the first. Both get their id's hash; the others keep their own names,
    and once the roster no longer has both, the name goes back and the other file goes."""
    twin = ("t02", "李秀", "西岭村党支部", "", "", "就地自学", "1")
    make_workspace(tmp_path, [*MEMBERS[:3], twin])
    result = run("build", "-o", tmp_path / "out", "-j", "1")
    assert result.exit_code == 0, result.output
    assert "'t02': differs only in upper/lower case from T02" in result.stderr
    files = {e["id"]: e["file"] for e in manifest(tmp_path / "out")["members"]}
    assert files == {
        "T01": "booklets/T01.pdf",
        "T02": f"booklets/T02-{hashlib.sha256(b'T02').hexdigest()[:8]}.pdf",
        "T03": "booklets/T03.pdf",
        "t02": f"booklets/t02-{hashlib.sha256(b't02').hexdigest()[:8]}.pdf",
    }
    names = sorted(p.name for p in (tmp_path / "out" / "booklets").iterdir())
    assert len({name.casefold() for name in names}) == len(names) == 4
    assert {e["file"]: e["sha256"] for e in manifest(tmp_path / "out")["members"]} == {
        f"booklets/{n}": hashlib.sha256((tmp_path / "out" / "booklets" / n).read_bytes()).hexdigest()
        for n in names
    }

    for k in (1, 2):  # each shard names the booklets as the whole build does; merge takes the names
        shard = run("build", "-o", tmp_path / f"shard-{k}", "-j", "1", "--shard", f"{k}/2", "--quiet")
        assert shard.exit_code == 0, shard.output
    merged = run("merge", tmp_path / "shard-1", tmp_path / "shard-2", "-o", tmp_path / "merged", "--quiet")
    assert merged.exit_code == 0, merged.output
    assert {e["id"]: e["file"] for e in manifest(tmp_path / "merged")["members"]} == files

    make_workspace(tmp_path, MEMBERS[:3])  # t02 left the roster: T02 is T02.pdf again
    assert run("build", "-o", tmp_path / "out", "-j", "1", "--quiet").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "out" / "booklets").iterdir()) == [
        "T01.pdf", "T02.pdf", "T03.pdf",
    ]  # fmt: skip
    assert statuses(tmp_path / "out") == {"T01": "unchanged", "T02": "built", "T03": "unchanged"}


def test_shards_merged_equal_one_unsharded_build(run, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    make_workspace(tmp_path, MEMBERS[:7])
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    whole = run("build", "-o", tmp_path / "whole", "-j", "2", "--quiet")
    assert whole.exit_code == 0, whole.output
    assert list(scratch.iterdir()) == []  # nothing in the temporary folder
    assert not (tmp_path / "whole" / ".packgen-shared").exists()  # the workers' shared parts are gone
    shards = []
    for k in (1, 2, 3):  # as GitLab CI runs a job with parallel: 3
        monkeypatch.setenv("CI_NODE_INDEX", str(k))
        monkeypatch.setenv("CI_NODE_TOTAL", "3")
        result = run("build", "-o", tmp_path / f"shard-{k}", "-j", "1", "--shard", "auto")
        assert result.exit_code == 0, result.output
        assert (
            result.stderr.splitlines()[0]
            == f"note: building shard {k}/3 from GitLab CI (CI_NODE_INDEX={k}, CI_NODE_TOTAL=3)"
        )
        shards.append({e["id"] for e in manifest(tmp_path / f"shard-{k}")["members"]})
    monkeypatch.delenv("CI_NODE_INDEX")
    monkeypatch.delenv("CI_NODE_TOTAL")
    assert sum(len(s) for s in shards) == 7 and set.union(*shards) == {m[0] for m in MEMBERS[:7]}
    assert all(manifest(tmp_path / f"shard-{k}")["shard"] == f"{k}/3" for k in (1, 2, 3))

    partial = run("merge", tmp_path / "shard-1", tmp_path / "shard-2", "-o", tmp_path / "partial")
    assert (partial.exit_code, partial.stderr) == (
        2, "error: merge: shard 3/3 is missing; give the folders of all 3 shards\n"
    )  # fmt: skip
    template = tmp_path / "templates" / "booklet.html.j2"
    template.write_text(
        template.read_text(encoding="utf-8").replace("学习记录", "学习记录表"), encoding="utf-8"
    )
    assert run("build", "-o", tmp_path / "later-3", "-j", "1", "--shard", "3/3", "--quiet").exit_code == 0
    mixed = run(
        "merge", tmp_path / "shard-1", tmp_path / "shard-2", tmp_path / "later-3", "-o", tmp_path / "mixed"
    )
    assert (mixed.exit_code, mixed.stderr) == (
        2, "error: merge: the shards were built from different config, templates or materials; build every "
        "shard from the same workspace and merge again\n",
    )  # fmt: skip
    assert not (tmp_path / "partial").exists() and not (tmp_path / "mixed").exists()

    merged = run("merge", *(tmp_path / f"shard-{k}" for k in (1, 2, 3)), "-o", tmp_path / "merged", "--quiet")
    assert merged.exit_code == 0, merged.output
    one, combined = manifest(tmp_path / "whole"), manifest(tmp_path / "merged")
    assert combined["members"] == one["members"]
    assert combined["summary"] == one["summary"]
    for entry in one["members"]:
        assert (tmp_path / "merged" / entry["file"]).read_bytes() == (
            tmp_path / "whole" / entry["file"]
        ).read_bytes()
    strip = [{k: v for k, v in r.items() if k != "status"} for r in one["print_runs"]]
    assert [{k: v for k, v in r.items() if k != "status"} for r in combined["print_runs"]] == strip
    assert (tmp_path / "merged" / "delivery" / "delivery-list.csv").read_bytes() == (
        tmp_path / "whole" / "delivery" / "delivery-list.csv"
    ).read_bytes()
    assert (tmp_path / "merged" / "manifest.csv").read_bytes() == (
        tmp_path / "whole" / "manifest.csv"
    ).read_bytes()


def test_changed_member_rebuilds_alone_and_force_rebuilds_all(run, tmp_path: Path) -> None:
    make_workspace(tmp_path, MEMBERS[:3])
    out = tmp_path / "out"
    assert run("build", "-o", out, "-j", "1", "--quiet").exit_code == 0
    roster = tmp_path / "profiles" / "roster.csv"
    roster.write_text(roster.read_text(encoding="utf-8").replace("李秀英", "李秀玲"), encoding="utf-8")
    assert run("build", "-o", out, "-j", "1", "--quiet").exit_code == 0
    assert statuses(out) == {"T01": "unchanged", "T02": "built", "T03": "unchanged"}
    assert "李秀玲" in pdftotext(out / "booklets" / "T02.pdf")
    runs = {r["plan"]: r["status"] for r in manifest(out)["print_runs"]}
    assert runs == {"self_study": "built", "online": "unchanged", "delivered": "unchanged"}

    roster.write_text(roster.read_text(encoding="utf-8").replace("李秀玲", "李秀英"), encoding="utf-8")
    before = {r["file"]: r["pages"] for r in manifest(out)["print_runs"]}
    assert run("build", "-o", out, "-j", "1", "--quiet", "--only", "T02").exit_code == 0
    # the others' booklets are up to date: the manifest and print runs go on covering them
    assert statuses(out) == {"T01": "unchanged", "T02": "built", "T03": "unchanged"}
    assert {r["file"]: r["pages"] for r in manifest(out)["print_runs"]} == before
    assert run("build", "-o", out, "-j", "1", "--quiet", "--only", "T03").exit_code == 0
    assert set(statuses(out).values()) == {"unchanged"}

    roster.write_text(roster.read_text(encoding="utf-8").replace("张建国", "张建华"), encoding="utf-8")
    narrow = run("build", "-o", out, "-j", "1", "--quiet", "--only", "T03")
    assert narrow.exit_code == 0
    assert narrow.stderr == (
        "note: 1 member(s) outside this selection changed since their booklet here and are left out of "
        "the print runs: T01; a build without --only, --plan and --branch renders them\n"
    )
    assert statuses(out) == {"T02": "unchanged", "T03": "unchanged"}  # T01's booklet is out of date
    assert manifest(out)["left_out"] == ["T01"]
    assert "delivered" not in {r["plan"] for r in manifest(out)["print_runs"]}

    template = tmp_path / "templates" / "booklet.html.j2"
    template.write_text(
        template.read_text(encoding="utf-8").replace("学习记录", "学习记录表"), encoding="utf-8"
    )
    assert run("build", "-o", out, "-j", "1", "--quiet").exit_code == 0
    assert set(statuses(out).values()) == {"built"}
    assert run("build", "-o", out, "-j", "1", "--quiet", "--force").exit_code == 0
    assert set(statuses(out).values()) == {"built"}


def test_a_second_build_into_the_same_folder_is_refused(run, tmp_path: Path) -> None:
    make_workspace(tmp_path, MEMBERS[:1])
    out = tmp_path / "out"
    with output_lock(out):
        result = run("build", "-o", out)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {out} is being built by another packgen (pid {os.getpid()}); wait for it to finish, "
        "or build into another folder with -o\n"
    )
    assert not (out / "booklets").exists()
    # the lock file stays behind, as after a killed build: it must not block the next one
    assert (out / ".packgen.lock").exists()
    assert run("build", "-o", out, "--quiet").exit_code == 0


def test_manifest_csv_opens_in_excel_with_chinese_and_no_formulas(run, tmp_path: Path) -> None:
    make_workspace(tmp_path, [("T01", "=HYPERLINK(1)", "@东湖村党支部", "", "", "就地自学", "1")])
    out = tmp_path / "out"
    assert run("build", "-o", out, "--quiet").exit_code == 0
    raw = (out / "manifest.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    row = next(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert (row["name"], row["branch"], row["plan"]) == ("'=HYPERLINK(1)", "'@东湖村党支部", "self_study")
    assert manifest(out)["members"][0]["name"] == "=HYPERLINK(1)"  # the JSON keeps the data as it is


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "4/3"], "error: --shard 4/3: K must be between 1 and N (here 1 to 3)\n"),
        (
            ["--shard", "half"],
            "error: --shard 'half': expected K/N, e.g. --shard 1/3 for the first of three shares\n",
        ),
        (["--pad-to", "3"], "error: --pad-to 3: must be an even number of pages (2 for duplex, 4 …)\n"),
        (["--print-run", "some"], "error: --print-run some: use plan, all or none\n"),
        (["--only", "T01,NOPE"], "error: --only: no member with id NOPE in the profiles\n"),
        (["--plan", "home"], "error: --plan: unknown plan home; use one of self_study, online, delivered\n"),
        (
            ["--branch", "东湖村支部"],
            "error: --branch: no member of 东湖村支部 in the profiles; branches: 东湖村党支部\n",
        ),
    ],
)
def test_bad_build_options_exit_2_with_one_line(run, tmp_path: Path, args: list[str], message: str) -> None:
    make_workspace(tmp_path, MEMBERS[:1])
    result = run("build", "-o", tmp_path / "out", *args)
    assert (result.exit_code, result.stderr) == (2, message)
    assert not (tmp_path / "out" / "booklets").exists()


def test_build_takes_a_plan_by_its_chinese_label_as_plan_does(run, tmp_path: Path) -> None:
    make_workspace(tmp_path, MEMBERS[:3])
    result = run("build", "-o", tmp_path / "out", "-j", "1", "--plan", "线上联学", "--json")
    assert result.exit_code == 0, result.output
    assert [(e["id"], e["plan"]) for e in json.loads(result.stdout)["members"]] == [("T03", "online")]


def test_merge_refuses_a_folder_without_manifest(run, tmp_path: Path) -> None:
    result = run("merge", tmp_path / "nothing", "-o", tmp_path / "merged")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {tmp_path / 'nothing'}: no readable manifest.json; give folders that packgen build wrote (-o)\n"
    )


def test_shards_are_stable_and_cover_everyone_once() -> None:
    ids = [f"QS{i:04d}" for i in range(300)]
    for n in (1, 2, 3, 7):
        owners = [[k for k in range(1, n + 1) if in_shard(i, (k, n))] for i in ids]
        assert all(len(o) == 1 for o in owners)
    assert parse_shard(" 2 / 5 ") == (2, 5)
    with pytest.raises(UsageError):
        parse_shard("0/3")
    assert BuildOptions(output=Path("x")).pad_to == 2


def test_no_change_rerun_does_not_import_weasyprint(tmp_path: Path) -> None:
    make_workspace(tmp_path, MEMBERS[:2])
    script = (
        "import sys; from pathlib import Path; from packgen.config import load_config;"
        "from packgen.build import build, BuildOptions;"
        "r = build(load_config(), options=BuildOptions(output=Path('out'), jobs=1));"
        "print(sorted({e.status for e in r.entries}), 'weasyprint' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert first.stdout.strip() == "['built'] True", first.stderr
    second = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert second.stdout.strip() == "['unchanged'] False", second.stderr


@pytest.mark.parametrize(
    ("environ", "shard", "said"),
    [
        ({"PACKGEN_SHARD": " 2/5 "}, (2, 5), "PACKGEN_SHARD=2/5"),
        ({"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "4"}, (3, 4), "GitLab CI (CI_NODE_INDEX=3, CI_NODE_TOTAL=4)"),
        ({"JOB_COMPLETION_INDEX": "0", "PACKGEN_SHARDS": "8"}, (1, 8),
         "a Kubernetes Indexed Job (JOB_COMPLETION_INDEX=0, PACKGEN_SHARDS=8)"),
        ({"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1",
          "SLURM_ARRAY_TASK_STEP": "2"}, (4, 4), "a Slurm job array (SLURM_ARRAY_TASK_ID=7, SLURM_ARRAY_TASK_COUNT=4)"),
        ({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"}, (1, 2),
         "a Slurm job array (SLURM_ARRAY_TASK_ID=0, SLURM_ARRAY_TASK_COUNT=2)"),
        # PACKGEN_SHARD first: it overrides what a scheduler sets
        ({"PACKGEN_SHARD": "1/2", "CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "4"}, (1, 2), "PACKGEN_SHARD=1/2"),
    ],
)  # fmt: skip
def test_shard_auto_reads_the_schedulers_environment(
    environ: dict[str, str], shard: tuple[int, int], said: str
) -> None:
    assert shard_from_environment(environ) == (shard, f"shard {shard[0]}/{shard[1]} from {said}")


@pytest.mark.parametrize(
    ("environ", "error"),
    [
        ({}, "--shard auto: no scheduler's shard in the environment; looked for PACKGEN_SHARD=K/N "
         "(PACKGEN_SHARD); CI_NODE_INDEX and CI_NODE_TOTAL (GitLab CI parallel:); JOB_COMPLETION_INDEX, "
         "with the completions in PACKGEN_SHARDS (a Kubernetes Indexed Job); SLURM_ARRAY_TASK_ID and "
         "SLURM_ARRAY_TASK_COUNT (a Slurm job array). Run the build as one of N parallel jobs, or give --shard K/N"),
        ({"CI_NODE_INDEX": "2"}, "--shard auto: CI_NODE_TOTAL is not set (GitLab CI's parallel: sets both)"),
        ({"JOB_COMPLETION_INDEX": "1"}, "--shard auto: JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) "
         "but PACKGEN_SHARDS is not; set PACKGEN_SHARDS to the Job's completions in its pod template"),
        ({"JOB_COMPLETION_INDEX": "4", "PACKGEN_SHARDS": "4"}, "--shard auto: a Kubernetes Indexed Job "
         "(JOB_COMPLETION_INDEX=4, PACKGEN_SHARDS=4) gives shard 5 of 4; K must be between 1 and N"),
        ({"CI_NODE_INDEX": "one", "CI_NODE_TOTAL": "3"}, "--shard auto: CI_NODE_INDEX='one' is not a whole number"),
        ({"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_STEP": "3"},
         "--shard auto: SLURM_ARRAY_TASK_ID=4 is not one of the array's tasks (SLURM_ARRAY_TASK_MIN=0, "
         "SLURM_ARRAY_TASK_STEP=3)"),
        ({"PACKGEN_SHARD": "4/3"}, "PACKGEN_SHARD 4/3: K must be between 1 and N (here 1 to 3)"),
    ],
)  # fmt: skip
def test_shard_auto_says_what_is_missing(environ: dict[str, str], error: str) -> None:
    with pytest.raises(UsageError) as refused:
        shard_from_environment(environ)
    assert str(refused.value) == error


def test_shard_auto_without_a_scheduler_is_refused_before_anything_is_built(
    run, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    make_workspace(tmp_path, MEMBERS[:2])
    for name in (
        "PACKGEN_SHARD",
        "CI_NODE_INDEX",
        "CI_NODE_TOTAL",
        "JOB_COMPLETION_INDEX",
        "SLURM_ARRAY_TASK_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    result = run("build", "--shard", "auto", "-o", tmp_path / "out")
    assert result.exit_code == 2 and result.stderr.startswith("error: --shard auto: no scheduler's shard")
    assert not (tmp_path / "out").exists()


def test_example_ci_workflow_shards_and_merges() -> None:
    import yaml

    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "print-run.yml").read_text(encoding="utf-8"))
    shards = workflow["jobs"]["shard"]["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(workflow["env"]["SHARDS"]) + 1))
    steps = " ".join(str(step.get("run", "")) for job in workflow["jobs"].values() for step in job["steps"])
    assert "packgen build --shard ${{ matrix.shard }}/${{ env.SHARDS }}" in steps
    assert "packgen merge shards/shard-* -o print-run" in steps
    assert workflow["jobs"]["merge"]["needs"] == "shard"


def test_example_gitlab_and_kubernetes_jobs_shard_with_auto_and_merge() -> None:
    import yaml

    gitlab = yaml.safe_load((ROOT / "examples" / "ci" / "gitlab-ci.yml").read_text(encoding="utf-8"))
    assert gitlab["shard"]["parallel"] == 4 and gitlab["merge"]["needs"] == ["shard"]
    assert "packgen build --shard auto -o out/shard-$CI_NODE_INDEX" in " ".join(gitlab["shard"]["script"])
    assert "packgen merge out/shard-* -o print-run" in " ".join(gitlab["merge"]["script"])
    shards, merge = yaml.safe_load_all(
        (ROOT / "examples" / "ci" / "k8s-indexed-job.yaml").read_text(encoding="utf-8")
    )
    spec = shards["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"] == 8
    (container,) = spec["template"]["spec"]["containers"]
    assert {"name": "PACKGEN_SHARDS", "value": str(spec["completions"])} in container["env"]
    assert "packgen build --shard auto" in container["args"][0]
    assert "packgen merge /work/out/shard-*" in merge["spec"]["template"]["spec"]["containers"][0]["args"][0]


def test_a_killed_worker_fails_its_booklets_and_the_rest_build(tmp_path: Path) -> None:
    members = copies_of_members(3)
    make_workspace(tmp_path, members)  # the workers are still rendering when one is killed
    out = tmp_path / "out"
    command = [sys.executable, "-m", "packgen", "build", "-o", str(out), "-j", "2", "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    while process.poll() is None and not list((out / "booklets").glob("*.pdf")):
        time.sleep(0.02)
    workers = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    os.kill(int(workers[0]), signal.SIGKILL)
    stdout, _ = process.communicate()
    data = json.loads(stdout)
    assert process.returncode == 1 == data["exit_code"]
    assert data["failed"] and all(f["error"] == WORKER_DIED for f in data["failed"])
    assert data["summary"]["by_status"]["built"] + len(data["failed"]) == len(members)

    again = subprocess.run(
        [*command[:-2], "1", "--json"], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert again.returncode == 0, again.stderr
    status = {e["id"]: e["status"] for e in json.loads(again.stdout)["members"]}
    assert {i for i, s in status.items() if s == "built"} == {f["id"] for f in data["failed"]}


def test_a_build_killed_with_its_workers_running_blocks_nothing(tmp_path: Path) -> None:
    members = copies_of_members(3)
    make_workspace(tmp_path, members)  # the workers are still rendering when the build is killed
    out = tmp_path / "out"
    command = [sys.executable, "-m", "packgen", "build", "-o", str(out), "-j", "2", "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    while process.poll() is None and not list((out / "booklets").glob("*.pdf")):
        time.sleep(0.02)
    workers = descendants(process.pid)
    assert len(workers) >= 2
    process.send_signal(signal.SIGKILL)
    process.wait()

    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env)  # at once
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["summary"]["by_status"].get("unchanged", 0) >= 1
    assert not (out / ".packgen-shared").exists()
    assert not any(running(pid) for pid in workers)  # they ended on their own, releasing the lock


def descendants(pid: int) -> list[int]:
    """The processes under ``pid`` (render workers, and a forkserver where there is one)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def running(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie no one has reaped yet has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_fingerprint_follows_content_not_location(tmp_path: Path) -> None:
    from packgen.build.incremental import inputs_fingerprint
    from packgen.config import load_config

    first = make_workspace(tmp_path / "a", MEMBERS[:1])
    second = make_workspace(tmp_path / "b", MEMBERS[:1])
    assert inputs_fingerprint(load_config(workspace=first)) == inputs_fingerprint(
        load_config(workspace=second)
    )
    (second / "templates" / "extra.css").write_text("h1 { color: red }", encoding="utf-8")
    assert inputs_fingerprint(load_config(workspace=first)) != inputs_fingerprint(
        load_config(workspace=second)
    )


def test_ctrl_c_while_a_progress_line_prints_still_says_so(run, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Seen in CI: exit 130 with nothing on stderr. A Ctrl-C that lands as rich ends a print (at the
    start of its ``_exit_buffer``) leaves rich buffering everything after it, the message included."""
    from packgen.cli import output as cli

    make_workspace(tmp_path, MEMBERS[:2])
    ends_print = cli.err._exit_buffer

    def interrupted() -> None:
        monkeypatch.setattr(cli.err, "_exit_buffer", ends_print)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.err, "_exit_buffer", interrupted)
    try:
        result = run("build", "-o", tmp_path / "out", "-j", "1")
    finally:  # the console outlives this test: what it holds back would print in the next one
        cli.err._buffer_index = 0
        del cli.err._buffer[:]
    assert result.exit_code == 130
    assert result.stderr == "interrupted: finished booklets are kept; run the same command again to resume\n"


def test_ctrl_c_inside_a_finalizer_still_stops_after_the_booklet_in_hand(tmp_path: Path) -> None:
    """Seen in CI: the Ctrl-C landed in one of importlib's weakref callbacks, Python printed
    "Exception ignored" and the build went on to the last member."""
    from packgen.build import build
    from packgen.config import load_config

    make_workspace(tmp_path, MEMBERS[:3])
    out = tmp_path / "out"

    class InterruptedWhileCollected:
        def __del__(self) -> None:
            signal.raise_signal(signal.SIGINT)

    def progress(entry: object, done: int, total: int) -> None:
        if done == 1:
            InterruptedWhileCollected()  # collected at once: the Ctrl-C comes inside its finalizer

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as `packgen` runs
    try:
        with pytest.raises(KeyboardInterrupt):
            build(
                load_config(workspace=tmp_path), options=BuildOptions(output=out, jobs=1), progress=progress
            )
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # given back
    finally:
        signal.signal(signal.SIGINT, previous)
    assert len(list((out / "booklets").glob("*.pdf"))) == 1


def test_a_second_ctrl_c_stops_at_once() -> None:
    from packgen.build.workers import stop_between_booklets

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), stop_between_booklets() as stop_if_interrupted:
            stop_if_interrupted()  # not pressed: goes on
            signal.raise_signal(signal.SIGINT)  # the first waits for the booklet in hand
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)
            stop_if_interrupted()
            raise AssertionError("not stopped")
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_stops_with_130_and_keeps_finished_booklets(tmp_path: Path) -> None:
    # enough members that the build is still rendering when the signal comes, however late this
    # process notices the first booklet on a busy machine
    make_workspace(tmp_path, copies_of_members(10))
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "packgen", "build", "-o", str(out), "-j", "1"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal would start it
    )  # fmt: skip
    while process.poll() is None and not list((out / "booklets").glob("*.pdf")):
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate()
    assert process.returncode == 130, stderr
    assert stderr.endswith("interrupted: finished booklets are kept; run the same command again to resume\n")
    assert "Traceback" not in stderr
    for pdf in (out / "booklets").glob("*.pdf"):
        assert len(PdfReader(pdf).pages) >= 1


def test_booklets_of_members_no_longer_in_the_profiles_are_removed(run, tmp_path: Path) -> None:
    make_workspace(tmp_path, MEMBERS[:4])
    out = tmp_path / "out"
    assert run("build", "-o", out, "-j", "1", "--quiet").exit_code == 0
    roster = tmp_path / "profiles" / "roster.csv"
    lines = roster.read_text(encoding="utf-8").splitlines()
    # T02 leaves; T03's row has an error this time, which does not take T03 off the roster
    kept = [
        line.replace("王志强", "") if line.startswith("T03,") else line for line in lines if "T02" not in line
    ]
    roster.write_text("\n".join(kept) + "\n", encoding="utf-8")
    result = run("build", "-o", out, "-j", "1", "--quiet")
    assert result.exit_code == 1  # T03's row
    assert (
        f"note: removed the booklets of 1 member(s) no longer in the profiles from {out / 'booklets'}: T02\n"
        in result.stderr
    )
    assert sorted(p.name for p in (out / "booklets").iterdir()) == ["T01.pdf", "T03.pdf", "T04.pdf"]
    assert manifest(out)["removed"] == ["T02"]
    assert statuses(out) == {"T01": "unchanged", "T03": "failed", "T04": "unchanged"}

    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")  # T02 is back: its booklet is made anew
    assert run("build", "-o", out, "-j", "1", "--quiet").exit_code == 0
    assert statuses(out) == {"T01": "unchanged", "T02": "built", "T03": "built", "T04": "unchanged"}
    assert "removed" not in manifest(out)


def test_a_member_whose_row_has_errors_is_in_the_manifest_as_failed(run, tmp_path: Path) -> None:
    make_workspace(tmp_path, MEMBERS[:3])
    roster = tmp_path / "profiles" / "roster.csv"
    roster.write_text(roster.read_text(encoding="utf-8").replace(",就地自学,", ",随便学,"), encoding="utf-8")
    out = tmp_path / "out"
    result = run("build", "-o", out, "-j", "1", "--quiet")
    assert result.exit_code == 1
    message = (
        "unknown study plan (指定学习方式); expected one of 就地自学 / 自学 / 线上联学 / 线上 / 网上 / 送学上门 / "
        "送学 (or self_study / online / delivered); if it means one of them, say so under values: in packgen.yaml"
    )
    hint = "  values:\n    plan:\n      随便学: self_study  # or online, delivered"
    assert (
        result.stderr == f"error: {roster}, row 3, column '指定学习方式': '随便学': {message}:\n{hint}\n"
    )  # once
    failed = [e for e in manifest(out)["members"] if e["status"] == "failed"]
    error = f"roster.csv, row 3: 指定学习方式: {message}"
    assert [(e["id"], e["name"], e["plan"], e["error"]) for e in failed] == [("T02", "李秀英", "", error)]
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    assert (rows["T02"]["status"], rows["T02"]["error"]) == ("failed", error)
    assert manifest(out)["summary"]["by_status"] == {"built": 2, "failed": 1}
    assert not (out / "booklets" / "T02.pdf").exists()
    assert sum(len(r["booklets"]) for r in manifest(out)["print_runs"]) == 2
