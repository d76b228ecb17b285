"""The ``packgen`` application: its options, its consoles, and how it says an error.

Exit codes: 0 all good; 1 some members failed or the profiles have errors (the rest still
built); 2 usage, config or unreadable input (nothing built). A user's mistake never shows a
traceback: every :class:`~packgen.errors.PackgenError` becomes one clear message on stderr.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from packgen import __version__
from packgen.cli import output
from packgen.errors import PackgenError

app = typer.Typer(
    name="packgen",
    help="Personalised, print-ready study booklets for a roster of floating members.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (default: ./packgen.yaml, else built-in).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout, nothing else.")]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only errors and warnings (no progress, no tables).")
]
ProfilesArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Profile files or folders (default: the config's profiles, ./profiles).", show_default=False
    ),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option("--encoding", help="Force the encoding of CSV and YAML profiles (utf-8, gb18030, big5 …)."),
]
PlanOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--plan",
        help="Only members on this plan (self_study, online, delivered, or its label: 送学上门 …); repeatable.",
    ),
]
BranchOpt = Annotated[
    list[str] | None, typer.Option("--branch", help="Only members of this branch; repeatable.")
]
SheetOpt = Annotated[
    str | None, typer.Option("--sheet", help="Excel sheet to read, by name or number (default: the first).")
]


def fail(exc: PackgenError, as_json: bool = False) -> NoReturn:
    """Say what went wrong and exit; with --json, stdout gets it as data too (a script reads one stream)."""
    output.err.print(f"error: {exc}", markup=False)
    if as_json:
        emit_json({"ok": False, "exit_code": exc.exit_code, "error": str(exc)})
    raise typer.Exit(exc.exit_code)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _version(value: bool) -> None:
    if value:
        output.out.print(f"packgen {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Personalised, print-ready study booklets for a roster of floating members."""


def main() -> None:
    if os.environ.get("NO_COLOR"):
        output.out.no_color = output.err.no_color = True
    app()
