"""Build many booklets at once: read the roster, assign plans, render in workers, write the manifest.

:func:`build` reads as the pipeline it is. It never prints; progress goes to an optional callback,
so the CLI (or a script) decides how to show it.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from packgen.config import Config
from packgen.errors import PackgenError, UsageError
from packgen.manifest import Entry, summarize, write_manifest
from packgen.members import Member, Problem, Roster, load_roster
from packgen.plans import booklet_content, coverage_gaps
from packgen.render import Renderer, write_atomic
from packgen.rules import Assignment, assign_plans

BOOKLETS_DIR = "booklets"
Progress = Callable[[Entry, int, int], None]


@dataclass
class BuildOptions:
    output: Path
    jobs: int = 0  #: 0: one worker per core
    only: set[str] | None = None
    plans: set[str] | None = None
    branches: set[str] | None = None


@dataclass
class BuildResult:
    output: Path
    entries: list[Entry]
    problems: list[Problem]
    summary: dict[str, object] = field(default_factory=dict)

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
    roster = load_roster(paths, config.columns, encoding=encoding, sheet=sheet)
    return roster, assign_plans(config, roster.members)


def select(
    assigned: Iterable[tuple[Member, Assignment]], options: BuildOptions
) -> list[tuple[Member, Assignment]]:
    chosen = [
        (m, a)
        for m, a in assigned
        if (options.only is None or m.id in options.only)
        and (options.plans is None or a.plan in options.plans)
        and (options.branches is None or m.branch in options.branches)
    ]
    if options.only:
        unknown = options.only - {m.id for m, _ in assigned}
        if unknown:
            raise UsageError(f"--only: no member with id {', '.join(sorted(unknown))} in the profiles")
    return chosen


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
) -> BuildResult:
    """Build every selected member's booklet, then the manifest. One failing member never stops the rest."""
    options = options or BuildOptions(output=config.resolve(config.output))
    roster, assigned = read_and_assign(config, profiles, encoding=encoding, sheet=sheet)
    chosen = select(assigned, options)
    output = options.output
    (output / BOOKLETS_DIR).mkdir(parents=True, exist_ok=True)

    entries = _render_all(config, chosen, output, options.jobs, progress)
    order = {m.id: i for i, (m, _) in enumerate(chosen)}
    entries.sort(key=lambda e: order[e.id])
    summary = summarize(entries)
    write_manifest(output, entries, summary)
    return BuildResult(output=output, entries=entries, problems=roster.problems, summary=summary)


def _render_all(
    config: Config,
    chosen: list[tuple[Member, Assignment]],
    output: Path,
    jobs: int,
    progress: Progress | None,
) -> list[Entry]:
    jobs = jobs or os.cpu_count() or 1
    entries: list[Entry] = []
    if jobs == 1 or len(chosen) <= 1:
        _init_worker(config)
        for member, assignment in chosen:
            entries.append(_build_one(member, assignment, output))
            if progress:
                progress(entries[-1], len(entries), len(chosen))
        return entries
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(config,)) as pool:
        futures = [pool.submit(_build_one, m, a, output) for m, a in chosen]
        for future in as_completed(futures):
            entries.append(future.result())
            if progress:
                progress(entries[-1], len(entries), len(chosen))
    return entries


_renderer: Renderer | None = None


def _init_worker(config: Config) -> None:
    global _renderer
    _renderer = Renderer(config)


def _build_one(member: Member, assignment: Assignment, output: Path) -> Entry:
    assert _renderer is not None, "worker not initialised"
    config = _renderer.config
    relative = f"{BOOKLETS_DIR}/{booklet_filename(member.id)}"
    entry = Entry(
        id=member.id, name=member.name, branch=member.branch, plan=assignment.plan,
        reason=assignment.explanation, rule=assignment.rule, file=relative, route=member.route,
        gaps=coverage_gaps(assignment.plan, config.plans[assignment.plan], member),
    )  # fmt: skip
    try:
        data = _renderer.pdf(booklet_content(config, member, assignment))
    except PackgenError as exc:
        entry.status, entry.error, entry.file = "failed", str(exc), ""
        return entry
    except Exception as exc:  # a bug or a library failure for one member must not stop the batch
        entry.status, entry.error, entry.file = "failed", f"{type(exc).__name__}: {exc}", ""
        return entry
    write_atomic(output / relative, data)
    entry.pages = pdf_page_count(data)
    entry.sha256 = hashlib.sha256(data).hexdigest()
    return entry


def pdf_page_count(data: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)
