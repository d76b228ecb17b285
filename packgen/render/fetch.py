"""What a booklet may load while it renders: nothing a profile or template could abuse.

Allowed: ``data:`` URLs, files inside the template and workspace folders (where the config's
chapters and their images are too), and ``https``/``http`` URLs on hosts the config lists under
``allowed_hosts``. Anything else stops the render with an error naming the URL, so a
template cannot read ``/etc/passwd`` or reach the network by accident. The engine
(:mod:`packgen.render.engine`) asks :meth:`FetchPolicy.check` before WeasyPrint fetches anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit


class ForbiddenURL(Exception):
    """A template or stylesheet asked for a URL outside what packgen allows."""


class FetchPolicy:
    """The allow-list a booklet's fetches go through; redirects are never followed (the engine's job)."""

    def __init__(self, roots: Iterable[Path], allowed_hosts: Iterable[str] = ()) -> None:
        self.roots = [Path(root).resolve() for root in roots]
        self.allowed_hosts = {host.lower() for host in allowed_hosts}

    def check(self, url: str) -> None:
        """Return if ``url`` may be fetched, else raise :class:`ForbiddenURL` saying what to do."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return
        if scheme == "file":
            path = Path(unquote(parts.path)).resolve()
            if any(path.is_relative_to(root) for root in self.roots):
                return
            raise ForbiddenURL(
                f"the booklet tried to load a local file outside the templates and workspace: {path}; "
                "a template may only load files inside the workspace (move the file there and link it "
                "by a relative path)"
            )
        if scheme in ("http", "https") and (parts.hostname or "").lower() in self.allowed_hosts:
            return
        raise ForbiddenURL(
            f"the booklet tried to load {url}; only data: URLs, workspace files and hosts listed under "
            "allowed_hosts in packgen.yaml may be loaded"
        )
