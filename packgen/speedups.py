"""Three costs WeasyPrint 70 pays again and again for work whose result it already has, or never uses.

All are removed without changing a byte of the PDFs WeasyPrint writes (``tests/test_speedups.py``
compares whole booklets, and documents made to defeat each shortcut, with and without them):

**Page styles.** A page's type includes its index, because ``@page :nth(…)`` selects by it. So
WeasyPrint cascades and computes the styles of every page and of its 16 margin boxes afresh for each
page, though all but a few pages of a booklet match the same ``@page`` rules. When none of a
document's page rules selects by index, two pages that differ only in their index match the same
rules and have the same styles; a later page takes the styles computed for the first page like it
(same side, blank or not, first or not, same page name and page groups). A booklet has ~38 pages: this
saves ~15 % of its CPU.

**Font subsets.** WeasyPrint subsets each font twice: first keeping the glyphs used, at their glyph
ids, then keeping every glyph id up to the last one used, to drop the empty glyphs after it and the
hinting. For a CFF font (Noto CJK and other OpenType fonts with PostScript outlines) whose first
subset already ends at the last glyph used, one subset with the no-hinting flag gives the same bytes,
~20 ms sooner for each CJK font of each booklet. Other fonts, and a subset that goes on past the last
glyph used (glyphs the used ones lead to through the font's substitutions), go WeasyPrint's way.

**Font files.** For every font of every document WeasyPrint copies the whole font file into memory
(a Noto CJK collection is ~18 MB; a booklet uses three), though the subset is made from HarfBuzz's
copy and the whole file is only written when a font is not subset. For a CFF font that packgen
subsets in one pass the copy is not made (the kernel zeroing and freeing ~55 MB a booklet took ~80
ms of CPU); any other font, and a font WeasyPrint embeds whole, is read as before.

:func:`install` applies them for WeasyPrint 70, the version they were checked against, and does
nothing with any other version: packgen then renders with WeasyPrint as it is, only slower.
"""

from __future__ import annotations

import threading
from typing import Any

#: the WeasyPrint versions these shortcuts were checked against, byte for byte
CHECKED = ("70.",)

_originals: dict[str, Any] = {}


def supported() -> bool:
    """Whether the installed WeasyPrint is one the shortcuts were checked against."""
    import weasyprint

    return weasyprint.__version__.startswith(CHECKED)


def _patches() -> list[tuple[str, Any, str, Any]]:
    """Each shortcut's place in WeasyPrint: (key in ``_originals``, owner, attribute, replacement)."""
    from weasyprint.layout import page
    from weasyprint.pdf import fonts

    return [
        ("page_styles", page, "set_page_type_computed_styles", _page_styles),
        ("subset", fonts.Font, "_harfbuzz_subset", _subset),
        ("font_init", fonts.Font, "__init__", _font_init),
        ("clean", fonts.Font, "clean", _clean),
        ("font_data", fonts, "get_hb_object_data", _font_data),
    ]


def install() -> bool:
    """Apply the shortcuts (once per process); whether they are in place."""
    if _originals:
        return True
    if not supported():
        return False
    for key, owner, attribute, replacement in _patches():
        _originals[key] = getattr(owner, attribute)
        setattr(owner, attribute, replacement)
    return True


def uninstall() -> None:
    """Put WeasyPrint back as it was (tests compare the two)."""
    if _originals:
        for key, owner, attribute, _replacement in _patches():
            setattr(owner, attribute, _originals.pop(key))


def _page_styles(page_type: Any, html: Any, style_for: Any) -> None:
    """WeasyPrint's ``set_page_type_computed_styles``, once per kind of page rather than per page."""
    kinds = style_for.__dict__.get("_packgen_page_kinds")
    if kinds is None:  # the document's first page: may its pages share styles?
        selects_by_index = any(
            selector[2].index is not None
            for sheet, _origin, _specificity in style_for._sheets
            for _rule, selectors, _declarations in sheet.page_rules
            for selector in selectors
        )
        kinds = style_for._packgen_page_kinds = False if selects_by_index else {}
    if kinds is False:
        _originals["page_styles"](page_type, html, style_for)
        return
    kind = (page_type.side, page_type.blank, page_type.name, page_type.index == 0, page_type.groups)
    computed = style_for.get_computed_styles()
    if kind in kinds:
        first, pseudo_types = kinds[kind]
        for pseudo_type in pseudo_types:
            computed[page_type, pseudo_type] = computed[first, pseudo_type]
        return
    _originals["page_styles"](page_type, html, style_for)
    kinds[kind] = (page_type, [pseudo for element, pseudo in list(computed) if element == page_type])


