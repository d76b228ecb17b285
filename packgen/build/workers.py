"""Render booklets in worker processes: one booklet at a time per worker, a dead worker failing only
its booklet, a booklet past the time limit stopped, Ctrl-C finishing the booklets in hand.

Every booklet is written under a temporary name that does not end in ``.pdf``, recorded in the
build journal, then renamed: a killed build leaves only complete booklets, each one known to the
next build, which reports it ``unchanged`` instead of rendering it again.

The time limit (``--timeout``): a worker that has not finished its booklet in time is killed and
replaced, whatever it is doing (stuck inside C code too), and only that booklet fails. In-process
(one job) an alarm signal stops the booklet between two Python steps.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import multiprocessing
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from packgen.build.incremental import remove_stale_parts
from packgen.config.schema import Config
from packgen.content.plans import booklet_content
from packgen.errors import PackgenError
from packgen.files import atomic_output
from packgen.outputs.manifest import Entry, append_journal
from packgen.outputs.paths import BOOKLETS_DIR, DIGITAL_DIR
from packgen.processes import TimeUp, end_with_parent, time_limit
from packgen.render.booklet import Renderer
from packgen.roster.members import Member
from packgen.rules.ruleset import Assignment

SHARED_DIR = ".packgen-shared"  #: the render workers' shared parts during a build
WORKER_DIED = (
    "the worker process rendering this booklet died (out of memory, or killed); run the build again to retry"
)
Progress = Callable[[Entry, int, int], None]
Task = tuple[Member, Assignment, Entry]


def timed_out(seconds: float) -> str:
    """The error of a booklet stopped at the time limit."""
    return (
        f"rendering took longer than the time limit of {seconds:g} s per booklet and was stopped; "
        "if this booklet really is that large, raise the limit with --timeout SECONDS"
    )


def render_all(
    config: Config,
    todo: list[Task],
    output: Path,
    jobs: int,
    progress: Progress | None,
    stop_if_interrupted: Callable[[], None],
    *,
    offset: int,
    total: int,
    timeout: float,
    plain: bool = False,
) -> list[Entry]:
    """Render ``todo`` in-process (one job) or in worker processes, each booklet within ``timeout`` s.

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
                report(_build_in_time(member, assignment, entry, output, timeout))
        finally:
            if not frozen_before:  # this process goes on after the build: the collector sees all again
                gc.unfreeze()
        return entries
    shared: Path | None = output / SHARED_DIR  # where the workers leave shared parts for one another
    try:  # under the output folder's lock: what is there was left by a killed build
        shutil.rmtree(output / SHARED_DIR, ignore_errors=True)
        (output / SHARED_DIR).mkdir()
    except OSError:  # cannot write there: each worker renders the shared parts itself
        shared = None
    pending = iter(todo)
    workers: list[_Worker] = []
    try:
        while True:
            for worker in [w for w in workers if w.task is None] + [None] * (jobs - len(workers)):
                task = next(pending, None)
                if task is None:
                    break
                if worker is None:
                    worker = _Worker(config, output, shared, plain)
                    workers.append(worker)
                worker.give(task)
            busy = [w for w in workers if w.task is not None]
            if not busy:
                break
            deadline = min(w.deadline for w in busy)
            left = None if deadline == float("inf") else max(0.0, deadline - time.monotonic())
            wait([w.conn for w in busy] + [w.sentinel for w in busy], left)
            for worker in busy:
                finished = worker.poll(timeout)
                if finished is not None:
                    if worker.broken:
                        workers.remove(worker)
                    report(finished)
    finally:
        for worker in workers:
            worker.stop()
        # a worker killed while it wrote (past its time, or the build stopped: a full disk) leaves its
        # temporary file; no worker is left that could be writing one
        for folder in (output / BOOKLETS_DIR, output / DIGITAL_DIR):
            with contextlib.suppress(OSError):
                remove_stale_parts(folder)
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)
    return entries


