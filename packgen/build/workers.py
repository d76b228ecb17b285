"""Render booklets in worker processes: a few tasks queued at a time, a dead worker failing only its
booklet, Ctrl-C finishing the booklets in hand.

Every booklet is written under a temporary name that does not end in ``.pdf``, recorded in the
build journal, then renamed: a killed build leaves only complete booklets, each one known to the
next build, which reports it ``unchanged`` instead of rendering it again.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from packgen.config.schema import Config
from packgen.content.plans import booklet_content
from packgen.errors import PackgenError
from packgen.files import atomic_output
from packgen.outputs.manifest import Entry, append_journal
from packgen.processes import end_with_parent
from packgen.render.booklet import Renderer
from packgen.roster.members import Member
from packgen.rules.ruleset import Assignment

SHARED_DIR = ".packgen-shared"  #: the render workers' shared parts during a build
WORKER_DIED = (
    "the worker process rendering this booklet died (out of memory, or killed); run the build again to retry"
)
Progress = Callable[[Entry, int, int], None]


def render_all(
    config: Config,
    todo: list[tuple[Member, Assignment, Entry]],
    output: Path,
    jobs: int,
    progress: Progress | None,
    stop_if_interrupted: Callable[[], None],
    *,
    offset: int,
    total: int,
    plain: bool = False,
) -> list[Entry]:
    """Render ``todo`` in-process (one job) or in a pool, never more than a few tasks queued at once.

    ``plain``: WeasyPrint as it is (no shortcut, no shared parts) for every booklet."""
    if not todo:
        return []  # nothing to render: no worker started, WeasyPrint never imported
    jobs = min(jobs or os.cpu_count() or 1, len(todo))
    entries: list[Entry] = []

    def report(entry: Entry) -> None:
        entries.append(entry)
        if progress:
            progress(entry, offset + len(entries), total)
        stop_if_interrupted()

    if jobs == 1:
        _init_worker(config, None, plain)
        frozen_before = gc.get_freeze_count()
        try:
            for member, assignment, entry in todo:
                report(_build_one(member, assignment, entry, output))
        finally:
            if not frozen_before:  # this process goes on after the build: the collector sees all again
                gc.unfreeze()
        return entries
    pending = iter(todo)
    shared: Path | None = output / SHARED_DIR  # where the workers leave shared parts for one another
    try:  # under the output folder's lock: what is there was left by a killed build
        shutil.rmtree(output / SHARED_DIR, ignore_errors=True)
        (output / SHARED_DIR).mkdir()
    except OSError:  # cannot write there: each worker renders the shared parts itself
        shared = None
    pool: ProcessPoolExecutor | None = None
    running: dict[Future[Entry], Entry] = {}
    try:
        while True:
            if pool is None:
                pool = ProcessPoolExecutor(
                    max_workers=jobs, initializer=_init_pool_worker, initargs=(config, shared, plain)
                )
            for member, assignment, entry in pending:
                running[pool.submit(_build_one, member, assignment, entry, output)] = entry
                if len(running) >= 2 * jobs:
                    break
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                entry = running.pop(future)
                try:
                    report(future.result())
                except BrokenProcessPool:  # a worker was killed (out of memory? Ctrl-C?) or crashed
                    stop_if_interrupted()  # Ctrl-C: not a failed booklet
                    entry.status, entry.error, entry.file = "failed", WORKER_DIED, ""
                    report(entry)
                    if pool is not None:
                        pool.shutdown(wait=False, cancel_futures=True)
                    pool = None  # the rest go to a fresh pool; running ones fail the same way
        if pool is not None:
            pool.shutdown()
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)
    return entries


@contextlib.contextmanager
def stop_between_booklets() -> Iterator[Callable[[], None]]:
    """While booklets render, a Ctrl-C finishes the booklet in hand and stops; a second stops at once.

    Python raises ``KeyboardInterrupt`` wherever the main thread is; inside a finalizer (a ``__del__``,
    a weakref callback, which WeasyPrint and importlib run often) it is only printed as "Exception
    ignored" and the build goes on (seen in CI). A flag checked between booklets cannot be lost that
    way. Yields the check, which raises ``KeyboardInterrupt`` once Ctrl-C was pressed. Left alone when
    the caller handles SIGINT itself or this is not the main thread.
    """
    pressed = 0

    def on_ctrl_c(signum: int, frame: Any) -> None:
        nonlocal pressed
        pressed += 1
        if pressed > 1:
            raise KeyboardInterrupt

    def stop_if_interrupted() -> None:
        if pressed:
            raise KeyboardInterrupt

    in_main_thread = threading.current_thread() is threading.main_thread()
    if not in_main_thread or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield stop_if_interrupted
        return
    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield stop_if_interrupted
    finally:
        signal.signal(signal.SIGINT, previous)
    stop_if_interrupted()  # pressed after the last booklet


_renderer: Any = None
_warm = False  #: whether this process has rendered a booklet since :func:`_init_worker`


def _init_worker(config: Config, shared_folder: Path | None = None, plain: bool = False) -> None:
    global _renderer, _warm
    _renderer, _warm = Renderer(config, shared_folder=shared_folder, plain=plain or None), False


def _init_pool_worker(config: Config, shared_folder: Path | None, plain: bool) -> None:
    end_with_parent()
    _init_worker(config, shared_folder, plain)


def render_booklet(member: Member, assignment: Assignment) -> bytes:
    """The one place a batch turns (member, plan) into PDF bytes; the per-process renderer is reused."""
    global _warm
    assert _renderer is not None, "worker not initialised"
    data = bytes(_renderer.pdf(booklet_content(_renderer.config, member, assignment)))
    if not _warm:
        _warm = True
        _freeze_what_stays()
    return data


def _freeze_what_stays() -> None:
    """Keep what a warm process holds for every booklet out of Python's cyclic garbage collector.

    After its first booklet a process holds WeasyPrint's and pikepdf's modules and caches, fonts
    and the rendered shared parts; every full collection would scan them all again. Timed with
    ``gc.callbacks`` in the workers of a 30-member build: collections took 7.7 % of their CPU time,
    5.4 % with this. The collector still frees what booklets leave behind, so memory stays flat.
    """
    gc.collect()
    gc.freeze()


def _build_one(member: Member, assignment: Assignment, entry: Entry, output: Path) -> Entry:
    try:
        data = render_booklet(member, assignment)
    except Exception as exc:  # a bug or a library failure for one member must not stop the batch
        message = str(exc) if isinstance(exc, PackgenError) else f"{type(exc).__name__}: {exc}"
        (output / entry.file).unlink(missing_ok=True)  # an older booklet for this member is out of date
        entry.status, entry.error, entry.file = "failed", message, ""
        return entry
    entry.status, entry.pages, entry.sha256 = "built", pdf_page_count(data), hashlib.sha256(data).hexdigest()
    write_recorded(output, entry, data)
    return entry


def write_recorded(output: Path, entry: Entry, data: bytes) -> None:
    """Temporary file, journal line, rename: a booklet under its real name is always complete and known.

    Not synced one by one (~6 ms of waiting each): the build syncs them all once they are written."""
    record = lambda: append_journal(output, entry)  # noqa: E731
    with atomic_output(output / entry.file, before_rename=record, sync=False) as handle:
        handle.write(data)


def pdf_page_count(data: bytes) -> int:
    import io

    import pikepdf

    with pikepdf.Pdf.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)
