"""Worker processes that end with the build that started them, a time limit for work done in this
process, and the process's cyclic garbage collector paused while a large roster is read."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

DEFAULT_TIMEOUT = 120.0  #: seconds one booklet (or a template's check) may take (``--timeout``)


class TimeUp(BaseException):
    """Raised by :func:`time_limit`'s alarm. Not an ``Exception``, so no ``except Exception`` on the way
    (WeasyPrint has some) swallows it."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeUp` in the block once ``seconds`` have passed, between two Python steps (a
    worker process stuck inside C code is stopped from outside instead: see ``build.workers``). It
    comes again every second after that: one that lands in a finalizer is only printed. In the main
    thread an alarm signal raises it; in another thread (``serve`` renders in one), where no signal
    reaches, a timer thread sets it on the thread. Catch ``TimeUp`` around the ``with``: it may
    come as the block ends."""
    if threading.current_thread() is not threading.main_thread():
        with _thread_time_limit(seconds):
            yield
        return

    def alarm(signum: int, frame: Any) -> None:
        raise TimeUp

    previous = signal.signal(signal.SIGALRM, alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _thread_time_limit(seconds: float) -> Iterator[None]:
    """:func:`time_limit` outside the main thread: CPython's ``PyThreadState_SetAsyncExc`` makes the
    thread raise :class:`TimeUp` at its next Python step. When the block ends the timer is stopped
    and waited for, then a ``TimeUp`` set but not yet raised is taken back: none comes later."""
    thread, stop = threading.get_ident(), threading.Event()

    def expire() -> None:
        wait = seconds
        while not stop.wait(wait):
            _set_exception(thread, TimeUp)
            wait = 1.0

    timer = threading.Thread(target=expire, name="packgen-time-limit", daemon=True)
    timer.start()
    try:
        yield
    finally:
        stop.set()
        timer.join()
        _set_exception(thread, None)  # set as the block ended, not raised yet: taken back


def _set_exception(thread: int, exception: type[BaseException] | None) -> None:
    """Have ``thread`` raise ``exception`` at its next Python step (None: no longer)."""
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread), ctypes.py_object(exception) if exception else None
    )


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: a roster of 100,000 members is some millions of dicts,
    lists and strings made at once, none of them in a cycle, and the collector would go over all of
    them again and again as they come (40 % of the time it takes to read and plan them). Objects
    are still freed as their last reference goes; the collector runs again afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def end_with_parent() -> None:
    """In a worker process: end it once the build that started it is gone (``kill -9``, OOM killer).

    Nothing would read what it makes, and it would hold the output folder's lock.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="packgen-parent-watch", daemon=True).start()
