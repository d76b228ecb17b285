"""``init`` and ``doctor``: a new workspace, and what this machine has."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from packgen.cli import output as ui
from packgen.cli.app import (
    JsonOpt,
    app,
    emit_json,
    fail,
)
from packgen.errors import PackgenError

if TYPE_CHECKING:
    pass


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing packgen.yaml.")] = False,
) -> None:
    """Scaffold a workspace: packgen.yaml, profiles/, templates/, output/."""
    from packgen.config.workspace import init_workspace

    try:
        created = init_workspace(directory, force=force)
    except PackgenError as exc:
        fail(exc)
    for path in created:
        ui.out.print(f"created {path}", markup=False)
    step = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory}, "
    ui.out.print(
        f"next: put your roster in {directory / 'profiles'}, {step}then run `packgen build`", markup=False
    )
    ui.out.print(
        "while you edit the config, chapters and roster, `packgen serve` shows the plans and any "
        "booklet in a browser, refreshed on every save",
        markup=False,
    )


@app.command()
def doctor(as_json: JsonOpt = False) -> None:
    """What the machine has: WeasyPrint libs, fonts covering Chinese, versions."""
    from packgen.render.machine import diagnose
    from packgen.views.doctor import show_diagnosis

    report = diagnose()
    if as_json:
        emit_json(report)
    else:
        show_diagnosis(ui.out, report)
    raise typer.Exit(0 if report["ok"] else 1)
