"""Build many booklets at once: read the roster, assign plans, render in workers, write the manifest.

:func:`build` reads as the pipeline it is: read and assign, select (``--only``, ``--plan``,
``--branch``, ``--shard``), take the output folder's lock, find what an earlier build already made,
render the rest in worker processes, then :func:`finish`: print runs, delivery list and labels,
manifest. It never prints; progress goes to an optional callback, so the CLI (or a script) decides
how to show it.

Every booklet is written under a temporary name that does not end in ``.pdf``, recorded in the
build journal, then renamed: a killed build leaves only complete booklets, each one known to the
next build, which reports it ``unchanged`` instead of rendering it again.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from packgen import __version__
from packgen.assets import builtin_templates_dir
from packgen.config import Config
from packgen.errors import InputError, PackgenError, UsageError
from packgen.files import atomic_output
from packgen.manifest import Entry, append_journal, previous_entries, read_manifest, summarize, write_manifest
from packgen.members import Member, Problem, Roster, load_roster
from packgen.plans import (
    coverage_gaps,
    coverage_problems,
    load_material,
    material_file,
    resolve_material,
    selection,
)
from packgen.rules import Assignment, assign_plans

BOOKLETS_DIR = "booklets"
LOCK_FILE = ".packgen.lock"
SHARED_DIR = ".packgen-shared"  #: the render workers' shared parts during a build
WORKER_DIED = (
    "the worker process rendering this booklet died (out of memory, or killed); run the build again to retry"
)
Progress = Callable[[Entry, int, int], None]
Stage = Callable[[str], None]  #: told when the build moves on to print runs, delivery, manifest
PrintRunMode = Literal["plan", "all", "none"]
Order = Literal["auto", "branch", "route"]


@dataclass
class BuildOptions:
    output: Path
    jobs: int = 0  #: 0: one worker per core
    only: set[str] | None = None
    plans: set[str] | None = None
    branches: set[str] | None = None
    force: bool = False  #: render every booklet even when its inputs did not change
    shard: tuple[int, int] | None = None  #: (K, N): build the K-th of N stable shares of the members
    print_run: PrintRunMode = "plan"
    pad_to: int = 2  #: pad every booklet in the print run to a multiple of this many pages
    order: Order = "auto"


@dataclass
class BuildResult:
    output: Path
    entries: list[Entry]
    problems: list[Problem]
    summary: dict[str, object] = field(default_factory=dict)
    print_runs: list[dict[str, Any]] = field(default_factory=list)
    delivery: dict[str, Any] = field(default_factory=dict)
    #: members outside ``--only``/``--plan``/``--branch`` built here before, now out of date
    left_out: list[str] = field(default_factory=list)
    #: members no longer on the roster whose booklet from an earlier build here was deleted
    removed: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Entry]:
        return [e for e in self.entries if e.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or any(p.severity == "error" for p in self.problems) else 0


def read_and_assign(
    config: Config, profiles: Sequence[Path], *, encoding: str | None = None, sheet: str | None = None
) -> tuple[Roster, list[tuple[Member, Assignment]]]:
    """Profiles in, every valid member with the plan chosen for it out."""
    paths = list(profiles) or [config.resolve(p) for p in config.profiles]
    missing = [path for path in paths if not path.exists()]
    if missing and not profiles:
        raise InputError(
            f"{missing[0]}: no such file or folder, where the config looks for profiles; run packgen inside a "
            "workspace (packgen init DIR makes one), give the profile files, or point -c at a packgen.yaml"
        )
    roster = load_roster(paths, config.columns, encoding=encoding, sheet=sheet)
    return roster, assign_plans(config, roster.members)


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` -> ``(2, 3)``, with a message that says what is wrong otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise UsageError(f"--shard {text!r}: expected K/N, e.g. --shard 1/3 for the first of three shares")
    k, n = int(match[1]), int(match[2])
    if n < 1 or not 1 <= k <= n:
        raise UsageError(f"--shard {text}: K must be between 1 and N (here 1 to {max(n, 1)})")
    return k, n


def in_shard(member_id: str, shard: tuple[int, int]) -> bool:
    """Stable across runs, machines and roster order: depends on the member id alone."""
    k, n = shard
    return int(hashlib.sha256(member_id.encode("utf-8")).hexdigest()[:16], 16) % n == k - 1


def select(
    assigned: Iterable[tuple[Member, Assignment]], options: BuildOptions
) -> list[tuple[Member, Assignment]]:
    assigned = list(assigned)
    if options.only:
        unknown = options.only - {m.id for m, _ in assigned}
        if unknown:
            raise UsageError(f"--only: no member with id {', '.join(sorted(unknown))} in the profiles")
    return [
        (m, a)
        for m, a in assigned
        if (options.only is None or m.id in options.only)
        and (options.plans is None or a.plan in options.plans)
        and (options.branches is None or m.branch in options.branches)
        and (options.shard is None or in_shard(m.id, options.shard))
    ]


def booklet_filename(member_id: str) -> str:
    """A safe file name for a member id: never a path, never hidden, distinct for distinct ids."""
    text = unicodedata.normalize("NFKC", member_id)
    safe = re.sub(r"[^\w.-]", "_", text, flags=re.UNICODE).lstrip(".") or "member"
    safe = safe[:80]
    if safe != member_id:
        safe += "-" + hashlib.sha256(member_id.encode("utf-8")).hexdigest()[:8]
    return safe + ".pdf"


def build(
    config: Config,
    profiles: Sequence[Path] = (),
    options: BuildOptions | None = None,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    progress: Progress | None = None,
    stage: Stage | None = None,
) -> BuildResult:
    """Build every selected member's booklet, then print runs, delivery and manifest.

    One failing member never stops the rest; a booklet whose inputs did not change since the last
    build into the same folder is reported ``unchanged`` and not rendered again (``force`` renders all).
    Members left out by ``only``, ``plans`` or ``branches`` whose booklet there is up to date stay in
    the print runs, delivery list and manifest (a shard's folder holds its share alone).
    Ctrl-C while booklets render raises ``KeyboardInterrupt`` once the booklets in hand are written
    (see :func:`stop_between_booklets`).
    """
    options = options or BuildOptions(output=config.resolve(config.output))
    if options.pad_to < 2 or options.pad_to % 2:
        raise UsageError(f"--pad-to {options.pad_to}: must be an even number of pages (2 for duplex, 4 …)")
    from packgen.render import Renderer

    renderer = Renderer(config)
    renderer.check_template()  # a broken template stops the build before any booklet
    roster, assigned = read_and_assign(config, profiles, encoding=encoding, sheet=sheet)
    roster.problems += coverage_problems(config, assigned) + renderer.stylesheet_problems()
    if options.plans or options.branches:
        plans, branches = selection(config, assigned, options.plans, options.branches)
        options = replace(options, plans=plans or None, branches=branches or None)
    seq = {m.id: i for i, (m, _) in enumerate(assigned)}
    chosen = select(assigned, options)
    output = options.output
    fingerprint = inputs_fingerprint(config, skip=output)
    with output_lock(output):
        (output / BOOKLETS_DIR).mkdir(parents=True, exist_ok=True)
        remove_stale_parts(output / BOOKLETS_DIR)
        known = previous_entries(output)
        previous = {} if options.force else known
        todo: list[tuple[Member, Assignment, Entry]] = []
        done: list[Entry] = []
        for member, assignment in chosen:
            entry = _entry(config, member, assignment, seq[member.id], fingerprint)
            before = previous.get(entry.id)
            if before is not None and is_unchanged(output, entry, before):
                entry.status, entry.pages, entry.sha256 = "unchanged", before.pages, before.sha256
                done.append(entry)
                if progress:
                    progress(entry, len(done), len(chosen))
            else:
                todo.append((member, assignment, entry))
        with stop_between_booklets() as stop_if_interrupted:
            done += _render_all(
                config,
                todo,
                output,
                options.jobs,
                progress,
                stop_if_interrupted,
                offset=len(done),
                total=len(chosen),
            )
        kept, left_out = (
            ([], []) if options.shard else _kept(config, assigned, chosen, known, output, seq, fingerprint)
        )
        on_roster = {m.id for m, _ in assigned} | {p.member_id for p in roster.problems if p.member_id}
        gone = sorted(set(known) - on_roster)
        removed = remove_booklets(output, gone)
        done = sorted(done + [entry for entry, _ in kept], key=lambda e: e.seq)
        done += rejected_rows(roster.problems, options, known_ids=set(seq), first_seq=len(seq))
        by_id = {m.id: m for m, _ in chosen} | {entry.id: member for entry, member in kept}
        rows = delivery_rows(config, [(by_id[e.id], e) for e in done if e.plan == "delivered"])
        extra: dict[str, Any] = {"inputs": fingerprint}  #: merge checks that shards were built alike
        if options.shard:
            extra["shard"] = f"{options.shard[0]}/{options.shard[1]}"
        if left_out:
            extra["left_out"] = left_out
        if removed:
            extra["removed"] = removed
        result = finish(
            config, output, done, rows, options, problems=roster.problems, extra=extra, stage=stage, forget=gone
        )  # fmt: skip
        result.left_out, result.removed = left_out, removed
        return result


def rejected_rows(
    problems: list[Problem], options: BuildOptions, known_ids: set[str], first_seq: int
) -> list[Entry]:
    """The members whose rows have errors, as ``failed`` entries with those errors: the manifest
    names everyone on the roster, including those who get no booklet this time."""
    found: dict[str, list[Problem]] = {}
    for problem in problems:
        if problem.severity == "error" and problem.member_id and problem.member_id not in known_ids:
            found.setdefault(problem.member_id, []).append(problem)
    entries: list[Entry] = []
    for member_id, errors in found.items():
        if (options.only and member_id not in options.only) or (
            options.shard and not in_shard(member_id, options.shard)
        ):
            continue
        where = f"{Path(errors[0].file).name}, {errors[0].row_word} {errors[0].row}"
        message = "; ".join(f"{e.column}: {e.message}" if e.column else e.message for e in errors)
        error, seq = f"{where}: {message}", first_seq + len(entries)
        entries.append(
            Entry(member_id, errors[0].member_name, "", "", "", status="failed", error=error, seq=seq)
        )
    return entries


def remove_booklets(output: Path, member_ids: list[str]) -> list[str]:
    """Delete the booklets in ``output`` of members no longer on the roster (a member whose row has
    errors this time is still on it); the ids of those that were there."""
    removed = []
    for member_id in member_ids:
        path = output / BOOKLETS_DIR / booklet_filename(member_id)
        if path.is_file():
            path.unlink()
            removed.append(member_id)
    return removed


def _kept(
    config: Config,
    assigned: list[tuple[Member, Assignment]],
    chosen: list[tuple[Member, Assignment]],
    known: dict[str, Entry],
    output: Path,
    seq: dict[str, int],
    fingerprint: str,
) -> tuple[list[tuple[Entry, Member]], list[str]]:
    """The members ``--only``, ``--plan`` or ``--branch`` left out: those whose booklet in ``output``
    is up to date, which the print runs, delivery list and manifest go on covering (as
    ``unchanged``), and the ids of those built or failed here before whose booklet is not (changed
    since), which drop out of them.
    """
    selected = {m.id for m, _ in chosen}
    kept, left_out = [], []
    for member, assignment in assigned:
        if member.id in selected:
            continue
        entry = _entry(config, member, assignment, seq[member.id], fingerprint)
        before = known.get(member.id)
        if is_unchanged(output, entry, before):
            assert before is not None
            entry.status, entry.pages, entry.sha256 = "unchanged", before.pages, before.sha256
            kept.append((entry, member))
        elif before is not None and before.status != "failed":  # in the folder's print runs until now
            left_out.append(member.id)
    return kept, left_out


def finish(
    config: Config,
    output: Path,
    entries: list[Entry],
    rows: list[dict[str, Any]],
    options: BuildOptions,
    *,
    problems: list[Problem] | None = None,
    extra: dict[str, Any] | None = None,
    stage: Stage | None = None,
    forget: Iterable[str] = (),
) -> BuildResult:
    """After the booklets: print runs, delivery list and labels, then the manifest (build and merge).

    ``forget``: members whose records the folder drops (no longer on the roster).
    """
    from packgen.delivery import write_delivery
    from packgen.printrun import write_print_runs

    tell = stage or (lambda _: None)
    before = read_manifest(output) or {}
    tell("print runs")
    runs = write_print_runs(
        output, entries, options.print_run, pad_to=options.pad_to, order=options.order,
        previous=before.get("print_runs", []), jobs=options.jobs or os.cpu_count() or 1,
    )  # fmt: skip
    tell("delivery list and labels")
    delivery = write_delivery(config, output, rows, order=options.order, previous=before.get("delivery", {}))
    tell("manifest")
    summary = summarize(entries)
    write_manifest(
        output, entries, summary, {**(extra or {}), "print_runs": runs, "delivery": delivery}, forget=forget
    )
    return BuildResult(
        output=output, entries=entries, problems=problems or [], summary=summary, print_runs=runs,
        delivery=delivery,
    )  # fmt: skip


def merge(
    config: Config, sources: Sequence[Path], options: BuildOptions, *, stage: Stage | None = None
) -> BuildResult:
    """Combine the outputs of shard builds into one folder: booklets, manifest, print runs, delivery.

    Each booklet is checked against the sha256 its shard recorded before it is copied.
    """
    if not sources:
        raise UsageError("merge: give the output folders of the shard builds, e.g. packgen merge out-1 out-2")
    entries: dict[str, tuple[Entry, Path]] = {}
    rows: dict[str, dict[str, Any]] = {}
    manifests = []
    for source in sources:
        data = read_manifest(source)
        if data is None:
            raise InputError(
                f"{source}: no readable manifest.json; give folders that packgen build wrote (-o)"
            )
        manifests.append((source, data))
    check_shards(manifests)
    for source, data in manifests:
        for item in data.get("members", []):
            entry = Entry.from_dict(item)
            if entry.id in entries and entries[entry.id][0].sha256 != entry.sha256:
                raise InputError(
                    f"{source}: member {entry.id} is also in {entries[entry.id][1]} with a different "
                    "booklet; merge the shards of one build (same roster and config)"
                )
            entries[entry.id] = (entry, source)
        for row in (data.get("delivery") or {}).get("rows", []):
            rows[row["id"]] = {k: v for k, v in row.items() if k != "group"}
    output = options.output
    with output_lock(output):
        (output / BOOKLETS_DIR).mkdir(parents=True, exist_ok=True)
        remove_stale_parts(output / BOOKLETS_DIR)
        for entry, source in entries.values():
            if entry.status != "failed" and entry.file:
                _copy_checked(source / entry.file, output / entry.file, entry.sha256)
        merged = sorted((e for e, _ in entries.values()), key=lambda e: e.seq)
        delivered = sorted(rows.values(), key=lambda r: r.get("seq", 0))
        extra = {"merged": [str(s) for s in sources]}
        return finish(config, output, merged, delivered, options, extra=extra, stage=stage)


def check_shards(manifests: list[tuple[Path, dict[str, Any]]]) -> None:
    """Shards to merge must be all N shares of one build (``--shard K/N``), built from the same inputs."""
    inputs = {data.get("inputs") for _, data in manifests} - {None}
    if len(inputs) > 1:
        raise InputError(
            "merge: the shards were built from different config, templates or materials; build every "
            "shard from the same workspace and merge again"
        )
    shares = [(source, data.get("shard")) for source, data in manifests]
    if all(share is None for _, share in shares):
        return
    parsed = [(source, parse_shard(share)) if share else (source, None) for source, share in shares]
    whole = [str(source) for source, share in parsed if share is None]
    if whole:
        raise InputError(f"merge: {', '.join(whole)} holds a whole build, not a shard (--shard K/N)")
    counts = {share[1] for _, share in parsed if share}
    if len(counts) > 1:
        raise InputError(
            f"merge: the shards split the roster differently ({', '.join(sorted(s for _, s in shares if s))})"
        )
    (count,) = counts
    given = sorted({share[0] for _, share in parsed if share})
    missing = [f"{k}/{count}" for k in range(1, count + 1) if k not in given]
    if missing:
        raise InputError(
            f"merge: shard {', '.join(missing)} is missing; give the folders of all {count} shards"
        )


def _copy_checked(source: Path, target: Path, sha256: str) -> None:
    if not source.is_file() or sha256_file(source) != sha256:
        raise InputError(f"{source}: missing or changed since its build recorded it; build that shard again")
    if source.resolve() == target.resolve() or (target.is_file() and sha256_file(target) == sha256):
        return
    with atomic_output(target) as handle, open(source, "rb") as original:
        shutil.copyfileobj(original, handle)


def delivery_rows(config: Config, members: list[tuple[Member, Entry]]) -> list[dict[str, Any]]:
    """What the delivery team needs per member on the delivered plan whose booklet exists."""
    plan = config.plans["delivered"]
    rows = []
    for member, entry in members:
        if entry.status == "failed":
            continue
        rounds = [
            r.date.isoformat()
            for r in plan.rounds
            if not r.routes or member.route in r.routes or member.branch in r.routes
        ]
        rows.append(
            {
                "id": member.id,
                "name": member.name,
                "branch": member.branch,
                "route": member.route,
                "address": member.address,
                "phone": member.phone,
                "rounds": rounds,
                "file": entry.file,
                "pages": entry.pages,
                "seq": entry.seq,
            }  # fmt: skip
        )
    return rows


@contextlib.contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """Hold ``output/.packgen.lock`` for the build; a second build into the same folder is refused.

    ``flock`` is released by the kernel when the holder exits or is killed, so a lock file left
    behind never blocks the next build. The render and print-run workers a build forks share its
    lock, so no build starts while a stopped one's workers still write; they end within a second
    of their build (:func:`end_with_parent`), and a build waits that long for them.
    """
    try:
        output.mkdir(parents=True, exist_ok=True)
        fd = os.open(output / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(
            f"{output}: cannot create the output folder ({exc.strerror}); choose another with -o"
        ) from None
    try:
        locked = _try_lock(fd, output)
        holder = ""
        for _ in range(50):  # the holder is gone: its workers are ending
            if locked:
                break
            holder = _holder(fd)
            if _alive(holder):
                break
            time.sleep(0.1)
            locked = _try_lock(fd, output)
        if not locked and not _alive(holder):
            raise UsageError(
                f"{output} is still locked by the workers of a packgen build that ended (pid {holder}); "
                "wait until they stop, or build into another folder with -o"
            ) from None
        if not locked:
            raise UsageError(
                f"{output} is being built by another packgen (pid {holder}); wait for it to finish, "
                "or build into another folder with -o"
            ) from None
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    """The pid the lock's holder wrote, or "?" (unreadable: Windows locks keep others from reading)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 64).decode("ascii", "replace").strip() or "?"
    except OSError:
        return "?"


def _alive(pid: str) -> bool:
    """Whether process ``pid`` exists (a pid that cannot be read, or any on Windows, counts as alive:
    there ``os.kill(pid, 0)`` would send Ctrl-C)."""
    if not pid.isdigit() or sys.platform == "win32":
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _try_lock(fd: int, output: Path) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # also released when the process ends
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:  # a file system without locks
        raise UsageError(
            f"{output}: cannot lock the output folder ({exc.strerror}); build into a local folder with -o"
        ) from None
    return True


def end_with_parent() -> None:
    """In a worker process: end it once the build that started it is gone (``kill -9``, OOM killer).

    Nothing would read what it makes, and it would hold the output folder's lock.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="packgen-parent-watch", daemon=True).start()


def remove_stale_parts(folder: Path) -> None:
    """Temporary files of a build that was killed; they never end in ``.pdf``."""
    for part in folder.glob(".*.part-*"):
        part.unlink(missing_ok=True)


def inputs_fingerprint(config: Config, skip: Path | None = None) -> str:
    """One hash of everything besides the member that a booklet depends on, computed once per build.

    ``skip`` (the output folder) is left out, should the templates folder be the whole workspace.
    """
    digest = hashlib.sha256()
    digest.update(f"packgen {__version__}\n".encode())
    digest.update(config.model_dump_json().encode("utf-8"))
    digest.update(f"\nSOURCE_DATE_EPOCH={os.environ.get('SOURCE_DATE_EPOCH', '')}\n".encode())
    files: list[tuple[str, Path]] = []  #: (a name that does not depend on where the workspace is, path)
    for label, folder in (
        ("builtin", builtin_templates_dir()),
        ("workspace", config.resolve(config.templates)),
    ):
        if folder.is_dir():
            found = (p for p in folder.rglob("*") if p.is_file() and not (skip and p.is_relative_to(skip)))
            files += sorted((f"{label}/{p.relative_to(folder).as_posix()}", p) for p in found)
    for key, plan in config.plans.items():
        for entry in plan.materials:
            path = resolve_material(config, material_file(entry))
            files.append((f"material {key} {material_file(entry)}", path))
            files += [
                (f"image {key} {material_file(entry)} {n}", image)
                for n, image in enumerate(load_material(path).images)
            ]
    for name, path in files:
        digest.update(f"\n{name}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def member_key(fingerprint: str, member: Member, assignment: Assignment) -> str:
    """Changes when the member's data, plan or explanation, or any shared input changes.

    The member's ``source`` (file and row) is left out: inserting a row must not rebuild everyone.
    """
    data = {
        "member": member.model_dump(mode="json", exclude={"source"}),
        "assignment": [assignment.plan, assignment.reason, assignment.source, assignment.rule],
    }
    text = fingerprint + json.dumps(data, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_unchanged(output: Path, entry: Entry, before: Entry | None) -> bool:
    """Built before with the same key, and the file on disk is the one that build wrote."""
    if before is None or before.status == "failed" or before.key != entry.key or before.file != entry.file:
        return False
    path = output / entry.file
    return path.is_file() and sha256_file(path) == before.sha256


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _entry(config: Config, member: Member, assignment: Assignment, seq: int, fingerprint: str) -> Entry:
    return Entry(
        id=member.id, name=member.name, branch=member.branch, plan=assignment.plan,
        reason=assignment.explanation, rule=assignment.rule,
        file=f"{BOOKLETS_DIR}/{booklet_filename(member.id)}", route=member.route,
        gaps=coverage_gaps(assignment.plan, config.plans[assignment.plan], member),
        key=member_key(fingerprint, member, assignment), seq=seq,
    )  # fmt: skip


def _render_all(
    config: Config,
    todo: list[tuple[Member, Assignment, Entry]],
    output: Path,
    jobs: int,
    progress: Progress | None,
    stop_if_interrupted: Callable[[], None],
    *,
    offset: int,
    total: int,
) -> list[Entry]:
    """Render ``todo`` in-process (one job) or in a pool, never more than a few tasks queued at once."""
    if not todo:
        return []  # nothing to render: no worker started, WeasyPrint never imported
    jobs = min(jobs or os.cpu_count() or 1, len(todo))
    entries: list[Entry] = []

    def report(entry: Entry) -> None:
        entries.append(entry)
        if progress:
            progress(entry, offset + len(entries), total)
        stop_if_interrupted()

    if jobs == 1:
        _init_worker(config)
        frozen_before = gc.get_freeze_count()
        try:
            for member, assignment, entry in todo:
                report(_build_one(member, assignment, entry, output))
        finally:
            if not frozen_before:  # this process goes on after the build: the collector sees all again
                gc.unfreeze()
        return entries
    pending = iter(todo)
    shared: Path | None = output / SHARED_DIR  # where the workers leave shared parts for one another
    try:  # under the output folder's lock: what is there was left by a killed build
        shutil.rmtree(output / SHARED_DIR, ignore_errors=True)
        (output / SHARED_DIR).mkdir()
    except OSError:  # cannot write there: each worker renders the shared parts itself
        shared = None
    pool: ProcessPoolExecutor | None = None
    running: dict[Future[Entry], Entry] = {}
    try:
        while True:
            if pool is None:
                pool = ProcessPoolExecutor(
                    max_workers=jobs, initializer=_init_pool_worker, initargs=(config, shared)
                )
            for member, assignment, entry in pending:
                running[pool.submit(_build_one, member, assignment, entry, output)] = entry
                if len(running) >= 2 * jobs:
                    break
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                entry = running.pop(future)
                try:
                    report(future.result())
                except BrokenProcessPool:  # a worker was killed (out of memory? Ctrl-C?) or crashed
                    stop_if_interrupted()  # Ctrl-C: not a failed booklet
                    entry.status, entry.error, entry.file = "failed", WORKER_DIED, ""
                    report(entry)
                    if pool is not None:
                        pool.shutdown(wait=False, cancel_futures=True)
                    pool = None  # the rest go to a fresh pool; running ones fail the same way
        if pool is not None:
            pool.shutdown()
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)
    return entries


@contextlib.contextmanager
def stop_between_booklets() -> Iterator[Callable[[], None]]:
    """While booklets render, a Ctrl-C finishes the booklet in hand and stops; a second stops at once.

    Python raises ``KeyboardInterrupt`` wherever the main thread is; inside a finalizer (a ``__del__``,
    a weakref callback, which WeasyPrint and importlib run often) it is only printed as "Exception
    ignored" and the build goes on (seen in CI). A flag checked between booklets cannot be lost that
    way. Yields the check, which raises ``KeyboardInterrupt`` once Ctrl-C was pressed. Left alone when
    the caller handles SIGINT itself or this is not the main thread.
    """
    pressed = 0

    def on_ctrl_c(signum: int, frame: Any) -> None:
        nonlocal pressed
        pressed += 1
        if pressed > 1:
            raise KeyboardInterrupt

    def stop_if_interrupted() -> None:
        if pressed:
            raise KeyboardInterrupt

    in_main_thread = threading.current_thread() is threading.main_thread()
    if not in_main_thread or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield stop_if_interrupted
        return
    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield stop_if_interrupted
    finally:
        signal.signal(signal.SIGINT, previous)
    stop_if_interrupted()  # pressed after the last booklet


_renderer: Any = None
_warm = False  #: whether this process has rendered a booklet since :func:`_init_worker`


def _init_worker(config: Config, shared_folder: Path | None = None) -> None:
    global _renderer, _warm
    from packgen.render import Renderer

    _renderer, _warm = Renderer(config, shared_folder=shared_folder), False


def _init_pool_worker(config: Config, shared_folder: Path | None) -> None:
    end_with_parent()
    _init_worker(config, shared_folder)


def render_booklet(member: Member, assignment: Assignment) -> bytes:
    """The one place a batch turns (member, plan) into PDF bytes; the per-process renderer is reused."""
    global _warm
    from packgen.plans import booklet_content

    assert _renderer is not None, "worker not initialised"
    data = bytes(_renderer.pdf(booklet_content(_renderer.config, member, assignment)))
    if not _warm:
        _warm = True
        _freeze_what_stays()
    return data


def _freeze_what_stays() -> None:
    """Keep what a warm process holds for every booklet out of Python's cyclic garbage collector.

    After its first booklet a process holds WeasyPrint's and pikepdf's modules and caches, fonts
    and the rendered shared parts; every full collection would scan them all again. Timed with
    ``gc.callbacks`` in the workers of a 30-member build: collections took 7.7 % of their CPU time,
    5.4 % with this. The collector still frees what booklets leave behind, so memory stays flat.
    """
    gc.collect()
    gc.freeze()


def _build_one(member: Member, assignment: Assignment, entry: Entry, output: Path) -> Entry:
    try:
        data = render_booklet(member, assignment)
    except Exception as exc:  # a bug or a library failure for one member must not stop the batch
        message = str(exc) if isinstance(exc, PackgenError) else f"{type(exc).__name__}: {exc}"
        (output / entry.file).unlink(missing_ok=True)  # an older booklet for this member is out of date
        entry.status, entry.error, entry.file = "failed", message, ""
        return entry
    entry.status, entry.pages, entry.sha256 = "built", pdf_page_count(data), hashlib.sha256(data).hexdigest()
    write_recorded(output, entry, data)
    return entry


def write_recorded(output: Path, entry: Entry, data: bytes) -> None:
    """Temporary file, journal line, rename: a booklet under its real name is always complete and known."""
    with atomic_output(output / entry.file, before_rename=lambda: append_journal(output, entry)) as handle:
        handle.write(data)


def pdf_page_count(data: bytes) -> int:
    import io

    import pikepdf

    with pikepdf.Pdf.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)


def entry_dicts(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    return [asdict(e) for e in entries]
