"""Build many booklets at once: the pipeline from profiles to booklets, print runs and manifest.

:func:`build` reads as the pipeline it is: check the template and read the roster
(:func:`check`, which ``validate`` runs too), select (``--only``, ``--plan``, ``--branch``,
``--shard``), take the output folder's lock, find what an earlier build already made, render the
rest in worker processes, then :func:`finish`: print runs, delivery list and labels, manifest. It
never prints; progress goes to an optional callback, so the CLI (or a script) decides how to show it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from packgen.build.incremental import (
    inputs_fingerprint,
    is_unchanged,
    member_key,
    remove_booklets,
    remove_former_name,
    remove_stale_digital,
    remove_stale_parts,
)
from packgen.build.lock import output_lock
from packgen.build.options import BuildOptions, BuildResult, Stage
from packgen.build.selection import in_shard, select
from packgen.build.workers import Progress, render_all, stop_between_booklets, timed_out
from packgen.config.schema import Config, output_problem
from packgen.content.plans import BookletContent, booklet_content, coverage_gaps, coverage_problems, selection
from packgen.errors import InputError, OutputError, PackgenError, RenderError, UsageError
from packgen.files import sync_all, write_atomic
from packgen.outputs.delivery import DeliveryRow, delivery_rows, write_delivery
from packgen.outputs.manifest import Entry, previous_entries, read_manifest, summarize, write_manifest
from packgen.outputs.paths import BOOKLETS_DIR, booklet_path, case_clashes, digital_path
from packgen.outputs.printrun import write_print_runs
from packgen.processes import DEFAULT_TIMEOUT, TimeUp, paused_gc, time_limit
from packgen.render.booklet import Renderer
from packgen.render.prepress import Prepress
from packgen.roster.members import Member, Problem, Roster, load_roster
from packgen.rules.ruleset import Assignment, assign_plans


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
    with paused_gc():
        roster = load_roster(paths, config.roster_settings(), encoding=encoding, sheet=sheet)
        return roster, assign_plans(config, roster.members)


@dataclass
class Checked:
    """The roster read and assigned, with every problem ``validate`` reports (and ``build`` prints)."""

    roster: Roster
    assigned: list[tuple[Member, Assignment]]
    renderer: Renderer


def check(
    config: Config,
    profiles: Sequence[Path] = (),
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    composing: bool = True,
) -> Checked:
    """The template, the profiles, each member's plan, what plans cannot serve, what stylesheets lose.

    A template that cannot load stops here (before any booklet); problems in rows are collected.
    ``composing=False`` leaves out what keeps shared parts from being rendered once (a build asks for
    it only when it has booklets to render: :func:`compose_problems`).
    """
    renderer = Renderer(config)
    renderer.check_template()
    roster, assigned = read_and_assign(config, profiles, encoding=encoding, sheet=sheet)
    roster.problems += problems_beyond_rows(config, renderer, assigned, timeout, composing=composing)
    return Checked(roster, assigned, renderer)


def problems_beyond_rows(
    config: Config,
    renderer: Renderer,
    assigned: list[tuple[Member, Assignment]],
    timeout: float = DEFAULT_TIMEOUT,
    *,
    composing: bool = True,
) -> list[Problem]:
    """What ``validate`` lists besides the rows' own problems: members their plan cannot serve, what
    the workspace's stylesheets lose, what keeps shared parts from being rendered once."""
    return [
        *coverage_problems(config, assigned),
        *renderer.stylesheet_problems(),
        *(compose_problems(config, renderer, assigned, timeout) if composing else []),
    ]


