"""The ``packgen`` command line: parse options, call the library, format the result.

Exit codes: 0 all good; 1 some members failed or the profiles have errors (the rest still
built); 2 usage, config or unreadable input (nothing built). A user's mistake never shows a
traceback: every :class:`~packgen.errors.PackgenError` becomes one clear message on stderr.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from packgen import __version__
from packgen.config import load_config
from packgen.errors import PackgenError, UsageError

if TYPE_CHECKING:
    from packgen.build import BuildResult
    from packgen.config import Config

app = typer.Typer(
    name="packgen",
    help="Personalised, print-ready study booklets for a roster of floating members.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

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
    err.print(f"error: {exc}", markup=False)
    if as_json:
        emit_json({"ok": False, "exit_code": exc.exit_code, "error": str(exc)})
    raise typer.Exit(exc.exit_code)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


@app.command()
def validate(
    profiles: ProfilesArg = None,
    config: ConfigOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check profiles and config; every problem with file, row and column."""
    from packgen.build import read_and_assign
    from packgen.plans import coverage_problems
    from packgen.render import Renderer

    try:
        cfg = load_config(config)
        renderer = Renderer(cfg)
        renderer.check_template()
        roster, assigned = read_and_assign(cfg, profiles or [], encoding=encoding, sheet=sheet)
        roster.problems += coverage_problems(cfg, assigned) + renderer.stylesheet_problems()
    except PackgenError as exc:
        fail(exc, as_json)
    errors, warnings = roster.errors, roster.warnings
    failed = bool(errors) or (strict and bool(warnings))
    if as_json:
        emit_json(
            {
                "ok": not failed,
                "members": len(roster.members),
                "errors": len(errors),
                "warnings": len(warnings),
                "problems": [p.as_dict() for p in roster.problems],
            }  # fmt: skip
        )
    else:
        for problem in roster.problems:
            err.print(f"{problem.severity}: {problem}", markup=False)
        if not quiet:
            summary = f"{_count(len(roster.members), 'member')} read; {_count(len(errors), 'error')}, "
            summary += _count(len(warnings), "warning")
            if strict and warnings and not errors:
                summary += " (--strict: warnings fail)"
            out.print(summary, markup=False)
    raise typer.Exit(1 if failed else 0)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@app.command()
def plan(
    profiles: ProfilesArg = None,
    config: ConfigOpt = None,
    plan_filter: PlanOpt = None,
    branch: BranchOpt = None,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Also write the plan to FILE: .xlsx (members, counts, gaps) or .csv."),
    ] = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Who gets which plan and why; counts per plan and branch; who cannot be served."""
    from packgen.build import read_and_assign
    from packgen.plans import plan_report

    try:
        cfg = load_config(config)
        roster, assigned = read_and_assign(cfg, profiles or [], encoding=encoding, sheet=sheet)
        report = plan_report(cfg, assigned, plans=plan_filter, branches=branch)
        if export is not None:
            from packgen.report import plan_frames, write_plan_export

            write_plan_export(export, plan_frames(cfg, report))
    except PackgenError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json({**report.as_dict(), "problems": [p.as_dict() for p in roster.problems]})
        raise typer.Exit(1 if roster.errors else 0)
    for problem in roster.problems:
        err.print(f"{problem.severity}: {problem}", markup=False)
    if not quiet:
        from packgen.preview import plan_tables

        for renderable in plan_tables(cfg, report):
            out.print(renderable)
        if export is not None:
            out.print(f"exported: {export}", markup=False)
    raise typer.Exit(1 if roster.errors else 0)


@app.command()
def preview(
    member: Annotated[str, typer.Argument(help="Member id or exact name.")],
    profiles: Annotated[
        list[Path] | None, typer.Option("--profiles", "-p", help="Profile file or folder (repeatable).")
    ] = None,
    config: ConfigOpt = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Also render just this booklet to FILE.")] = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One member's plan in the terminal; --pdf FILE renders just that booklet."""
    from packgen.build import read_and_assign
    from packgen.preview import member_preview, show_preview

    try:
        cfg = load_config(config)
        roster, assigned = read_and_assign(cfg, profiles or [], encoding=encoding, sheet=sheet)
        view = member_preview(cfg, assigned, member, roster.problems)
        if pdf is not None:
            from packgen.preview import write_booklet

            write_booklet(cfg, view, pdf)
    except PackgenError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json({**view.as_dict(), "pdf": str(pdf) if pdf else None})
        return
    show_preview(out, cfg, view)
    if pdf is not None:
        out.print(f"booklet written to {pdf}", markup=False)