class _Worker:
    """A render process with one booklet at a time: it says when it starts one (the time limit counts
    from there, not from its start-up) and sends back the entry when done."""

    def __init__(self, config: Config, output: Path, shared: Path | None, plain: bool) -> None:
        self.output = output
        self.conn, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(
            target=_serve, args=(child, config, output, shared, plain), name="packgen-render", daemon=True
        )
        self.process.start()
        child.close()
        self.sentinel = self.process.sentinel
        self.task: Task | None = None
        self.deadline = float("inf")  #: until the worker says it started the booklet
        self.broken = False

    def give(self, task: Task) -> None:
        self.task, self.deadline = task, float("inf")
        self.conn.send(task)

    def poll(self, timeout: float) -> Entry | None:
        """The finished entry, a failed one (died, past the time limit), or None while it renders."""
        assert self.task is not None
        entry = self.task[2]
        while True:
            try:
                message = self.conn.recv() if self.conn.poll() else None
            except (EOFError, OSError):
                return self._fail(entry, WORKER_DIED)
            if message != "started":
                break
            self.deadline = time.monotonic() + timeout
        if isinstance(message, OSError):  # it could not write the booklet: nor can the others
            self.task = None
            raise message
        if isinstance(message, Entry):
            self.task = None
            return message
        if not self.process.is_alive():
            return self._fail(entry, WORKER_DIED)
        if time.monotonic() >= self.deadline:
            return self._fail(entry, timed_out(timeout))
        return None

    def _fail(self, entry: Entry, message: str) -> Entry:
        self.stop()
        self.task, self.broken = None, True
        return _failed(entry, self.output, message)

    def stop(self) -> None:
        """End the process: at once when it holds a booklet (past its time, or the build stops)."""
        if self.task is not None and self.process.is_alive():
            self.process.kill()
        else:  # a word, not the pipe's end: workers forked later hold this end of the pipe too
            with contextlib.suppress(OSError):
                self.conn.send(None)
        self.conn.close()
        self.process.join(timeout=5)


def _serve(conn: Connection, config: Config, output: Path, shared: Path | None, plain: bool) -> None:
    """A render worker's life: booklets in, entries out, until the build closes the pipe."""
    end_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's: it stops between booklets
    _init_worker(config, shared, plain)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        member, assignment, entry = task
        conn.send("started")
        try:
            conn.send(_build_one(member, assignment, entry, output))
        except OSError as exc:  # cannot write the booklet (disk full?): the build stops, in the parent
            conn.send(exc)


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


def render_booklet(member: Member, assignment: Assignment) -> bytes:
    """The one place a batch turns (member, plan) into PDF bytes; the per-process renderer is reused."""
    global _warm
    assert _renderer is not None, "worker not initialised"
    data = bytes(_renderer.pdf(booklet_content(_renderer.config, member, assignment)))
    if not _warm:
        _warm = True
        _freeze_what_stays()
    return data


def render_digital(member: Member, assignment: Assignment) -> bytes:
    """The member's digital edition (:meth:`Renderer.digital`), by the same per-process renderer."""
    assert _renderer is not None, "worker not initialised"
    return bytes(_renderer.digital(booklet_content(_renderer.config, member, assignment)))


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
        digital = render_digital(member, assignment) if entry.digital else b""
    except Exception as exc:  # a bug or a library failure for one member must not stop the batch
        return _failed(
            entry, output, str(exc) if isinstance(exc, PackgenError) else f"{type(exc).__name__}: {exc}"
        )
    entry.status, entry.pages, entry.sha256 = "built", pdf_page_count(data), hashlib.sha256(data).hexdigest()
    if entry.digital:  # written first: the journal line that the booklet's rename follows covers both
        entry.digital_sha256 = hashlib.sha256(digital).hexdigest()
        (output / entry.digital).parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(output / entry.digital, sync=False) as handle:  # synced with the booklets
            handle.write(digital)
    write_recorded(output, entry, data)
    return entry


def _build_in_time(
    member: Member, assignment: Assignment, entry: Entry, output: Path, timeout: float
) -> Entry:
    """:func:`_build_one` in this process, stopped by an alarm after ``timeout`` seconds."""
    try:
        with time_limit(timeout):
            return _build_one(member, assignment, entry, output)
    except TimeUp:
        return _failed(entry, output, timed_out(timeout))


def _failed(entry: Entry, output: Path, message: str) -> Entry:
    for file in (entry.file, entry.digital):  # an older booklet for this member is out of date
        if file:
            (output / file).unlink(missing_ok=True)
    entry.status, entry.error, entry.file, entry.digital = "failed", message, "", ""
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
