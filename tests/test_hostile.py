"""Issue 20: nothing from outside (a roster, a shard from another machine, a template or material
received from others) can break out of the workspace, hang a build or show a traceback.

Each test reproduces one case of the issue and asserts the exact message a user sees.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from booklets import FOREVER, override_letter, small_workspace
from conftest import write_csv
from openpyxl import Workbook
from pypdf import PdfReader

from packgen.roster import limits

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


# --- 1, 2. merge: a shard is data from another machine ------------------------------------------


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of a two-member build, to copy and tamper with."""
    from packgen.build import BuildOptions, build
    from packgen.config import load_config

    workspace = small_workspace(tmp_path_factory.mktemp("shard"))
    out = workspace / "out"
    assert build(load_config(workspace=workspace), options=BuildOptions(output=out, jobs=1)).exit_code == 0
    return out


def edit_manifest(folder: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    path = folder / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(change(data) or data), encoding="utf-8")


def set_member(index: int, **values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data["members"][index].update(values)


REBUILD = "this is not a folder packgen build wrote, or it was changed since; build that shard again"
A2_SHA = "sha256 of booklets/A2.pdf"  #: filled in by the test


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (  # 1. a path out of the shard, to a file with the recorded sha256: merge wrote it out of -o
            lambda f: (
                shutil.copy(f / "booklets" / "A1.pdf", f.parent / "x.pdf"),
                edit_manifest(f, set_member(0, file="../x.pdf")),
            ),
            "manifest.json, member 'A1': file must be 'booklets/A1.pdf', not '../x.pdf'",
        ),
        (  # 1. an absolute path: another member's booklet, twice in the print run
            lambda f: edit_manifest(f, set_member(0, file=str(f / "booklets" / "A2.pdf"), sha256=A2_SHA)),
            "manifest.json, member 'A1': file must be 'booklets/A1.pdf', not {absolute}",
        ),
        (  # a name like the one a case clash gives (A1-<hash of A1>.pdf), with another member's hash
            lambda f: edit_manifest(f, set_member(0, file="booklets/A1-" + "0" * 8 + ".pdf")),
            "manifest.json, member 'A1': file must be 'booklets/A1.pdf', not 'booklets/A1-00000000.pdf'",
        ),
        (  # a plan names the print-run file: print/print-run-PLAN.pdf
            lambda f: edit_manifest(f, set_member(1, plan="../../../outside/x")),
            "manifest.json, member 'A2', plan: Input should be 'self_study', 'online', 'delivered' or ''",
        ),
        (  # 2. not an object
            lambda f: (f / "manifest.json").write_text("[]", encoding="utf-8"),
            "manifest.json, (top level): Input should be a valid dictionary or instance of ShardManifest",
        ),
        (  # 2. members: null
            lambda f: edit_manifest(f, lambda d: {**d, "members": None}),
            "manifest.json, members: Input should be a valid list",
        ),
        (  # 2. a member that is no object
            lambda f: edit_manifest(f, lambda d: {**d, "members": [7]}),
            "manifest.json, member 1: Input should be a valid dictionary or instance of ShardEntry",
        ),
        (  # 2. deeply nested JSON
            lambda f: (f / "manifest.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8"),
            "manifest.json is nested far too deeply",
        ),
        (
            lambda f: (f / "manifest.json").write_bytes(b'{"members": [\xff]}'),
            "manifest.json is not valid JSON ('utf-8' codec can't decode byte 0xff in position 13: invalid "
            "start byte)",
        ),
        (
            lambda f: edit_manifest(f, set_member(1, sha256="0" * 64, pages="12")),
            "manifest.json, member 'A2', pages: Input should be a valid integer",
        ),
        (
            lambda f: edit_manifest(f, lambda d: {**d, "members": d["members"] * 2}),
            "manifest.json, member 'A1' is listed twice",
        ),
        (  # a booklet that is a symlink to a file elsewhere
            lambda f: symlink(f / "booklets" / "A1.pdf", Path("/etc/hostname")),
            "member 'A1': booklets/A1.pdf is not a regular file (a symlink?)",
        ),
        (  # the booklets folder a symlink to a folder elsewhere
            lambda f: symlink(f / "booklets", f.parent / "elsewhere"),
            "member 'A1': booklets/ is not a folder of the shard (a symlink?)",
        ),
    ],
)
def test_merge_refuses_a_tampered_shard_and_writes_nothing(
    run, shard: Path, tmp_path: Path, tamper: Callable[[Path], Any], message: str
) -> None:
    folder = tmp_path / "shard"
    shutil.copytree(shard, folder)
    shutil.copytree(shard / "booklets", tmp_path / "elsewhere")
    global A2_SHA
    A2_SHA = hashlib.sha256((folder / "booklets" / "A2.pdf").read_bytes()).hexdigest()
    tamper(folder)
    before = sorted(tmp_path.rglob("*"))
    result = run("merge", folder, "-o", tmp_path / "out" / "merged")
    absolute = str(folder / "booklets" / "A2.pdf")
    shown = repr(absolute[:80] + "…")  # a value from a shard is quoted to 80 characters
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {folder}: {message.format(absolute=shown)}; {REBUILD}\n",
    )
    assert not (tmp_path / "out").exists()
    assert sorted(tmp_path.rglob("*")) == before  # nothing written outside -o either