PrintRunOpt = Annotated[
    str,
    typer.Option(
        "--print-run", help="Combined PDFs for the print shop: plan (one per plan), all (one file) or none."
    ),
]
PadToOpt = Annotated[
    int,
    typer.Option(
        "--pad-to", help="Pad each booklet in the print run to a multiple of N pages (4: saddle stitch)."
    ),
]
OrderOpt = Annotated[
    str,
    typer.Option(
        "--order", help="Print run and delivery order: auto (route for delivered), branch or route."
    ),
]


def _print_choices(print_run: str, order: str) -> None:
    if print_run not in ("plan", "all", "none"):
        raise UsageError(f"--print-run {print_run}: use plan, all or none")
    if order not in ("auto", "branch", "route"):
        raise UsageError(f"--order {order}: use auto, branch or route")


@app.command()
def build(
    profiles: ProfilesArg = None,
    config: ConfigOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output folder (default: ./output).")
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", "-j", help="Worker processes (default: 0, one per core).", min=0, show_default=False
        ),
    ] = 0,
    only: Annotated[
        str | None, typer.Option("--only", help="Only these member ids, comma separated.")
    ] = None,
    plan_filter: PlanOpt = None,
    branch: BranchOpt = None,
    shard: Annotated[
        str | None, typer.Option("--shard", help="Build the K-th of N stable shares of the members (K/N).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild every booklet, changed or not.")] = False,
    print_run: PrintRunOpt = "plan",
    pad_to: PadToOpt = 2,
    order: OrderOpt = "auto",
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """All booklets, print run, delivery list and labels, manifest."""
    from packgen.build import BuildOptions, parse_shard
    from packgen.build import build as run_build
    from packgen.progress import progress_reporter, stage_reporter

    try:
        cfg = load_config(config)
        _print_choices(print_run, order)
        options = BuildOptions(
            output=(output or cfg.resolve(cfg.output)).resolve(),
            jobs=jobs,
            only={part.strip() for part in only.split(",") if part.strip()} if only else None,
            plans=set(plan_filter) if plan_filter else None,
            branches=set(branch) if branch else None,
            force=force,
            shard=parse_shard(shard) if shard else None,
            print_run=print_run,  # type: ignore[arg-type]
            pad_to=pad_to,
            order=order,  # type: ignore[arg-type]
        )
        with progress_reporter(err, enabled=not (quiet or as_json)) as report:
            stage = stage_reporter(err, enabled=not (quiet or as_json))
            result = run_build(
                cfg, profiles or [], options, encoding=encoding, sheet=sheet, progress=report, stage=stage
            )
        _show_result(cfg, result, as_json=as_json, quiet=quiet)  # Ctrl-C here too: no traceback
    except PackgenError as exc:
        fail(exc, as_json)
    except KeyboardInterrupt:
        # past rich: a Ctrl-C landing as rich ends a print leaves its console buffering for good
        print(
            "interrupted: finished booklets are kept; run the same command again to resume", file=sys.stderr
        )
        raise typer.Exit(130) from None


