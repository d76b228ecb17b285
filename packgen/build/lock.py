"""One build at a time per output folder: an ``flock`` held for the build and its workers."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from packgen.errors import UsageError

LOCK_FILE = ".packgen.lock"


@contextlib.contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """Hold ``output/.packgen.lock`` for the build; a second build into the same folder is refused.

    ``flock`` is released by the kernel when the holder exits or is killed, so a lock file left
    behind never blocks the next build. The render and print-run workers a build forks share its
    lock, so no build starts while a stopped one's workers still write; they end within a second
    of their build (:func:`end_with_parent`), and a build waits that long for them.
    """
    try:
        output.mkdir(parents=True, exist_ok=True)
        fd = os.open(output / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(
            f"{output}: cannot create the output folder ({exc.strerror}); choose another with -o"
        ) from None
    try:
        locked = _try_lock(fd, output)
        holder = ""
        for _ in range(50):  # the holder is gone: its workers are ending
            if locked:
                break
            holder = _holder(fd)
            if _alive(holder):
                break
            time.sleep(0.1)
            locked = _try_lock(fd, output)
        if not locked and not _alive(holder):
            raise UsageError(
                f"{output} is still locked by the workers of a packgen build that ended (pid {holder}); "
                "wait until they stop, or build into another folder with -o"
            ) from None
        if not locked:
            raise UsageError(
                f"{output} is being built by another packgen (pid {holder}); wait for it to finish, "
                "or build into another folder with -o"
            ) from None
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    """The pid the lock's holder wrote, or "?" (unreadable: Windows locks keep others from reading)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 64).decode("ascii", "replace").strip() or "?"
    except OSError:
        return "?"


def _alive(pid: str) -> bool:
    """Whether process ``pid`` exists (a pid that cannot be read, or any on Windows, counts as alive:
    there ``os.kill(pid, 0)`` would send Ctrl-C)."""
    if not pid.isdigit() or sys.platform == "win32":
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _try_lock(fd: int, output: Path) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # also released when the process ends
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:  # a file system without locks
        raise UsageError(
            f"{output}: cannot lock the output folder ({exc.strerror}); build into a local folder with -o"
        ) from None
    return True
