"""``validate``, ``plan`` and ``preview``: the roster, each member's plan, one member's booklet."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from packgen.cli import output as ui
from packgen.cli.app import (
    BranchOpt,
    ConfigOpt,
    EncodingOpt,
    JsonOpt,
    PlanOpt,
    ProfilesArg,
    QuietOpt,
    SheetOpt,
    app,
    emit_json,
    fail,
)
from packgen.config import load_config
from packgen.errors import PackgenError

if TYPE_CHECKING:
    pass


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
    from packgen.build.pipeline import check

    try:
        cfg = load_config(config)
        roster = check(cfg, profiles or [], encoding=encoding, sheet=sheet).roster
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
        ui.problems(roster.problems)
        if not quiet:
            summary = f"{_count(len(roster.members), 'member')} read; {_count(len(errors), 'error')}, "
            summary += _count(len(warnings), "warning")
            if strict and warnings and not errors:
                summary += " (--strict: warnings fail)"
            ui.out.print(summary, markup=False)
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
    from packgen.build.pipeline import read_and_assign
    from packgen.content.plans import plan_report

    try:
        cfg = load_config(config)
        roster, assigned = read_and_assign(cfg, profiles or [], encoding=encoding, sheet=sheet)
        report = plan_report(cfg, assigned, plans=plan_filter, branches=branch)
        if export is not None:
            from packgen.outputs.report import plan_frames, write_plan_export

            write_plan_export(export, plan_frames(cfg, report))
    except PackgenError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json({**report.as_dict(), "problems": [p.as_dict() for p in roster.problems]})
        raise typer.Exit(1 if roster.errors else 0)
    ui.problems(roster.problems)
    if not quiet:
        from packgen.views.preview import plan_tables

        for renderable in plan_tables(cfg, report):
            ui.out.print(renderable)
        if export is not None:
            ui.out.print(f"exported: {export}", markup=False)
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
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", help="Seconds the --pdf booklet may take to render; past it, it fails.", min=0.1
        ),
    ] = 120.0,
) -> None:
    """One member's plan in the terminal; --pdf FILE renders just that booklet."""
    from packgen.build.pipeline import read_and_assign
    from packgen.content.preview import member_preview
    from packgen.views.preview import show_preview

    try:
        cfg = load_config(config)
        roster, assigned = read_and_assign(cfg, profiles or [], encoding=encoding, sheet=sheet)
        view = member_preview(cfg, assigned, member, roster.problems)
        if pdf is not None:
            from packgen.build.pipeline import write_booklet

            write_booklet(cfg, view.content, pdf, timeout)
    except PackgenError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json({**view.as_dict(), "pdf": str(pdf) if pdf else None})
        return
    show_preview(ui.out, cfg, view)
    if pdf is not None:
        ui.out.print(f"booklet written to {pdf}", markup=False)