def compose_problems(
    config: Config, renderer: Renderer, assigned: list[tuple[Member, Assignment]], timeout: float
) -> list[Problem]:
    """One warning for each stylesheet rule that keeps shared parts from being rendered once
    (:mod:`packgen.render.preconditions`), found on the first booklet of each plan (each within the
    booklet time limit: the template is untrusted)."""
    if not renderer.fast:
        return []
    firsts = {assignment.plan: (member, assignment) for member, assignment in reversed(assigned)}
    found: dict[str, Problem] = {}
    for member, assignment in firsts.values():
        try:
            with time_limit(timeout):
                breaches = renderer.compose_problems(booklet_content(config, member, assignment))
        except (PackgenError, TimeUp):
            continue  # that member's own error; the build says it
        for breach in breaches:
            found.setdefault(
                str(breach), Problem(breach.where, None, None, breach.message, severity="warning")
            )
    return list(found.values())


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
    (see :func:`packgen.build.workers.stop_between_booklets`).
    """
    options = options or BuildOptions(output=config.resolve(config.output))
    check_output(config, options.output)
    if options.pad_to < 2 or options.pad_to % 2:
        raise UsageError(f"--pad-to {options.pad_to}: must be an even number of pages (2 for duplex, 4 …)")
    checked = check(
        config, profiles, encoding=encoding, sheet=sheet, timeout=options.timeout, composing=False
    )  # a broken template stops here
    roster, assigned = checked.roster, checked.assigned
    if options.plans or options.branches:
        plans, branches = selection(config, assigned, options.plans, options.branches)
        options = replace(options, plans=plans or None, branches=branches or None)
    seq = {m.id: i for i, (m, _) in enumerate(assigned)}
    apart = case_clashes(seq)  #: of the whole roster, so every shard names each booklet alike
    chosen = select(assigned, options)
    output = options.output
    fingerprint = inputs_fingerprint(config, skip=output)
    with output_lock(output), writing(output):
        (output / BOOKLETS_DIR).mkdir(parents=True, exist_ok=True)
        remove_stale_parts(output / BOOKLETS_DIR)
        known = previous_entries(output)
        previous = {} if options.force else known
        todo: list[tuple[Member, Assignment, Entry]] = []
        done: list[Entry] = []
        for member, assignment in chosen:
            entry = _entry(config, member, assignment, seq[member.id], fingerprint, apart)
            remove_former_name(output, entry, known.get(entry.id))
            before = previous.get(entry.id)
            if before is not None and is_unchanged(output, entry, before):
                entry.status, entry.pages, entry.sha256 = "unchanged", before.pages, before.sha256
                entry.digital_sha256 = before.digital_sha256
                done.append(entry)
                if progress:
                    progress(entry, len(done), len(chosen))
            else:
                todo.append((member, assignment, entry))
        if todo:  # what would keep these booklets from being composed (none to say when none renders)
            roster.problems += compose_problems(
                config, checked.renderer, [(m, a) for m, a, _ in todo], options.timeout
            )
        with stop_between_booklets() as stop_if_interrupted:
            done += render_all(
                config,
                todo,
                output,
                options.jobs,
                progress,
                stop_if_interrupted,
                offset=len(done),
                total=len(chosen),
                timeout=options.timeout,
                plain=options.plain_render,
            )
        if todo:
            sync_all()  # the booklets on disk before the print runs and manifest name them
        kept, left_out = (
            ([], [])
            if options.shard
            else _kept(config, assigned, chosen, known, output, seq, fingerprint, apart)
        )
        on_roster = {m.id for m, _ in assigned} | {p.member_id for p in roster.problems if p.member_id}
        gone = sorted(set(known) - on_roster)
        removed = remove_booklets(output, gone)
        done = sorted(done + [entry for entry, _ in kept], key=lambda e: e.seq)
        remove_stale_digital(output, done, known)
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


@contextlib.contextmanager
def writing(output: Path) -> Iterator[None]:
    """While a build writes into ``output``: an OS error (a full disk, a read-only folder) stops it
    with one line naming the file. Every file is written whole or not at all (``files.atomic_output``),
    so the same command run again goes on from what is finished."""
    try:
        yield
    except OSError as exc:
        raise OutputError(
            f"cannot write {exc.filename or output} ({exc.strerror or exc}); make room, or choose another "
            "folder with -o, and run the same command again: finished booklets are kept"
        ) from None


def check_output(config: Config, output: Path) -> None:
    """Refuse an output folder that holds the workspace or is a system folder (``-o /``)."""
    problem = output_problem(output, config.workspace)
    if problem:
        raise UsageError(f"output folder {problem}")


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


def _kept(
    config: Config,
    assigned: list[tuple[Member, Assignment]],
    chosen: list[tuple[Member, Assignment]],
    known: dict[str, Entry],
    output: Path,
    seq: dict[str, int],
    fingerprint: str,
    apart: set[str],
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
        entry = _entry(config, member, assignment, seq[member.id], fingerprint, apart)
        before = known.get(member.id)
        if is_unchanged(output, entry, before):
            assert before is not None
            entry.status, entry.pages, entry.sha256 = "unchanged", before.pages, before.sha256
            entry.digital_sha256 = before.digital_sha256
            kept.append((entry, member))
        elif before is not None and before.status != "failed":  # in the folder's print runs until now
            left_out.append(member.id)
    return kept, left_out


def finish(
    config: Config,
    output: Path,
    entries: list[Entry],
    rows: list[DeliveryRow],
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
    tell = stage or (lambda _: None)
    before = read_manifest(output) or {}  # what this folder's last build recorded, if it still reads
    runs_before, delivery_before = before.get("print_runs"), before.get("delivery")
    tell("print runs")
    imposition = config.imposition
    if options.impose is not None:
        imposition = imposition.model_copy(update={"kind": options.impose})
    runs = write_print_runs(
        output, entries, options.print_run, pad_to=options.pad_to, order=options.order,
        previous=runs_before if isinstance(runs_before, list) else [], jobs=options.jobs or os.cpu_count() or 1,
        prepress=Prepress.of(config), imposition=imposition,
    )  # fmt: skip
    tell("delivery list and labels")
    previous = delivery_before if isinstance(delivery_before, dict) else {}
    delivery = write_delivery(
        config, output, rows, order=options.order, previous=previous, jobs=options.jobs or os.cpu_count() or 1
    )
    tell("manifest")
    summary = summarize(entries)
    write_manifest(
        output,
        entries,
        summary,
        {**(extra or {}), "print_runs": [r.as_dict() for r in runs], "delivery": delivery.as_dict()},
        forget=forget,
    )
    return BuildResult(
        output=output, entries=entries, problems=problems or [], summary=summary, print_runs=runs,
        delivery=delivery,
    )  # fmt: skip


def _entry(config: Config, member: Member, assignment: Assignment, seq: int, fingerprint: str,
           apart: Collection[str] = ()) -> Entry:  # fmt: skip
    """The member's entry before rendering; ``apart``: ids named apart (``paths.case_clashes``)."""
    named = member.id in apart
    return Entry(
        id=member.id, name=member.name, branch=member.branch, plan=assignment.plan,
        reason=assignment.explanation, rule=assignment.rule,
        file=booklet_path(member.id, named), route=member.route,
        gaps=coverage_gaps(assignment.plan, config.plans[assignment.plan], member),
        key=member_key(fingerprint, member, assignment), seq=seq,
        edition=assignment.edition, edition_reason=assignment.edition_reason,
        digital=digital_path(member.id, named) if assignment.plan in config.digital else "",
    )  # fmt: skip


def write_booklet(
    config: Config, content: BookletContent, path: Path, timeout: float = DEFAULT_TIMEOUT
) -> None:
    """Render just one member's booklet to ``path`` (``preview --pdf``), within ``timeout`` seconds."""
    if path.is_dir():
        raise UsageError(f"--pdf: {path} is a folder; give a file name such as {path / 'booklet.pdf'}")
    if not path.parent.is_dir():
        raise UsageError(f"--pdf: folder {path.parent} does not exist; create it or choose another file")
    renderer = Renderer(config)
    renderer.check_template()  # a template that cannot load or extends itself: a config error, exit 2
    try:
        with time_limit(timeout):
            data = renderer.pdf(content)
    except TimeUp:
        raise RenderError(timed_out(timeout)) from None
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise UsageError(f"--pdf: cannot write {path} ({exc.strerror or exc})") from None


def entry_dicts(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    return [asdict(e) for e in entries]
