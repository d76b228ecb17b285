"""What a shared section may not do, checked on the booklet's own stylesheets before it is composed.

A run of shared sections is laid out as a document of its own (:mod:`packgen.render.compose`): a
running string it sets (``string-set``) never reaches the member's pages, and a counter it
increments (``counter-increment``, ``counter-set``) starts again from zero there instead of
continuing from the pages before. A template whose stylesheets do either to an element inside a
shared section would print wrong running headers or numbers without a word; such a booklet is
rendered whole instead, and the rule is named in one warning.

Stylesheets are read as the booklet links them (``<link rel="stylesheet">`` to a local file, with
its local ``@import``s, and every ``<style>``) and their selectors matched against the shared
document's elements with cssselect2, as WeasyPrint matches them. A counter the section resets
itself is its own, and fine. A stylesheet that cannot be read here (a web address) is not checked.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import cssselect2
import tinycss2
import tinyhtml5

#: properties whose effect a separate document cannot carry over to the booklet
_CARRIED = ("string-set", "counter-increment", "counter-set")
_MAX_IMPORTS = 20  #: local @imports followed per stylesheet, at most


@dataclass(frozen=True)
class Breach:
    """A stylesheet rule that does what a shared section may not."""

    where: str  #: the stylesheet and line: "print.css, line 85" or "<style> in the booklet, line 3"
    selector: str
    css_property: str
    element: str  #: what it applies to in the shared section: "<h1> 学习党章…"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    @property
    def message(self) -> str:
        return (
            f"'{self.selector} {{ {self.css_property}: … }}' applies to {self.element} in a shared "
            f"section ({{% call shared() %}}), which is laid out apart from the member's pages, so its "
            f"{'running string' if self.css_property == 'string-set' else 'counter'} would not carry over; "
            "these booklets are rendered whole (correct, but slower). Move the rule to a part that is "
            "not shared, or take the section out of shared()"
        )


@dataclass(frozen=True)
class _Rule:
    where: str
    selector: str
    css_property: str
    counters: tuple[str, ...]  #: for counter properties: the counters it names
    compiled: tuple[Any, ...]


def breaches(run_html: str, base_url: str, readable: tuple[Path, ...]) -> list[Breach]:
    """The rules of ``run_html``'s stylesheets (a shared run's document: the booklet's head, then the
    shared sections) that set running strings or counters on an element of a shared section.

    ``readable``: folders whose stylesheets may be read (the templates folders).
    """
    root = tinyhtml5.parse(run_html)
    rules = [rule for where, css in _stylesheets(root, base_url, readable) for rule in _rules(where, css)]
    if not rules:
        return []
    wrapper = cssselect2.ElementWrapper.from_html_root(root)
    body = next((e for e in wrapper.iter_subtree() if _local(e.etree_element.tag) == "body"), None)
    if body is None:
        return []
    elements = [
        e
        for e in body.iter_subtree()
        if e is not body and _local(e.etree_element.tag) not in ("style", "link")
    ]
    reset = {
        name
        for element in elements
        for rule in rules
        if rule.css_property == "counter-reset" and any(s.test(element) for s in rule.compiled)
        for name in rule.counters
    }
    found: dict[tuple[str, str, str], Breach] = {}
    for element in elements:
        for rule in rules:
            if rule.css_property == "counter-reset" or (
                rule.css_property != "string-set" and set(rule.counters) <= reset
            ):
                continue  # a reset, or a counter the sections reset themselves: nothing carries over
            if any(selector.test(element) for selector in rule.compiled):
                key = (rule.where, rule.selector, rule.css_property)
                found.setdefault(
                    key, Breach(rule.where, rule.selector, rule.css_property, _describe(element))
                )
    return list(found.values())


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _describe(element: Any) -> str:
    text = "".join(element.etree_element.itertext()).strip().replace("\n", " ")
    tag = f"<{_local(element.etree_element.tag)}>"
    return f"{tag} {text[:12]}…" if len(text) > 12 else f"{tag} {text}".rstrip()


def _stylesheets(root: Any, base_url: str, readable: tuple[Path, ...]) -> list[tuple[str, str]]:
    """(where, CSS text) of each stylesheet the document uses that can be read here, in order."""
    sheets: list[tuple[str, str]] = []
    for element in root.iter():
        tag = _local(element.tag)
        if tag == "style":
            sheets += _with_imports("<style> in the booklet", "".join(element.itertext()), base_url, readable)
        elif tag == "link" and "stylesheet" in (element.get("rel") or "").lower().split():
            path = _local_file(urljoin(base_url, element.get("href") or ""), readable)
            if path is not None:
                sheets += _with_imports(path.name, _read(path), path.as_uri(), readable)
    return sheets


def _with_imports(where: str, css: str, base_url: str, readable: tuple[Path, ...]) -> list[tuple[str, str]]:
    """A stylesheet after the local stylesheets it imports (as the cascade orders them)."""
    sheets: list[tuple[str, str]] = []
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)[:_MAX_IMPORTS]:
        if rule.type == "at-rule" and rule.lower_at_keyword == "import":
            url = next((t.value for t in rule.prelude if t.type in ("url", "string")), None)
            path = _local_file(urljoin(base_url, url), readable) if url else None
            if path is not None:
                sheets.append((path.name, _read(path)))  # one level: an import's imports are rare
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


def _rules(where: str, css: str) -> list[_Rule]:
    """The style rules of ``css`` (inside ``@media print`` too) that set a running string or counter."""
    found: list[_Rule] = []
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "at-rule" and rule.lower_at_keyword == "media" and rule.content is not None:
            if "print" in tinycss2.serialize(rule.prelude) or "all" in tinycss2.serialize(rule.prelude):
                found += _rules(where, tinycss2.serialize(rule.content))
            continue
        if rule.type != "qualified-rule":
            continue
        declarations = tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True)
        for declaration in declarations:
            if declaration.type != "declaration":
                continue
            name = declaration.lower_name
            if name not in (*_CARRIED, "counter-reset"):
                continue
            value = [t for t in declaration.value if t.type not in ("whitespace", "comment")]
            if not value or (value[0].type == "ident" and value[0].lower_value == "none"):
                continue
            counters = tuple(t.value for t in value if t.type == "ident") if name != "string-set" else ()
            try:
                compiled = tuple(cssselect2.compile_selector_list(rule.prelude))
            except cssselect2.SelectorError:
                continue  # WeasyPrint ignores it too
            selector = tinycss2.serialize(rule.prelude).strip()
            found.append(_Rule(f"{where}, line {rule.source_line}", selector, name, counters, compiled))
    return found
