"""``build`` and ``merge``: booklets, print runs, delivery list and manifest."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

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
from packgen.errors import PackgenError, UsageError

if TYPE_CHECKING:
    from packgen.build.options import BuildResult
    from packgen.config.schema import Config


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
ImposeOpt = Annotated[
    str | None,
    typer.Option(
        "--impose",
        help="saddle: beside each print run, a copy imposed two pages a side for an office duplex "
        "printer (fold and staple); none: no copy. Default: the config's imposition: kind.",
    ),
]
OrderOpt = Annotated[
    str,
    typer.Option(
        "--order", help="Print run and delivery order: auto (route for delivered), branch or route."
    ),
]


def _print_choices(print_run: str, order: str, impose: str | None = None) -> None:
    if print_run not in ("plan", "all", "none"):
        raise UsageError(f"--print-run {print_run}: use plan, all or none")
    if order not in ("auto", "branch", "route"):
        raise UsageError(f"--order {order}: use auto, branch or route")
    if impose not in (None, "saddle", "none"):
        raise UsageError(f"--impose {impose}: use saddle or none")


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
        str | None,
        typer.Option(
            "--shard",
            help="Build the K-th of N stable shares of the members (K/N), or 'auto': K and N from "
            "PACKGEN_SHARD, GitLab CI parallel:, a Kubernetes Indexed Job or a Slurm job array.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild every booklet, changed or not.")] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", help="Seconds one booklet may take to render; past it, that member fails.", min=0.1
        ),
    ] = 120.0,
    plain_render: Annotated[
        bool,
        typer.Option(
            "--plain-render",
            help="Render every booklet with WeasyPrint as it is: no shortcut, no shared parts (slower; "
            "for bisecting a doubt). PACKGEN_PLAIN_RENDER=1 does the same.",
        ),
    ] = False,
    print_run: PrintRunOpt = "plan",
    pad_to: PadToOpt = 2,
    order: OrderOpt = "auto",
    impose: ImposeOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """All booklets, print run, delivery list and labels, manifest."""
    from packgen.build.options import BuildOptions
    from packgen.build.pipeline import build as run_build
    from packgen.build.selection import parse_shard, shard_from_environment
    from packgen.render import accel
    from packgen.views.progress import progress_reporter, stage_reporter

    try:
        cfg = load_config(config)
        _print_choices(print_run, order, impose)
        share, from_where = None, ""
        if shard and shard.strip().lower() == "auto":
            share, from_where = shard_from_environment(os.environ)
        elif shard:
            share = parse_shard(shard)
        options = BuildOptions(
            output=(output or cfg.resolve(cfg.output)).resolve(),
            jobs=jobs,
            only={part.strip() for part in only.split(",") if part.strip()} if only else None,
            plans=set(plan_filter) if plan_filter else None,
            branches=set(branch) if branch else None,
            force=force,
            shard=share,
            print_run=print_run,  # type: ignore[arg-type]
            pad_to=pad_to,
            order=order,  # type: ignore[arg-type]
            timeout=timeout,
            plain_render=plain_render,
            impose=impose,  # type: ignore[arg-type]
        )
        shortcuts = accel.status(plain_render)
        if shortcuts != "on" and not (quiet or as_json):
            ui.err.print(f"note: rendering shortcuts {shortcuts}", markup=False)
        if from_where and not quiet:
            ui.err.print(f"note: building {from_where}", markup=False)
        with progress_reporter(ui.err, enabled=not (quiet or as_json)) as report:
            stage = stage_reporter(ui.err, enabled=not (quiet or as_json))
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
    impose: ImposeOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Combine shard outputs into one manifest, print run and delivery list."""
    from packgen.build.merge import merge as run_merge
    from packgen.build.options import BuildOptions

    try:
        cfg = load_config(config)
        _print_choices(print_run, order, impose)
        options = BuildOptions(
            output=output.resolve(),
            print_run=print_run,  # type: ignore[arg-type]
            pad_to=pad_to,
            order=order,  # type: ignore[arg-type]
            impose=impose,  # type: ignore[arg-type]
        )
        from packgen.views.progress import stage_reporter

        result = run_merge(
            cfg, sources, options, stage=stage_reporter(ui.err, enabled=not (quiet or as_json))
        )
    except PackgenError as exc:
        fail(exc, as_json)
    _show_result(cfg, result, as_json=as_json, quiet=quiet)


def _first_ids(ids: list[str]) -> str:
    """The first ten ids of a note, and … when there are more."""
    return ", ".join(ids[:10]) + (" …" if len(ids) > 10 else "")


def _show_result(cfg: Config, result: BuildResult, *, as_json: bool, quiet: bool) -> NoReturn:
    from packgen.build.pipeline import entry_dicts
    from packgen.outputs.paths import BOOKLETS_DIR

    if as_json:
        emit_json(
            {
                "output": str(result.output),
                "exit_code": result.exit_code,
                "summary": result.summary,
                "problems": [p.as_dict() for p in result.problems],
                "failed": [{"id": e.id, "error": e.error} for e in result.failed],
                "members": entry_dicts(result.entries),
                "print_runs": [run.summary() for run in result.print_runs],
                "delivery": result.delivery.summary(),
                "left_out": result.left_out,
                "removed": result.removed,
            }  # fmt: skip
        )
        raise typer.Exit(result.exit_code)
    ui.problems(result.problems)
    for entry in result.failed:
        if entry.plan:  # a row with errors has no plan: its errors are printed above, as problems
            ui.err.print(f"failed: {entry.id} {entry.name}: {entry.error}", markup=False)
    if result.left_out:
        ui.err.print(
            f"note: {len(result.left_out)} member(s) outside this selection changed since their booklet "
            f"here and are left out of the print runs: {_first_ids(result.left_out)}; a build without "
            "--only, --plan and --branch renders them",
            markup=False,
        )
    if result.removed:
        ui.err.print(
            f"note: removed the booklets of {len(result.removed)} member(s) no longer in the profiles "
            f"from {result.output / BOOKLETS_DIR}: {_first_ids(result.removed)}",
            markup=False,
        )
    if not quiet:
        from packgen.views.progress import summary_table

        ui.out.print(summary_table(cfg, result))
        for run in result.print_runs:
            ui.out.print(f"print run: {result.output / run.file} ({run.pages} pages)", markup=False)
            if run.imposed:
                ui.out.print(
                    f"imposed for a duplex printer: {result.output / run.imposed} ({run.imposed_sheets} sheets)",
                    markup=False,
                )
        digital = [e for e in result.entries if e.digital and e.status != "failed"]
        if digital:
            ui.out.print(
                f"digital editions: {result.output / 'digital'} ({len(digital)} members)", markup=False
            )
        if result.delivery:
            ui.out.print(f"delivery list: {result.output / result.delivery.list_file}", markup=False)
            if result.delivery.labels_file:
                ui.out.print(f"address labels: {result.output / result.delivery.labels_file}", markup=False)
        ui.out.print(f"manifest: {result.output / 'manifest.json'}", markup=False)
    raise typer.Exit(result.exit_code)
