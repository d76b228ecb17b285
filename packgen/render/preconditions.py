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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cssselect2
import tinycss2
import tinyhtml5

from packgen.render.stylesheet_sources import local_name, stylesheets

#: properties whose effect a separate document cannot carry over to the booklet
_CARRIED = ("string-set", "counter-increment", "counter-set")


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
    sheets, _ = stylesheets(root, base_url, readable)  # one that cannot be read here is not checked
    rules = [rule for where, css in sheets for rule in _rules(where, css)]
    if not rules:
        return []
    wrapper = cssselect2.ElementWrapper.from_html_root(root)
    body = next((e for e in wrapper.iter_subtree() if local_name(e.etree_element.tag) == "body"), None)
    if body is None:
        return []
    elements = [
        e
        for e in body.iter_subtree()
        if e is not body and local_name(e.etree_element.tag) not in ("style", "link")
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


def _describe(element: Any) -> str:
    text = "".join(element.etree_element.itertext()).strip().replace("\n", " ")
    tag = f"<{local_name(element.etree_element.tag)}>"
    return f"{tag} {text[:12]}…" if len(text) > 12 else f"{tag} {text}".rstrip()


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
