"""Costs WeasyPrint 70 pays again and again for work whose result it already has, or never uses.

The first three are removed without changing a byte of the PDFs WeasyPrint writes
(``tests/test_speedups.py`` compares whole booklets, and documents made to defeat each shortcut,
with and without them); the fourth changes the font programs, not one pixel of a page:

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

**Compact font subsets.** WeasyPrint keeps each glyph at its glyph id in a subset, as the page content
names glyphs by id: a subset of a Noto CJK font holds every glyph id up to the last one used, ~780 KB
of empty glyphs and their metrics before compression, and subsetting, compressing and copying them
costs ~15 ms for each CJK font of each booklet. PDF names the glyphs of a CID-keyed CFF font by CID,
and a Noto CJK font's CIDs are its glyph ids, so its subset can hold only the glyphs used, each under
its CID (HarfBuzz keeps CIDs), written as a bare CFF font program (``/CIDFontType0C``, which viewers
read by CID; poppler reads an OpenType-wrapped one by glyph id). Booklets are a third of the size and
every page looks the same (the tests compare every page as poppler draws it). Only fonts whose CIDs
are their glyph ids, checked once per font, and without missing glyphs; :data:`compact_fonts` turns
it off.

:func:`install` applies them; :mod:`packgen.render.accel` applies them only for the WeasyPrint
version they were checked against.
"""

from __future__ import annotations

import io
import threading
from typing import Any

_originals: dict[str, Any] = {}


class FontsNotSwapped(Exception):
    """A compact font subset was not written as a bare CFF program (a WeasyPrint release that copies
    the font bytes would do that): viewers would draw other glyphs. The document must be written
    again without compact subsets."""


#: whether CID-keyed CFF fonts are subset without their empty glyphs (different bytes, same pages)
compact_fonts = True


def _patches() -> list[tuple[str, Any, str, Any]]:
    """Each shortcut's place in WeasyPrint: (key in ``_originals``, owner, attribute, replacement)."""
    import weasyprint.pdf
    from weasyprint.layout import page
    from weasyprint.pdf import fonts

    return [
        ("page_styles", page, "set_page_type_computed_styles", _page_styles),
        ("subset", fonts.Font, "_harfbuzz_subset", _subset),
        ("font_init", fonts.Font, "__init__", _font_init),
        ("clean", fonts.Font, "clean", _clean),
        ("font_data", fonts, "get_hb_object_data", _font_data),
        ("fonts_dictionary", weasyprint.pdf, "build_fonts_dictionary", _fonts_dictionary),
    ]


def installed() -> bool:
    return bool(_originals)


def install() -> bool:
    """Apply the shortcuts (once per process); whether they are in place."""
    if _originals:
        return True
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
    """WeasyPrint's ``Font._harfbuzz_subset``: compact, or in one pass, for a CFF font (see the module's text)."""
    from weasyprint.pdf.fonts import get_hb_object_data, harfbuzz, harfbuzz_subset

    if "CFF " not in font.tables:
        _read(font)
        _originals["subset"](font, to_unicode, hinting)
        return
    glyphs = sorted(to_unicode)
    flags = (
        harfbuzz_subset.HB_SUBSET_FLAGS_PASSTHROUGH_UNRECOGNIZED
        | harfbuzz_subset.HB_SUBSET_FLAGS_DESUBROUTINIZE
    )
    if not hinting:
        flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NO_HINTING
    if font.missing:
        flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NOTDEF_OUTLINE
    elif compact_fonts and _plain_cff(font) and _cids_are_glyph_ids(font):
        face = _harfbuzz(font, glyphs, flags)
        data, cff = (get_hb_object_data(face), _table(face, b"CFF ")) if face else (None, b"")
        names = set(_cid_charset(cff) or ())
        if data and names and all(f"cid{gid:05d}" in names for gid in glyphs if gid):  # CIDs kept
            font.file_content, font.packgen_cff = data, cff  # written as a bare CFF: _fonts_dictionary
            return
    face = _harfbuzz(font, glyphs, flags | harfbuzz_subset.HB_SUBSET_FLAGS_RETAIN_GIDS)
    # Glyphs the used ones lead to (through the font's substitutions) can come after the last one
    # used; WeasyPrint's second pass drops them, so such a font goes WeasyPrint's way.
    if face and harfbuzz.hb_face_get_glyph_count(face) == glyphs[-1] + 1:
        data = get_hb_object_data(face)
        if data:
            font.file_content = data
            return
    _read(font)
    _originals["subset"](font, to_unicode, hinting)


