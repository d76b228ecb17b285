"""The web page of ``packgen serve``: a Starlette application over a :class:`LiveWorkspace`.

Pages are rendered on the server by Jinja with autoescaping (member data is untrusted) and a
Content-Security-Policy that runs no script but the page's own. A request reaches a file only
through a member id looked up among the roster's members: the PDF and page images are rendered to
memory, the static files are the package's own.

The page keeps an event stream open (``/events``, server-sent events). When a watched file is
saved, the workspace takes the change in (:meth:`LiveWorkspace.reload`), the booklets open in a
browser are rendered anew, and every page is told the new version; each fetches its content again
(``?fragment=1``) and swaps it in, without reloading.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
import unicodedata
import urllib.parse
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from watchfiles import awatch

from packgen.content.preview import MemberPreview
from packgen.errors import PackgenError
from packgen.serve.pages import POPPLER_MISSING
from packgen.serve.workspace import Booklet, LiveWorkspace

T = TypeVar("T")
HERE = Path(__file__).parent
#: a page's event stream says it is alive this often, so a closed tab is noticed
KEEP_ALIVE = 15.0
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
        "img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
Report = Callable[[str], None]


class Live:
    """The workspace, one caller at a time (rendering runs in a worker thread), and the pages
    listening for changes."""

    def __init__(self, workspace: LiveWorkspace, report: Report | None = None) -> None:
        self.workspace = workspace
        self.report = report or (lambda _: None)
        self.instance = uuid.uuid4().hex[:8]  #: a page from an earlier server refreshes on reconnecting
        self.open: Counter[str] = Counter()  #: member ids on screen, by how many pages show them
        self.closing = asyncio.Event()
        self._changed = asyncio.Event()
        self._lock = anyio.Lock()

    @property
    def version(self) -> str:
        return f"{self.instance}-{self.workspace.version}"

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        async with self._lock:
            return await anyio.to_thread.run_sync(function, *args)

    def publish(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def close(self) -> None:
        self.closing.set()
        self._changed.set()

    async def events(self, member: str) -> AsyncIterator[str]:
        """The event stream of one page: the current version now, then each new one."""
        self.open[member] += 1
        try:
            yield "retry: 1000\n\n"
            sent = ""
            while not self.closing.is_set():
                if self.version != sent:
                    sent = self.version
                    yield f"event: change\ndata: {json.dumps({'version': sent})}\n\n"
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), KEEP_ALIVE)
                    continue
                yield ": still here\n\n"
        finally:
            self.open[member] -= 1

    async def watch(self) -> None:
        """Take in each change to the watched files, render the open booklets, tell the pages."""
        while not self.closing.is_set():
            deep, flat = self.workspace.watched()
            changes: asyncio.Queue[set[Path]] = asyncio.Queue()
            stop = asyncio.Event()
            watchers = [
                asyncio.create_task(_watch(folders, recursive, changes, stop))
                for folders, recursive in ((deep, True), (flat, False))
                if folders
            ]
            try:
                while (deep, flat) == self.workspace.watched() and not self.closing.is_set():
                    changed = await changes.get()
                    while not changes.empty():
                        changed |= changes.get_nowait()
                    try:
                        await self.take_in(changed)
                    except Exception as exc:  # a bug: say it, and go on watching
                        self.report(f"could not take in the change: {type(exc).__name__}: {exc}")
            finally:
                stop.set()
                for task in watchers:
                    task.cancel()

    async def take_in(self, changed: set[Path]) -> None:
        started = time.perf_counter()
        kinds = await self.call(functools.partial(self.workspace.reload, changed, problems_later=True))
        if not kinds:
            return
        rendered = 0
        for member in [key for key, pages in self.open.items() if key and pages > 0]:
            before = self.workspace.renders
            await self.call(_quietly, self.workspace, member)
            rendered += self.workspace.renders - before
        self.publish()
        took = time.perf_counter() - started
        if await self.call(self.workspace.update_problems):
            self.publish()
        what = ", ".join(kind for kind in ("config", "templates", "materials", "roster") if kind in kinds)
        done = f"{what} changed: pages updated in {took:.2f} s"
        done += f" ({rendered} booklet{'' if rendered == 1 else 's'} rendered)" if rendered else ""
        self.report(done if not self.workspace.error else f"{what} changed: {self.workspace.error}")


async def _watch(
    folders: set[Path], recursive: bool, changes: asyncio.Queue[set[Path]], stop: asyncio.Event
) -> None:
    async for batch in awatch(*folders, recursive=recursive, stop_event=stop):
        await changes.put({Path(path) for _, path in batch})


def _quietly(workspace: LiveWorkspace, member: str) -> None:
    """Render a member's booklet ahead of the page asking for it (it says any error itself)."""
    if workspace.error:
        return
    with contextlib.suppress(PackgenError):
        workspace.booklet(workspace.preview(member))


