"""What a build is asked to do, and what it made."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from packgen.outputs.delivery import Delivery
from packgen.outputs.manifest import Entry
from packgen.outputs.printrun import PrintRun
from packgen.processes import DEFAULT_TIMEOUT
from packgen.roster.members import Problem

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
    timeout: float = DEFAULT_TIMEOUT  #: seconds one booklet may take to render; past it, it fails alone
    #: WeasyPrint as it is, for every booklet: no shortcut, no shared parts (for bisecting a doubt)
    plain_render: bool = False
    #: saddle or none: an imposed copy of each print run; None: as the config's ``imposition: kind``
    impose: Literal["none", "saddle"] | None = None


@dataclass
class BuildResult:
    output: Path
    entries: list[Entry]
    problems: list[Problem]
    summary: dict[str, Any] = field(default_factory=dict)
    print_runs: list[PrintRun] = field(default_factory=list)
    delivery: Delivery = field(default_factory=Delivery)
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
