"""What WeasyPrint may load while rendering a booklet: nothing a profile or template could abuse.

Allowed: ``data:`` URLs, files inside the template and workspace folders, the images the config's
chapters show (beside a chapter kept elsewhere), and ``https``/``http``
URLs on hosts the config lists under ``allowed_hosts``. Anything else stops the render with an
error naming the URL, so a template cannot read ``/etc/passwd`` or reach the network by accident.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import FatalURLFetchingError, URLFetcher


class ForbiddenURL(FatalURLFetchingError):
    """A template or stylesheet asked for a URL outside what packgen allows."""


class SafeFetcher(URLFetcher):
    """WeasyPrint's fetcher behind an allow-list; redirects are off so an allowed host cannot bounce."""

    def __init__(
        self, roots: Iterable[Path], allowed_hosts: Iterable[str] = (), files: Iterable[Path] = ()
    ) -> None:
        super().__init__(timeout=10, allow_redirects=False, fail_on_errors=True)
        self.roots = [Path(root).resolve() for root in roots]
        self.allowed_hosts = {host.lower() for host in allowed_hosts}
        self.files = {Path(file).resolve() for file in files}  #: allowed wherever they are (chapter images)

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = Path(unquote(parts.path)).resolve()
            if path in self.files or any(path.is_relative_to(root) for root in self.roots):
                return super().fetch(url, headers)
            raise ForbiddenURL(
                f"the booklet tried to load a local file outside the templates and workspace: {path}; "
                "a template may only load files inside the workspace (move the file there and link it "
                "by a relative path)"
            )
        if scheme in ("http", "https") and (parts.hostname or "").lower() in self.allowed_hosts:
            return super().fetch(url, headers)
        raise ForbiddenURL(
            f"the booklet tried to load {url}; only data: URLs, workspace files and hosts listed under "
            "allowed_hosts in packgen.yaml may be loaded"
        )