def symlink(path: Path, target: Path) -> None:
    shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    path.symlink_to(target)


def test_a_huge_manifest_is_refused_unread(run, shard: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(limits, "MAX_MANIFEST_BYTES", 100)
    size = (shard / "manifest.json").stat().st_size
    result = run("merge", shard, "-o", tmp_path / "merged")
    assert (result.exit_code, result.stderr) == (
        2, f"error: {shard}: manifest.json is {size:,} bytes, more than any build writes (limit 100); {REBUILD}\n"
    )  # fmt: skip


# --- 3. templates render in Jinja's sandbox ------------------------------------------------------

SANDBOXED = (
    " A template renders in Jinja's sandbox: it may show the variables packgen gives it (README, "
    '"Templates"), not reach into Python, files or the system.'
)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ('{{ lipsum.__globals__["os"].popen("touch ran").read() }}', "access to attribute '__globals__' of 'function' object is unsafe." + SANDBOXED),
        ("{{ ''.__class__.__mro__ }}", "access to attribute '__class__' of 'str' object is unsafe." + SANDBOXED),
        ("{{ content.materials[0].path.write_text('ran') }}", "access to attribute 'write_text' of 'PosixPath' object is unsafe." + SANDBOXED),
        ("{{ self.__dict__ }}", "access to attribute '__dict__' of 'TemplateReference' object is unsafe." + SANDBOXED),
        ("{{ cycler.__init__.__globals__ }}", "access to attribute '__init__' of 'type' object is unsafe." + SANDBOXED),
        ("{% set _ = member.extra.update({'a': 1}) %}", "access to attribute 'update' of 'dict' object is unsafe." + SANDBOXED),
        ("{% for i in range(10**9) %}{% endfor %}", "OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000)."),
    ],
)  # fmt: skip
def test_a_template_cannot_run_code_or_touch_files(run, tmp_path: Path, line: str, error: str) -> None:
    small_workspace(tmp_path)
    template = override_letter(tmp_path, line)
    result = run("preview", "A1", "--pdf", tmp_path / "a1.pdf")
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: roster.csv, row 2: template {template}, line 3: {error}\n",
    )
    assert not (tmp_path / "ran").exists() and not (tmp_path / "a1.pdf").exists()
    assert (tmp_path / "materials" / "short.md").read_text(encoding="utf-8").startswith("# 短章")


def test_a_template_symlinked_from_outside_its_folder_is_refused(run, tmp_path: Path) -> None:
    small_workspace(tmp_path / "ws")
    outside = tmp_path / "secret.j2"
    outside.write_text("{{ member.name }}", encoding="utf-8")
    (tmp_path / "ws" / "templates").mkdir()
    (tmp_path / "ws" / "templates" / "booklet.html.j2").symlink_to(outside)
    result = run("build", "-c", tmp_path / "ws" / "packgen.yaml")
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: template {tmp_path / 'ws' / 'templates' / 'booklet.html.j2'} is a symlink to {outside}, "
        "outside the templates folder; copy the template into the folder instead\n",
    )