#: the tables WeasyPrint drops from a subset
_DROPPED = (b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF", b"LTSH", b"PCLT", b"SVG ")


def _harfbuzz(font: Any, glyphs: list[int], flags: int) -> Any:
    """The font's subset to ``glyphs`` (sorted) with HarfBuzz, as WeasyPrint asks for it: a face, or NULL."""
    from weasyprint.pdf.fonts import ffi, harfbuzz, harfbuzz_subset

    subset_input = ffi.gc(
        harfbuzz_subset.hb_subset_input_create_or_fail(), harfbuzz_subset.hb_subset_input_destroy
    )
    glyph_set = harfbuzz_subset.hb_subset_input_glyph_set(subset_input)
    harfbuzz.hb_set_add_sorted_array(
        glyph_set, ffi.new(f"hb_codepoint_t[{len(glyphs)}]", glyphs), len(glyphs)
    )
    harfbuzz_subset.hb_subset_input_set_flags(subset_input, flags)
    tables = [harfbuzz.hb_tag_from_string(name, -1) for name in _DROPPED]
    drop = harfbuzz_subset.hb_subset_input_set(subset_input, harfbuzz_subset.HB_SUBSET_SETS_DROP_TABLE_TAG)
    harfbuzz.hb_set_add_sorted_array(drop, ffi.new(f"hb_codepoint_t[{len(tables)}]", tables), len(tables))
    return ffi.gc(harfbuzz_subset.hb_subset_or_fail(font.hb_face, subset_input), harfbuzz.hb_face_destroy)


def _table(face: Any, tag: bytes, head: int | None = None) -> bytes:
    """A table of a HarfBuzz face (its first ``head`` bytes only, if given)."""
    from weasyprint.pdf.fonts import ffi, harfbuzz

    blob = harfbuzz.hb_face_reference_table(face, harfbuzz.hb_tag_from_string(tag, -1))
    try:
        length = ffi.new("unsigned int *")
        data = harfbuzz.hb_blob_get_data(blob, length)
        return ffi.buffer(data, length[0] if head is None else min(head, length[0]))[:] if length[0] else b""
    finally:
        harfbuzz.hb_blob_destroy(blob)


_cid_fonts: dict[bytes, bool] = {}  #: per CFF table (its first bytes): is each glyph's CID its glyph id?


def _cids_are_glyph_ids(font: Any) -> bool:
    """Whether the font's CFF is CID-keyed and each glyph's CID is its glyph id (Noto CJK, Source Han).

    WeasyPrint writes glyph ids as CIDs, and a viewer finds a bare CFF font's glyphs by CID. Read
    once per font in a process (~40 ms for a Noto CJK font of 65,535 glyphs), and known after by the
    table's header, name and top dictionary (which holds the offsets of its charset and glyphs).
    """
    key = _table(font.hb_face, b"CFF ", head=1024)
    if key not in _cid_fonts:
        names = _cid_charset(_table(font.hb_face, b"CFF "))
        _cid_fonts[key] = names is not None and all(
            name == f"cid{gid:05d}" for gid, name in enumerate(names) if gid
        )
    return _cid_fonts[key]


def _cid_charset(cff: bytes) -> list[str] | None:
    """The glyph names, by glyph id, of a CID-keyed CFF table (``cid00042`` for CID 42); None for a
    name-keyed one, or one fontTools cannot read (WeasyPrint's way then)."""
    from fontTools.cffLib import CFFFontSet

    fonts = CFFFontSet()
    try:
        fonts.decompile(io.BytesIO(cff), None)
        top = fonts.topDictIndex[0]
        return list(top.charset) if hasattr(top, "ROS") else None
    except Exception:
        return None


def _fonts_dictionary(pdf: Any, fonts: Any, compress: bool, subset: bool, options: Any) -> Any:
    """WeasyPrint's ``build_fonts_dictionary``; a compact subset is written as a bare CFF font program.

    A viewer finds the glyphs of a bare CID-keyed CFF font (``/CIDFontType0C``) by CID; poppler draws
    an OpenType-wrapped one's by glyph id, which a compact subset has renumbered. The font programs
    are found by the identity of the bytes :func:`_subset` made; a font not found that way raises
    :class:`FontsNotSwapped`, so the document is written again the plain way, never misdrawn.
    """
    result = _originals["fonts_dictionary"](pdf, fonts, compress, subset, options)
    bare = {
        id(font.file_content): font.packgen_cff for font in fonts.values() if hasattr(font, "packgen_cff")
    }
    swapped: set[int] = set()
    if bare:
        for obj in pdf.objects:
            if (
                getattr(obj, "extra", None)
                and obj.extra.get("Subtype") == "/OpenType"
                and len(obj.stream) == 1
            ):
                key = id(obj.stream[0])
                if key in bare:
                    obj.stream[0], obj.extra["Subtype"] = bare[key], "/CIDFontType0C"
                    swapped.add(key)
        if swapped != set(bare):  # each compact subset must be written bare: checked, not assumed
            raise FontsNotSwapped(
                f"{len(bare) - len(swapped)} of {len(bare)} compact font subsets not swapped"
            )
    return result


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
    if not _plain_cff(font):
        _read(font)


def _plain_cff(font: Any) -> bool:
    """A CFF font that ``Font.clean`` leaves as subset: not variable, without bitmap, colour or SVG glyphs."""
    return (
        "CFF " in font.tables
        and "fvar" not in font.tables
        and not (font.bitmap or font.png or font.svg or font.colr)
    )


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
