"""Worker processes that end with the build that started them."""

from __future__ import annotations

import os
import threading
import time


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
