"""What a booklet may not print: characters no installed font covers, and attachments.

A character no font covers would print as an empty box: the member's field, or the template's text,
that holds it is named instead. A booklet never embeds a file.
"""

from __future__ import annotations

from html.parser import HTMLParser

from packgen.content.plans import BookletContent
from packgen.errors import ConfigError, RenderError
from packgen.render.fonts import missing_glyphs


def check_member_glyphs(content: BookletContent) -> None:
    """Refuse a booklet whose member data holds characters no installed font can print.

    Every printed field is checked, extra columns too, so the error names the field to correct
    rather than leaving an empty box in print.
    """
    member = content.member
    fields = member.model_dump(
        exclude={"birth", "can_return", "large_print", "extra", "source", "plan", "inferred"}
    )
    values = [(name, str(value or "")) for name, value in fields.items()]
    values += [(header, value) for header, value in member.extra.items()]
    for field, value in values:
        missing = missing_glyphs(value)
        if missing:
            raise RenderError(
                f"{member.source} ({member.id} {member.name}): field '{field}' has characters no "
                f"installed font can print: {' '.join(f'{c} (U+{ord(c):04X})' for c in missing)}; "
                "install a font that covers them (packgen doctor lists fonts) or correct the value"
            )


class _BookletScan(HTMLParser):
    """One pass over a rendered booklet: elements asking for attachments, and the printed text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attachments: list[tuple[str, int]] = []
        self.text: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "title", "svg"):
            self._hidden += 1
        for name, value in attrs:
            if name == "rel" and "attachment" in (value or "").lower().split():
                self.attachments.append((tag, self.getpos()[0]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title", "svg") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.text.append(data)


def check_booklet_html(html: str, template: str) -> None:
    """Refuse a booklet that asks for an attachment or prints a character no font covers.

    Booklets carry no embedded files: a template asking for one (``rel="attachment"``) is an error.

    WeasyPrint would embed the file behind any ``<a>`` or ``<link>`` with that relation; profile
    data cannot add one (it is escaped), so only a template override can, and it is told so.
    """
    scan = _BookletScan()
    scan.feed(html)
    if scan.attachments:
        tag, line = scan.attachments[0]
        raise ConfigError(
            f'template {template}: <{tag} rel="attachment"> (line {line} of the rendered booklet) '
            "would embed a file in the PDF; attachments are disabled in booklets, remove the rel"
        )
    missing = missing_glyphs("".join(scan.text))
    if missing:
        raise ConfigError(
            f"template {template}: the booklet's text (from the config, a template or a materials "
            f"chapter) has characters no installed font can print: "
            f"{' '.join(f'{c} (U+{ord(c):04X})' for c in missing)}; install a font that covers them "
            "(packgen doctor lists fonts) or correct the text"
        )