def _subset(font: Any, to_unicode: dict[int, str], hinting: bool) -> None:
    """WeasyPrint's ``Font._harfbuzz_subset`` in one pass for a CFF font (see the module's text)."""
    from weasyprint.pdf.fonts import ffi, get_hb_object_data, harfbuzz, harfbuzz_subset

    if "CFF " not in font.tables:
        _read(font)
        _originals["subset"](font, to_unicode, hinting)
        return
    subset_input = ffi.gc(
        harfbuzz_subset.hb_subset_input_create_or_fail(), harfbuzz_subset.hb_subset_input_destroy
    )
    glyphs = sorted(to_unicode)
    glyph_set = harfbuzz_subset.hb_subset_input_glyph_set(subset_input)
    harfbuzz.hb_set_add_sorted_array(
        glyph_set, ffi.new(f"hb_codepoint_t[{len(glyphs)}]", glyphs), len(glyphs)
    )
    flags = (
        harfbuzz_subset.HB_SUBSET_FLAGS_RETAIN_GIDS
        | harfbuzz_subset.HB_SUBSET_FLAGS_PASSTHROUGH_UNRECOGNIZED
        | harfbuzz_subset.HB_SUBSET_FLAGS_DESUBROUTINIZE
    )
    if not hinting:
        flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NO_HINTING
    if font.missing:
        flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NOTDEF_OUTLINE
    harfbuzz_subset.hb_subset_input_set_flags(subset_input, flags)
    tables = [
        harfbuzz.hb_tag_from_string(name, -1)
        for name in (
            b"BASE",
            b"DSIG",
            b"EBDT",
            b"EBLC",
            b"EBSC",
            b"GPOS",
            b"GSUB",
            b"JSTF",
            b"LTSH",
            b"PCLT",
            b"SVG ",
        )
    ]  # the tables WeasyPrint drops
    drop = harfbuzz_subset.hb_subset_input_set(subset_input, harfbuzz_subset.HB_SUBSET_SETS_DROP_TABLE_TAG)
    harfbuzz.hb_set_add_sorted_array(drop, ffi.new(f"hb_codepoint_t[{len(tables)}]", tables), len(tables))
    face = ffi.gc(harfbuzz_subset.hb_subset_or_fail(font.hb_face, subset_input), harfbuzz.hb_face_destroy)
    # Glyphs the used ones lead to (through the font's substitutions) can come after the last one
    # used; WeasyPrint's second pass drops them, so such a font goes WeasyPrint's way.
    if face and harfbuzz.hb_face_get_glyph_count(face) == glyphs[-1] + 1:
        data = get_hb_object_data(face)
        if data:
            font.file_content = data
            return
    _read(font)
    _originals["subset"](font, to_unicode, hinting)


class _Unread:
    """Stands for a font file not copied into memory; any use but replacing it fails loudly."""

    def __repr__(self) -> str:
        return "<font file not read>"


_UNREAD = _Unread()
_reading = threading.local()  #: whether this thread is in ``Font.__init__``


def _font_data(hb_object: Any) -> Any:
    """WeasyPrint's ``get_hb_object_data``; in ``Font.__init__``, the font file is not copied."""
    if getattr(_reading, "font_init", False):
        return _UNREAD
    return _originals["font_data"](hb_object)


def _font_init(font: Any, *args: Any, **kwargs: Any) -> None:
    """WeasyPrint's ``Font.__init__``; the whole file is read only for a font :func:`_subset` cannot take."""
    _reading.font_init = True
    try:
        _originals["font_init"](font, *args, **kwargs)
    finally:
        _reading.font_init = False
    plain_cff = "CFF " in font.tables and "fvar" not in font.tables
    if not plain_cff or font.bitmap or font.png or font.svg or font.colr:
        _read(font)


def _clean(font: Any, to_unicode: dict[int, str], hinting: bool) -> None:
    """WeasyPrint's ``Font.clean``; a font it embeds whole (nothing to subset by) is read first."""
    from weasyprint.pdf.fonts import harfbuzz, harfbuzz_subset

    if not to_unicode or not harfbuzz_subset or not harfbuzz.hb_version_atleast(4, 1, 0):
        _read(font)  # WeasyPrint then embeds it whole, or subsets it with fontTools from this copy
    _originals["clean"](font, to_unicode, hinting)


def _read(font: Any) -> None:
    """Copy the font's whole file into memory, as WeasyPrint does, if it has not been."""
    if font.file_content is _UNREAD:
        font.file_content = _originals["font_data"](font.hb_face)