# --- 5. rules: nesting limited without recursion; what is no condition is an error --------------


def rule_workspace(root: Path, when: str) -> tuple[Path, int]:
    """A workspace with one rule; its config and the line of the rule's ``when``."""
    small_workspace(root, rules=[{"name": "试验", "when": when, "plan": "online", "reason": "试验"}])
    config = root / "packgen.yaml"
    lines = config.read_text(encoding="utf-8").splitlines()
    start = lines.index("rules:")  # (large_print: has conditions too)
    line = next(i for i, text in enumerate(lines, 1) if i > start and "when:" in text)
    return config, line


NESTED = "-" * 490 + "age > 1"


@pytest.mark.parametrize(
    ("when", "problem"),
    [
        (NESTED, "the condition nests more than 40 levels deep (brackets, signs or operators one inside another); "
                 f"write it more simply or split it into several rules: {NESTED}"),
        ("not " * 60 + "address", "the condition nests more than 40 levels deep (brackets, signs or operators "
                                  "one inside another); write it more simply or split it into several rules: "
                                  + "not " * 60 + "address"),
        ("age", "age alone is true for every member whose age is known: age; compare it, e.g. age >= 60"),
        ("len(name)", "len(name) is a number, not a comparison, so it is true for nearly every member: len(name); "
                      "compare it, e.g. len(name) >= 3"),
        ("age - 60", "age - 60 is not a comparison, so it is the same for nearly every member: age - 60; compare "
                     "it, e.g. age >= 60"),
    ],
)  # fmt: skip
def test_a_rule_too_deep_or_no_condition_is_a_config_error(
    run, tmp_path: Path, when: str, problem: str
) -> None:
    config, line = rule_workspace(tmp_path, when)
    expected = f"error: {config}: 1 problem(s) in the config:\n  - line {line}: Config value 'rules.0.when': rule '试验': {problem}\n"
    for command in (["plan"], ["validate"], ["build", "-j", "1"]):
        result = run(*command)
        assert (result.exit_code, result.stderr) == (2, expected), command
    result = run("plan", "--json")
    assert (result.exit_code, json.loads(result.stdout)) == (
        2,
        {"ok": False, "exit_code": 2, "error": expected[7:-1]},
    )
    assert not (tmp_path / "output").exists()


# --- materials and the images chapters show: the workspace and the built-ins only -------------------


def with_material(workspace: Path, material: str) -> tuple[Path, int]:
    """The workspace's config with ``material`` as self_study's one material, and that line."""
    config = workspace / "packgen.yaml"
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["plans"]["self_study"]["materials"] = [material]
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    lines = config.read_text(encoding="utf-8").splitlines()
    return config, next(i for i, text in enumerate(lines, 1) if material in text)


@pytest.mark.parametrize("kind", ["outside", "symlink", "image"])
def test_a_material_or_image_outside_the_workspace_is_a_config_error(run, tmp_path: Path, kind: str) -> None:
    workspace = small_workspace(tmp_path / "ws")
    (tmp_path / "outside.md").write_text("# 外面\n\n正文\n", encoding="utf-8")
    (tmp_path / "map.png").write_bytes(b"png")
    material, real, shows = "../outside.md", tmp_path / "outside.md", ""
    if kind == "symlink":
        (workspace / "materials" / "passwd.md").symlink_to("/etc/passwd")
        material, real = "materials/passwd.md", Path("/etc/passwd")
    elif kind == "image":
        (workspace / "materials" / "map.md").write_text(
            "# 地图\n\n![路线](../../map.png)\n", encoding="utf-8"
        )
        material, real, shows = (
            "materials/map.md",
            tmp_path / "map.png",
            "material 'materials/map.md' shows the image ",
        )
    config, line = with_material(workspace, material)
    what = shows or f"material '{material}' is "
    result = run("validate", "-c", config)
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {config}: 1 problem(s) in the config:\n  - line {line}: Config value 'plans.self_study.materials.0': "
        f"{what}{real}, outside the workspace; packgen reads materials only from the workspace ({workspace}), its "
        "templates/ folder and the built-in templates: copy the file into the workspace\n",
    )


