"""The stylesheets a booklet uses, read as WeasyPrint finds them, for checks made before it renders
(:mod:`packgen.render.preconditions`, :mod:`packgen.render.margins`)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import tinycss2

_MAX_IMPORTS = 20  #: local @imports followed per stylesheet, at most


def local_name(tag: Any) -> str:
    """An element's tag without its namespace."""
    return str(tag).rsplit("}", 1)[-1]


def stylesheets(
    root: Any, base_url: str, readable: tuple[Path, ...]
) -> tuple[list[tuple[str, str]], list[str]]:
    """(where, CSS text) of each stylesheet the document (an ElementTree) uses that can be read here,
    in order; and the URLs of those that cannot (a web address, a file outside ``readable``)."""
    sheets: list[tuple[str, str]] = []
    unread: list[str] = []
    for element in root.iter():
        tag = local_name(element.tag)
        if tag == "style":
            sheets += _with_imports(
                "<style> in the booklet", "".join(element.itertext()), base_url, readable, unread
            )
        elif tag == "link" and "stylesheet" in (element.get("rel") or "").lower().split():
            url = urljoin(base_url, element.get("href") or "")
            path = _local_file(url, readable)
            if path is None:
                unread.append(url)
            else:
                sheets += _with_imports(path.name, _read(path), path.as_uri(), readable, unread)
    return sheets, unread


def _with_imports(
    where: str, css: str, base_url: str, readable: tuple[Path, ...], unread: list[str]
) -> list[tuple[str, str]]:
    """A stylesheet after the local stylesheets it imports (as the cascade orders them); what it
    imports from elsewhere is added to ``unread``. An import's own imports are not followed (rare)."""
    sheets: list[tuple[str, str]] = []
    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    for rule in rules[:_MAX_IMPORTS]:  # @import comes before every other rule
        if rule.type == "at-rule" and rule.lower_at_keyword == "import":
            url = next((t.value for t in rule.prelude if t.type in ("url", "string")), "")
            path = _local_file(urljoin(base_url, url), readable)
            if path is None:
                unread.append(urljoin(base_url, url))
            else:
                sheets.append((path.name, _read(path)))
    return [*sheets, (where, css)]


def _local_file(url: str, readable: tuple[Path, ...]) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    path = Path(unquote(parts.path)).resolve()
    if not path.is_file() or not any(path.is_relative_to(folder) for folder in readable):
        return None
    return path


@functools.lru_cache(maxsize=64)
def _read_cached(path: Path, stamp: int) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _read(path: Path) -> str:
    return _read_cached(path, path.stat().st_mtime_ns)
