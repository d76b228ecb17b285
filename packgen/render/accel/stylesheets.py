"""A booklet's stylesheets parsed once per process instead of once per document.

WeasyPrint parses every ``<link rel="stylesheet">`` and ``<style>`` of a document anew for each
document it lays out: the same print.css each time, about 30 ms of the ~0.9 s a member's booklet
takes. :meth:`Stylesheets.take` finds a document's stylesheets as WeasyPrint would (same elements,
same order), parses each one once, hands them to WeasyPrint as parsed ``CSS`` objects, and marks
the elements so WeasyPrint skips them.

WeasyPrint gives stylesheets handed over that way the *user* origin instead of the author one. For
the sheets of one document together that orders the same, with one exception: an ``!important``
declaration in a ``style="…"`` attribute would lose to an ``!important`` one in a sheet. A document
with ``!important`` in a style attribute is therefore left to WeasyPrint as it is (slower, never
different), as is one with a stylesheet that cannot be loaded (WeasyPrint reports it).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

#: what :meth:`Stylesheets.take` sets as the ``type`` of the elements it took, so WeasyPrint skips them
TAKEN = "text/x-packgen-parsed"


class Stylesheets:
    """Parsed stylesheets by source (the URL of a linked sheet, the text and base URL of a <style>).

    The last ``size`` are kept. ``counter_style`` and ``color_profiles`` collect what the sheets
    define (``@counter-style``, ``@color-profile``); render the documents with them.
    """

    def __init__(self, font_config: Any, size: int = 32) -> None:
        from weasyprint.css.counters import CounterStyle

        self.font_config = font_config
        self.size = size
        self.counter_style = CounterStyle()
        self.color_profiles: dict[str, Any] = {}
        self._parsed: OrderedDict[tuple[str, ...], Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self._parsed)

    def take(self, document: Any) -> list[Any] | None:
        """The stylesheets of ``document`` (a ``weasyprint.HTML``), parsed, in document order; their
        elements are marked so WeasyPrint does not load them again. ``None``, with ``document`` left
        as it was, when they cannot be handed over unchanged (see the module's docstring)."""
        found: list[tuple[Any, tuple[str, ...]]] = []
        for element in document.etree_element.iter():
            if "!important" in (element.get("style") or "").replace(" ", "").lower():
                return None
            source = _source(element, document.base_url)
            if source:
                found.append((element, source))
        try:
            sheets = [self._sheet(source, document.url_fetcher) for _, source in found]
        except Exception:  # WeasyPrint reports what a sheet cannot load: let it see the sheets itself
            return None
        for element, _ in found:
            element.set("type", TAKEN)
        return sheets

    def render_options(self, sheets: list[Any]) -> dict[str, Any]:
        """The options of ``Document.render`` that hand WeasyPrint the sheets :meth:`take` returned."""
        return {
            "stylesheets": sheets,
            "counter_style": self.counter_style,
            "color_profiles": self.color_profiles,
        }

    def _sheet(self, source: tuple[str, ...], url_fetcher: Any) -> Any:
        from weasyprint import CSS

        sheet = self._parsed.get(source)
        if sheet is None:
            options = {
                "url_fetcher": url_fetcher,
                "media_type": "print",
                "font_config": self.font_config,
                "counter_style": self.counter_style,
                "color_profiles": self.color_profiles,
            }
            if source[0] == "link":
                sheet = CSS(url=source[1], **options)
            else:
                sheet = CSS(string=source[1], base_url=source[2], **options)
            self._parsed[source] = sheet
            while len(self._parsed) > self.size:
                self._parsed.popitem(last=False)
        self._parsed.move_to_end(source)
        return sheet


def _source(element: Any, base_url: str | None) -> tuple[str, ...]:
    """Where a stylesheet element's CSS comes from, as WeasyPrint finds it: ``("link", url)`` or
    ``("style", text, base URL)``; ``()`` for an element WeasyPrint loads no stylesheet from."""
    if element.tag not in ("style", "link"):
        return ()
    from weasyprint.css import get_child_text
    from weasyprint.css.media_queries import evaluate_media_query
    from weasyprint.html import element_has_link_type, parse_url

    if element.get("type", "text/css").split(";", 1)[0].strip() != "text/css":
        return ()
    media = [medium.strip() for medium in (element.get("media", "").strip() or "all").split(",")]
    if not evaluate_media_query(media, "print"):
        return ()
    if element.tag == "style":
        return ("style", get_child_text(element), base_url or "")
    if not element.get("href") or not element_has_link_type(element, "stylesheet"):
        return ()
    if element_has_link_type(element, "alternate"):
        return ()
    url = parse_url(element.get("href"), base_url)
    return () if url is None else ("link", url)