# --- config: an output folder of its own; allowed_hosts are host names ---------------------------


def config_line(config: Path, key: str) -> int:
    lines = config.read_text(encoding="utf-8").splitlines()
    return next(i for i, text in enumerate(lines, 1) if text.startswith(key))


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("output", "/", "/ holds the workspace {ws}; give the booklets a folder of their own, e.g. output"),
        ("output", ".", "{ws} holds the workspace; give the booklets a folder of their own, e.g. output"),
        ("output", "/etc/booklets", "/etc/booklets is a system folder; give the booklets a folder of their own, e.g. output"),
        ("allowed_hosts", ["*"], "'*' is not a host name; list each host a booklet may load from by its name, e.g. static.example.org (no wildcards)"),
        ("allowed_hosts", ["https://cdn.example.org/x"], "'https://cdn.example.org/x' is not a host name; write the host alone: cdn.example.org"),
    ],
)  # fmt: skip
def test_an_output_folder_that_is_not_its_own_or_a_host_that_is_no_host_is_a_config_error(
    run, tmp_path: Path, setting: str, value: Any, problem: str
) -> None:
    small_workspace(tmp_path, **{setting: value})
    config = tmp_path / "packgen.yaml"
    key, line = (
        (f"{setting}.0", config_line(config, setting) + 1)
        if isinstance(value, list)
        else (setting, config_line(config, setting))
    )
    result = run("build", "-j", "1")
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {config}: 1 problem(s) in the config:\n  - line {line}: Config value "
        f"'{key}': {problem.format(ws=tmp_path)}\n",
    )


@pytest.mark.parametrize("command", ["build", "merge"])
def test_o_slash_is_refused(run, tmp_path: Path, command: str) -> None:
    small_workspace(tmp_path)
    args = ["merge", tmp_path / "shard"] if command == "merge" else ["build"]
    result = run(*args, "-o", "/")
    assert (result.exit_code, result.stderr) == (
        2, f"error: output folder / holds the workspace {tmp_path}; give the booklets a folder of their own, e.g. output\n"
    )  # fmt: skip


# --- 4. a time limit per booklet ----------------------------------------------------------------


def test_the_time_limit_stops_work_in_a_thread_and_nothing_comes_after_its_block() -> None:
    """Outside the main thread (``serve``) no alarm signal arrives: the limit is set on the thread."""
    from packgen.processes import TimeUp, time_limit

    seen: list[str] = []

    def work() -> None:
        try:
            with time_limit(0.3):
                while True:  # a template's loop: Python steps, never ending
                    pass
        except TimeUp:
            seen.append("stopped")
        for _ in range(100):  # blocks that end about when their limit comes
            with contextlib.suppress(TimeUp), time_limit(0.01):  # raised in it or as it ends: fine
                time.sleep(0.0095)
        try:
            time.sleep(1.5)  # past the limit of every block, and its second
            seen.append("nothing after")
        except TimeUp:
            seen.append("a TimeUp after its block")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(30)
    assert seen == ["stopped", "nothing after"]


def test_a_booklet_past_the_time_limit_fails_in_process(run, tmp_path: Path) -> None:
    small_workspace(tmp_path)
    override_letter(tmp_path, f'{{% if member.id == "A1" %}}{FOREVER}{{% endif %}}{{{{ super() }}}}')
    result = run("build", "-q", "-j", "1", "--only", "A1", "--timeout", "1")
    assert (result.exit_code, result.stderr) == (
        1,
        "failed: A1 张三: rendering took longer than the time limit of 1 s per booklet and was stopped; if this "
        "booklet really is that large, raise the limit with --timeout SECONDS\n",
    )
    assert not (tmp_path / "output" / "booklets" / "A1.pdf").exists()