def create_app(live: Live, *, hosts: list[str] | None = None) -> Starlette:
    """The application; ``hosts``: the host names a request may give (``None``: any)."""
    pages = _environment()

    def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
        fragment = request.query_params.get("fragment") == "1"
        name = template if fragment else "base.html.j2"
        html = pages.get_template(name).render(
            ws=live.workspace, version=live.version, fragment=template, **context
        )
        return HTMLResponse(
            html, status_code=status, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"}
        )

    async def plans(request: Request) -> Response:
        return page(request, "plans.html.j2")

    async def member(request: Request) -> Response:
        key = request.path_params["member_id"]
        try:
            found = await live.call(_member, live.workspace, key)
        except PackgenError as exc:
            return page(request, "member.html.j2", 404, missing=f"error: {exc}", member_key=key)
        if found is None:  # the page shows the workspace's error
            return page(request, "member.html.j2", member_key=key)
        return page(request, "member.html.j2", view=found[0], booklet=found[1], member_key=key)

    async def pdf(request: Request) -> Response:
        found = await _booklet(request)
        if isinstance(found, Response):
            return found
        filename = urllib.parse.quote(f"{found[0]}.pdf")
        headers = {"Content-Disposition": f"inline; filename*=UTF-8''{filename}", "Cache-Control": "no-store"}
        return Response(found[1].pdf, media_type="application/pdf", headers=headers)

    async def image(request: Request) -> Response:
        found = await _booklet(request)
        if isinstance(found, Response):
            return found
        booklet = found[1]
        try:
            png = await anyio.to_thread.run_sync(booklet.image, request.path_params["number"])
        except LookupError as exc:
            return PlainTextResponse(str(exc), 404)
        current = request.query_params.get("v") == booklet.key[:16]
        cache = "max-age=86400, immutable" if current else "no-store"
        return Response(png, media_type="image/png", headers={"Cache-Control": cache})

    async def _booklet(request: Request) -> tuple[str, Booklet] | Response:
        """The booklet of the member in the path, or the response saying why there is none."""
        try:
            found = await live.call(_member, live.workspace, request.path_params["member_id"])
        except PackgenError as exc:
            return PlainTextResponse(f"error: {exc}", 404)
        if found is None:
            return PlainTextResponse(live.workspace.error, 503)
        view, booklet = found
        if booklet.error:
            return PlainTextResponse(booklet.error, 409)
        return view.content.member.id, booklet

    async def events(request: Request) -> Response:
        stream = live.events(request.query_params.get("member", ""))
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watcher = asyncio.create_task(live.watch())
        try:
            yield
        finally:
            live.close()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    routes = [
        Route("/", plans),
        Route("/events", events),
        Route("/member/{member_id:path}/booklet.pdf", pdf),
        Route("/member/{member_id:path}/page/{number:int}.png", image),
        Route("/member/{member_id:path}", member),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=hosts)] if hosts else []
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


def _member(workspace: LiveWorkspace, key: str) -> tuple[MemberPreview, Booklet] | None:
    """The member's preview and booklet; ``None`` while the workspace has an error."""
    if workspace.error:
        return None
    view = workspace.preview(key)
    return view, workspace.booklet(view)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # member data is untrusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(member_url=member_url, searchable=searchable, POPPLER_MISSING=POPPLER_MISSING)
    return env


def member_url(member_id: str, tail: str = "") -> str:
    return "/member/" + urllib.parse.quote(member_id, safe="") + tail


def searchable(*parts: str) -> str:
    """What the search box matches a row against: its words as typed with any input method."""
    return unicodedata.normalize("NFKC", " ".join(parts)).lower()
