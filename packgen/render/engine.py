"""The one door to WeasyPrint: HTML in, laid-out documents and PDF bytes out.

Nothing else in packgen imports WeasyPrint; what leans on its internals (the shortcuts in
:mod:`packgen.render.accel`) is loaded from here, behind the version gate there. An
:class:`Engine` keeps what documents can share (the font configuration, parsed stylesheets,
images), so a process creates one per config and reuses it for every booklet.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from packgen.render import accel
from packgen.render.fetch import FetchPolicy, ForbiddenURL

__all__ = ["Engine", "ForbiddenURL", "bookmark_tree", "render_pdf", "stylesheet_warnings", "versions"]


def _fetcher(policy: FetchPolicy) -> Any:
    """A WeasyPrint URL fetcher that asks ``policy`` first; redirects are off, so an allowed host
    cannot bounce a fetch elsewhere."""
    return _fetcher_class()(policy)


@functools.cache
def _fetcher_class() -> type:
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    class Fetcher(URLFetcher):
        def __init__(self, policy: FetchPolicy) -> None:
            super().__init__(timeout=10, allow_redirects=False, fail_on_errors=True)
            self.policy = policy

        def fetch(self, url: str, headers: Any = None) -> Any:
            try:
                self.policy.check(url)
            except ForbiddenURL as exc:
                raise FatalURLFetchingError(str(exc)) from None  # fatal: WeasyPrint stops, not skips
            return super().fetch(url, headers)

    return Fetcher


@contextmanager
def _refusals() -> Iterator[None]:
    """A fetch the policy refused, as :class:`ForbiddenURL` (WeasyPrint raises it as fatal)."""
    from weasyprint.urls import FatalURLFetchingError

    try:
        yield
    except FatalURLFetchingError as exc:
        raise ForbiddenURL(str(exc)) from None


class Engine:
    """WeasyPrint for one config: fonts, parsed stylesheets and images kept between documents.

    ``shortcuts`` puts packgen's shortcuts (:mod:`packgen.render.accel`) in place while it renders,
    where the installed WeasyPrint is one they were checked against.
    """

    def __init__(self, base_url: str, policy: FetchPolicy, *, shortcuts: bool = True) -> None:
        self.base_url = base_url
        self.policy = policy
        self.shortcuts = shortcuts
        self._font_config: Any = None
        self._stylesheets: accel.Stylesheets | None = None  #: made with the font configuration
        self._image_cache: dict[str, Any] = {}

    def document(self, html: str) -> Any:
        """``html`` laid out: a WeasyPrint ``Document`` (its ``pages`` carry anchors and bookmarks)."""
        from weasyprint import HTML
        from weasyprint.text.fonts import FontConfiguration

        if self._font_config is None:
            self._font_config = FontConfiguration()
            self._stylesheets = accel.Stylesheets(self._font_config)
        assert self._stylesheets is not None
        document = HTML(string=html, base_url=self.base_url, url_fetcher=_fetcher(self.policy))
        with accel.active(self.shortcuts) as fast, _refusals():
            sheets = self._stylesheets.take(document) if fast else None  # parsed once, not per document
            if sheets is None:
                laid_out = document.render(font_config=self._font_config, cache=self._image_cache)
            else:
                laid_out = document.render(
                    font_config=self._font_config,
                    cache=self._image_cache,
                    **self._stylesheets.render_options(sheets),
                )
        laid_out.packgen_html = html  # to lay it out again, should its fonts need writing the plain way
        return laid_out

    def write_pdf(self, document: Any) -> bytes:
        with accel.active(self.shortcuts), _refusals():
            try:
                return bytes(document.write_pdf())
            except accel.FontsNotSwapped:  # laid out again and written with WeasyPrint's own subsets
                with accel.without_compact_fonts():
                    return bytes(self.document(document.packgen_html).write_pdf())

    def pdf(self, html: str) -> bytes:
        return self.write_pdf(self.document(html))


def bookmark_tree(pages: list[Any]) -> list[Any]:
    """The outline WeasyPrint would write for ``pages`` (each with ``bookmarks`` and ``height``, as a
    laid-out page has them): subtrees ``(label, (page index, x, y), children, state)`` in PDF points."""
    from weasyprint import Document

    class Pages:
        def __init__(self, pages: list[Any]) -> None:
            self.pages = pages

    return list(Document.make_bookmark_tree(Pages(pages), scale=0.75, transform_pages=True))


def render_pdf(html: str, base_url: str, policy: FetchPolicy) -> bytes:
    """One document rendered the plain way (address labels: one a build)."""
    from weasyprint import HTML

    with _refusals():
        return bytes(HTML(string=html, base_url=base_url, url_fetcher=_fetcher(policy)).write_pdf())


def stylesheet_warnings(paths: Iterable[Path]) -> dict[Path, list[tuple[int | None, str]]]:
    """What WeasyPrint would silently ignore in each stylesheet: (line, message) per declaration it
    cannot read. What a sheet imports is not fetched (a sheet it imports from the folder is checked
    on its own)."""
    from weasyprint import CSS
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class NoImports(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            return URLFetcherResponse(url, body=b"", headers={"Content-Type": "text/css"})

    ignored: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            ignored.append(record.getMessage())

    logger, handler = logging.getLogger("weasyprint"), Collect(logging.WARNING)
    found: dict[Path, list[tuple[int | None, str]]] = {}
    logger.addHandler(handler)
    try:
        for path in paths:
            ignored.clear()
            try:
                CSS(filename=str(path), url_fetcher=NoImports())
            except Exception as exc:  # unreadable: the render says so for each booklet
                ignored.append(str(exc))
            found[path] = []
            for message in ignored:
                at = re.search(r" at (\d+):\d+", message)
                found[path].append((int(at[1]) if at else None, message))
    finally:
        logger.removeHandler(handler)
    return found


def versions() -> dict[str, str]:
    """WeasyPrint's and Pango's versions; raises (OSError, ImportError) when they cannot load."""
    import weasyprint
    from weasyprint.text.ffi import pango

    number = pango.pango_version()  # e.g. 15012 for 1.50.12
    return {
        "weasyprint": weasyprint.__version__,
        "pango": f"{number // 10000}.{number // 100 % 100}.{number % 100}",
    }
