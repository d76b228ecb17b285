"""Writing output files so that an interrupted build never leaves one that looks finished, and
reading back what was written (sha256)."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO


def temp_name(path: Path) -> Path:
    """The temporary name ``path`` is written under: hidden, and never ending in the real suffix."""
    return path.with_name(f".{path.name}.part-{os.getpid()}")


@contextlib.contextmanager
def atomic_output(
    path: Path, before_rename: Callable[[], None] | None = None, *, sync: bool = True
) -> Iterator[BinaryIO]:
    """A file to write ``path`` through: written under :func:`temp_name`, synced, then renamed.

    ``before_rename`` runs once the data is written and before the file takes its real name (the
    build records the booklet in its journal there). ``sync=False`` leaves flushing to disk to the
    system (a build syncs its booklets once, after the last: :func:`sync_all`); a file the power cut
    short is then found by its sha256 on the next build and made again.
    """
    tmp = temp_name(path)
    try:
        with open(tmp, "wb") as handle:
            yield handle
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        if before_rename is not None:
            before_rename()
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename is None or exc.filename == str(
            tmp
        ):  # a full disk: name the file, not its temporary name
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sync_all() -> None:
    """Flush every file written so far to disk (where the system can: not on Windows)."""
    sync = getattr(os, "sync", None)
    if sync is not None:
        sync()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_output`."""
    with atomic_output(path) as handle:
        handle.write(data)


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, read in blocks (a print run can be hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