@app.command()
def merge(
    sources: Annotated[list[Path], typer.Argument(help="Output folders of shard builds (--shard K/N).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to merge into.")],
    config: ConfigOpt = None,
    print_run: PrintRunOpt = "plan",
    pad_to: PadToOpt = 2,
    order: OrderOpt = "auto",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Combine shard outputs into one manifest, print run and delivery list."""
    from packgen.build import BuildOptions
    from packgen.build import merge as run_merge

    try:
        cfg = load_config(config)
        _print_choices(print_run, order)
        options = BuildOptions(output=output.resolve(), print_run=print_run, pad_to=pad_to, order=order)  # type: ignore[arg-type]
        from packgen.progress import stage_reporter

        result = run_merge(cfg, sources, options, stage=stage_reporter(err, enabled=not (quiet or as_json)))
    except PackgenError as exc:
        fail(exc, as_json)
    _show_result(cfg, result, as_json=as_json, quiet=quiet)


def _first_ids(ids: list[str]) -> str:
    """The first ten ids of a note, and … when there are more."""
    return ", ".join(ids[:10]) + (" …" if len(ids) > 10 else "")


def _show_result(cfg: Config, result: BuildResult, *, as_json: bool, quiet: bool) -> NoReturn:
    from packgen.build import BOOKLETS_DIR, entry_dicts

    if as_json:
        emit_json(
            {
                "output": str(result.output),
                "exit_code": result.exit_code,
                "summary": result.summary,
                "problems": [p.as_dict() for p in result.problems],
                "failed": [{"id": e.id, "error": e.error} for e in result.failed],
                "members": entry_dicts(result.entries),
                "print_runs": [{k: v for k, v in r.items() if k != "booklets"} for r in result.print_runs],
                "delivery": {k: v for k, v in result.delivery.items() if k != "rows"},
                "left_out": result.left_out,
                "removed": result.removed,
            }  # fmt: skip
        )
        raise typer.Exit(result.exit_code)
    for problem in result.problems:
        err.print(f"{problem.severity}: {problem}", markup=False)
    for entry in result.failed:
        if entry.plan:  # a row with errors has no plan: its errors are printed above, as problems
            err.print(f"failed: {entry.id} {entry.name}: {entry.error}", markup=False)
    if result.left_out:
        err.print(
            f"note: {len(result.left_out)} member(s) outside this selection changed since their booklet "
            f"here and are left out of the print runs: {_first_ids(result.left_out)}; a build without "
            "--only, --plan and --branch renders them",
            markup=False,
        )
    if result.removed:
        err.print(
            f"note: removed the booklets of {len(result.removed)} member(s) no longer in the profiles "
            f"from {result.output / BOOKLETS_DIR}: {_first_ids(result.removed)}",
            markup=False,
        )
    if not quiet:
        from packgen.progress import summary_table

        out.print(summary_table(cfg, result))
        for run in result.print_runs:
            out.print(f"print run: {result.output / run['file']} ({run['pages']} pages)", markup=False)
        if result.delivery:
            out.print(f"delivery list: {result.output / result.delivery['list']}", markup=False)
            if result.delivery.get("labels_file"):
                out.print(f"address labels: {result.output / result.delivery['labels_file']}", markup=False)
        out.print(f"manifest: {result.output / 'manifest.json'}", markup=False)
    raise typer.Exit(result.exit_code)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing packgen.yaml.")] = False,
) -> None:
    """Scaffold a workspace: packgen.yaml, profiles/, templates/, output/."""
    from packgen.workspace import init_workspace

    try:
        created = init_workspace(directory, force=force)
    except PackgenError as exc:
        fail(exc)
    for path in created:
        out.print(f"created {path}", markup=False)
    step = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory}, "
    out.print(
        f"next: put your roster in {directory / 'profiles'}, {step}then run `packgen build`", markup=False
    )


@app.command()
def doctor(as_json: JsonOpt = False) -> None:
    """What the machine has: WeasyPrint libs, fonts covering Chinese, versions."""
    from packgen.doctor import diagnose, show_diagnosis

    report = diagnose()
    if as_json:
        emit_json(report)
    else:
        show_diagnosis(out, report)
    raise typer.Exit(0 if report["ok"] else 1)


def _version(value: bool) -> None:
    if value:
        out.print(f"packgen {__version__}", markup=False)
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
        out.no_color = err.no_color = True
    app()
