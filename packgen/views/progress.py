"""How a build shows progress: a rich bar on a terminal, one plain line per booklet in CI logs."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from packgen.build.options import BuildResult
from packgen.build.workers import Progress as ProgressCallback
from packgen.config.schema import Config
from packgen.outputs.manifest import Entry


@contextlib.contextmanager
def progress_reporter(console: Console, *, enabled: bool = True) -> Iterator[ProgressCallback | None]:
    if not enabled:
        yield None
        return
    if not console.is_terminal:

        def line(entry: Entry, done: int, total: int) -> None:
            detail = f": {entry.error}" if entry.error else ""
            console.print(f"[{done}/{total}] {entry.status} {entry.id} {entry.name}{detail}", markup=False)

        yield line
        return
    bar = Progress(
        TextColumn("[bold]booklets"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    with bar:
        task = bar.add_task("build", total=None)

        def update(entry: Entry, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def stage_reporter(console: Console, *, enabled: bool = True) -> Callable[[str], None] | None:
    """One line when the build moves on from booklets to print runs, delivery and the manifest."""
    if not enabled:
        return None

    def stage(what: str) -> None:
        console.print(f"writing {what}", markup=False, style="dim")

    return stage


def summary_table(config: Config, result: BuildResult) -> Table:
    table = Table(title=f"built into {result.output}", title_justify="left")
    table.add_column("plan")
    for status in ("built", "unchanged", "failed"):
        table.add_column(status, justify="right")
    counts = Counter((e.plan, e.status) for e in result.entries)
    for key in config.plans:
        if any(e.plan == key for e in result.entries):
            table.add_row(
                config.plans[key].label, *(str(counts[(key, s)]) for s in ("built", "unchanged", "failed"))
            )
    table.add_section()
    total = Counter(e.status for e in result.entries)
    table.add_row("total", *(str(total[s]) for s in ("built", "unchanged", "failed")))
    return table