def test_preview_pdf_past_the_time_limit_stops_with_the_limit_named(run, tmp_path: Path) -> None:
    small_workspace(tmp_path)
    override_letter(tmp_path, f'{{% if member.id == "A1" %}}{FOREVER}{{% endif %}}{{{{ super() }}}}')
    result = run("preview", "A1", "--pdf", tmp_path / "a1.pdf", "--timeout", "1")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: rendering took longer than the time limit of 1 s per booklet and was stopped; if this "
        "booklet really is that large, raise the limit with --timeout SECONDS\n",
    )
    assert not (tmp_path / "a1.pdf").exists()


def test_a_worker_stuck_past_the_time_limit_is_killed_and_only_its_booklet_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A1's worker sleeps inside C (no Python step an alarm could stop): it is killed and replaced, A2
    and A3 build. The booklets here are one blank page: this is about the workers, not the pages."""
    import multiprocessing
    import time

    from packgen.build import workers

    def render(member: Any, assignment: Any) -> bytes:
        if member.id == "A1":
            time.sleep(3600)
        return blank_pdf()

    monkeypatch.setattr(workers, "render_booklet", render)  # the workers are forked: they render so too
    entries, out = render_in_two_workers(
        tmp_path,
        "A1,张三,东湖村党支部,境外,良好\nA2,李四,西山村党支部,市内,较差\nA3,王五,西山村党支部,市内,较差\n",
    )
    assert sorted((e.id, e.status, e.error) for e in entries) == [
        ("A1", "failed", workers.timed_out(1)), ("A2", "built", ""), ("A3", "built", "")
    ]  # fmt: skip
    assert sorted(p.name for p in (out / "booklets").iterdir()) == ["A2.pdf", "A3.pdf"]
    assert multiprocessing.active_children() == []


def test_a_worker_killed_while_it_writes_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A1's worker is killed halfway through writing its booklet (here: past its time; in a build
    stopped by a full disk, the other worker's booklet): its temporary file is removed with it."""
    import signal
    import time

    from packgen.build import workers
    from packgen.files import atomic_output

    real = workers.write_recorded

    def write(output: Path, entry: Any, data: bytes) -> None:
        if entry.id != "A1":
            return real(output, entry, data)
        with atomic_output(output / entry.file, sync=False) as handle:
            handle.write(data[:100])
            handle.flush()
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # stuck where no alarm reaches
            time.sleep(3600)

    monkeypatch.setattr(workers, "write_recorded", write)  # the workers are forked: they write so too
    monkeypatch.setattr(workers, "render_booklet", lambda member, assignment: blank_pdf())
    monkeypatch.setattr(workers, "render_digital", lambda member, assignment: blank_pdf())
    entries, out = render_in_two_workers(
        tmp_path, "A1,张三,东湖村党支部,境外,良好\nA2,李四,西山村党支部,市内,较差\n"
    )
    assert sorted((e.id, e.status) for e in entries) == [("A1", "failed"), ("A2", "built")]
    assert sorted(p.name for p in (out / "booklets").iterdir()) == ["A2.pdf"]


def render_in_two_workers(tmp_path: Path, rows: str) -> tuple[list[Any], Path]:
    """The booklets of ``rows`` (under ROSTER's header) rendered by two workers, 1 s each at most."""
    from packgen.build import workers
    from packgen.build.pipeline import _entry, read_and_assign
    from packgen.config import load_config

    small_workspace(tmp_path, ROSTER + rows)
    config = load_config(workspace=tmp_path)
    _, assigned = read_and_assign(config, [])
    todo = [(m, a, _entry(config, m, a, i, "inputs")) for i, (m, a) in enumerate(assigned)]
    out = tmp_path / "out"
    (out / "booklets").mkdir(parents=True)
    entries = workers.render_all(
        config, todo, out, 2, None, lambda: None, offset=0, total=len(todo), timeout=1
    )
    return entries, out


def blank_pdf() -> bytes:
    import pikepdf

    pdf, buffer = pikepdf.new(), io.BytesIO()
    pdf.add_blank_page()
    pdf.save(buffer)
    return buffer.getvalue()


