"""Worker processes that end with the build that started them, and the process's cyclic garbage
collector paused while a large roster is read."""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
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
