"""Rendered runs of shared sections kept by content, in a process and across a build's workers."""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

from packgen.render.compose import SharedPart


class SharedCache:
    """Rendered runs of shared sections, by content: a build has a few plans and routes.

    Kept in memory for one process. With a ``folder`` (a build gives its render workers one), a run
    rendered by one process is written there and read by the others instead of rendered again; a
    lock per run keeps two processes from rendering the same one at the same time.
    """

    def __init__(self, size: int = 32, folder: Path | None = None) -> None:
        self.size = size
        self.folder = folder
        self._parts: OrderedDict[str, SharedPart] = OrderedDict()

    def __len__(self) -> int:
        return len(self._parts)

    def get(self, html: str, render: Callable[[str], SharedPart]) -> SharedPart:
        """The run rendered from ``html`` (see :func:`shared_html_for`, :func:`paged_html_for`)."""
        key = hashlib.sha256(html.encode()).hexdigest()
        part = self._parts.get(key)
        if part is None:
            part = self._parts[key] = self._shared(key, html, render) if self.folder else render(html)
            while len(self._parts) > self.size:
                self._parts.popitem(last=False)
        self._parts.move_to_end(key)
        return part

    def _shared(self, key: str, html: str, render: Callable[[str], SharedPart]) -> SharedPart:
        """The run from the folder, or rendered and written there for the other processes.

        The folder only saves time: when it cannot be read or written, the run is rendered here.
        """
        assert self.folder is not None
        path = self.folder / f"{key}.part"
        try:
            with _locked(self.folder / f"{key}.lock"):
                if path.is_file():
                    part: SharedPart = pickle.loads(path.read_bytes())
                    return part
                part = render(html)
                temporary = path.with_suffix(".tmp")
                with contextlib.suppress(OSError):  # a full disk costs the others time, not this booklet
                    temporary.write_bytes(pickle.dumps(part))
                    temporary.replace(path)  # whole or absent, should this process die while writing
                return part
        except OSError:
            return render(html)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``, waiting for it (``flock``; no lock on Windows, where
    two processes may then render the same run, which costs time, not correctness)."""
    with open(path, "a") as handle:
        if sys.platform == "win32":
            yield
            return
        import fcntl

        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed or the process dies
        yield