# --- names: text direction controls removed with a warning; file names Windows can open -------------


def test_text_direction_controls_are_removed_with_a_warning(run, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "党员编号,姓名,备注\nA1,张\u202e三\u2066,\u200f好\n")
    result = run("plan", path, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["members"][0]["name"] == "张三"
    warning = "removed the text direction control(s) {}: they reorder how the text shows (in a terminal, the manifest, a spreadsheet) and no roster needs them"
    assert run("validate", path).stderr.splitlines() == [
        f"warning: {path}, row 2, column '姓名': " + warning.format("U+202E, U+2066"),
        f"warning: {path}, row 2, column '备注': " + warning.format("U+200F"),
    ]


@pytest.mark.parametrize(
    ("member_id", "name"),
    [("QS0001", "QS0001.pdf"), ("A1.", "A1..pdf"), ("CON", "_CON-a3dbc4b6.pdf"), ("nul.txt", "_nul.txt-7f3cbdd5.pdf"),
     ("Com1", "_Com1-5bb25012.pdf"), ("COM¹", "_COM1-844eb874.pdf"), ("a<b>:?*", "a_b____-412ff124.pdf")],
)  # fmt: skip
def test_booklet_file_names_are_safe_on_windows_and_ordinary_ids_keep_theirs(
    member_id: str, name: str
) -> None:
    from packgen.outputs.paths import booklet_filename

    assert booklet_filename(member_id) == name


# --- a full disk: one line naming the file, exit 2, nothing half-written; a re-run recovers ---------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KB file system (tmpfs) as the output folder: mounting one needs root, as CI runs."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
    ).returncode == 0  # fmt: skip
    if not mounted:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def grow(disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,size=20m", str(disk)], check=True)


def full(path: Path) -> str:
    return (
        f"error: cannot write {path} (No space left on device); make room, or choose another folder with -o, "
        "and run the same command again: finished booklets are kept\n"
    )


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if ".part-" in p.name]


def test_a_full_disk_while_booklets_are_written_stops_with_one_line(
    run, tmp_path: Path, small_disk: Path
) -> None:
    small_workspace(tmp_path)
    result = run("build", "-q", "-j", "2", "-o", small_disk)
    assert result.exit_code == 2
    assert result.stderr in (  # whichever of the two workers' files met the full disk first
        full(small_disk / "booklets" / "A1.pdf"),
        full(small_disk / "digital" / "A1.pdf"),  # A1 is online: its digital edition is written first
        full(small_disk / "booklets" / "A2.pdf"),
    )
    assert leftovers(small_disk) == [] and not (small_disk / "manifest.json").exists()
    grow(small_disk)
    again = run("build", "-q", "-j", "1", "-o", small_disk)
    assert (again.exit_code, again.stderr) == (0, "")
    assert [len(PdfReader(p).pages) > 1 for p in sorted((small_disk / "booklets").iterdir())] == [True, True]


def test_a_full_disk_while_the_print_runs_are_written_stops_with_one_line(
    run, tmp_path: Path, small_disk: Path
) -> None:
    from packgen.build import BuildOptions, build
    from packgen.config import load_config
    from packgen.errors import OutputError

    small_workspace(tmp_path)
    grow(small_disk)
    filler = small_disk / "filler"

    def fill(stage: str) -> None:  # once the booklets are written: the disk is full
        if stage == "print runs":
            with open(filler, "wb") as handle, contextlib.suppress(OSError):
                handle.write(b"\0" * (20 << 20))

    with pytest.raises(OutputError) as caught:
        build(load_config(workspace=tmp_path), options=BuildOptions(output=small_disk, jobs=1), stage=fill)
    assert f"error: {caught.value}\n" == full(small_disk / "print" / "print-run-online.pdf")
    assert leftovers(small_disk) == [] and not (small_disk / "manifest.json").exists()
    filler.unlink()
    again = run("build", "-q", "-j", "1", "-o", small_disk, "--json")
    assert again.exit_code == 0
    assert {e["status"] for e in json.loads(again.stdout)["members"]} == {"unchanged"}
