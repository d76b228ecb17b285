"""``serve``: the plan table and any member's booklet in a browser, refreshed on every save."""

from __future__ import annotations

import contextlib
import time
from typing import Annotated

import typer

from packgen.cli import output as ui
from packgen.cli.app import ConfigOpt, EncodingOpt, ProfilesArg, SheetOpt, app, fail
from packgen.errors import PackgenError


@app.command()
def serve(
    profiles: ProfilesArg = None,
    config: ConfigOpt = None,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free port).")
    ] = 8000,
    host: Annotated[
        str,
        typer.Option(
            "--host", help="Address to listen on; 127.0.0.1 serves this machine only, 0.0.0.0 every network."
        ),
    ] = "127.0.0.1",
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", help="Seconds a booklet may take to render; past it, it fails.", min=0.1),
    ] = 120.0,
) -> None:
    """Live preview in a browser: plan table, any member's booklet, reload on save."""
    from packgen.serve import LiveServer, LiveWorkspace

    workspace = LiveWorkspace(config, profiles or [], encoding=encoding, sheet=sheet, timeout=timeout)
    workspace.reload()
    try:
        server = LiveServer(workspace, host, port, report=_say)
    except PackgenError as exc:
        fail(exc)
    ui.out.print(f"packgen serve: {server.url} (Ctrl-C stops)", markup=False)
    if not server.local:
        ui.err.print(
            f"warning: listening on {server.host}: anyone who can reach this machine on port "
            f"{server.port} sees the roster and every booklet",
            markup=False,
        )
    if workspace.error:
        ui.err.print(workspace.error, markup=False)
        ui.err.print("the page shows this error until the file is mended", markup=False)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a server is stopped
        server.run()
    ui.out.print("packgen serve: stopped", markup=False)


def _say(line: str) -> None:
    ui.err.print(f"{time.strftime('%H:%M:%S')} {line}", markup=False)
