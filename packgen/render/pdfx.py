"""PDF/X for the print shop: the markers of ``pdf/x-1a`` and ``pdf/x-4`` on a finished PDF.

WeasyPrint 70's ``pdf_variant`` writes only metadata for PDF/X (it converts no colour): the PDF
version (1.4 for X-1a, 1.6 for X-4), ``GTS_PDFXVersion`` in the Info dictionary (X-1a), ``/Trapped
/False``, an XMP packet naming the version, and an output intent only when a stylesheet declares a
CMYK profile. A booklet is composed from several WeasyPrint documents by pikepdf and a print run is
assembled from booklets, so packgen writes the same markers itself, once, on the finished file:
the same keys and XMP properties, but a document id that is a hash of the content instead of a
random one (the same inputs give the same bytes), and the output intent from the ICC profile the
config names (``page: output_profile``; packgen ships none: it comes from the print shop).

Colours stay as WeasyPrint writes them (RGB); for X-4 each page and form says they are sRGB
(``/DefaultRGB``), which X-4 accepts. X-1a allows neither RGB nor transparency, which the booklets
use: the file carries X-1a's markers but is not strictly X-1a, and no free tool here can check or
flatten it. README ("The print shop") says so.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement, register_namespace, tostring

import pikepdf

from packgen.config.checks import profile_problem
from packgen.errors import ConfigError
from packgen.render.engine import srgb_profile

VARIANTS = ("pdf/x-1a", "pdf/x-4")
#: version as the markers name it, and the PDF version the file declares
CONFORMANCE = {"pdf/x-1a": ("PDF/X-1a:2003", "1.4"), "pdf/x-4": ("PDF/X-4", "1.6")}

NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "pdfxid": "http://www.npes.org/pdfx/ns/id/",
    "pdfx": "http://ns.adobe.com/pdfx/1.3/",
}
for _prefix, _uri in NS.items():
    register_namespace(_prefix, _uri)


@dataclass(frozen=True)
class Profile:
    """An ICC output profile: its bytes, its description (the output condition) and channels."""

    data: bytes
    description: str
    channels: int


@functools.lru_cache(maxsize=4)
def read_profile(path: Path) -> Profile:
    """The ICC profile at ``path``; a file that is no printer profile is a config error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"page: output_profile: cannot read {path} ({exc.strerror or exc})") from None
    problem = profile_problem(data)
    if problem:
        raise ConfigError(f"page: output_profile: {path}: {problem}")
    channels = {b"CMYK": 4, b"GRAY": 1, b"RGB ": 3}[data[16:20]]
    return Profile(data, _description(data) or path.stem, channels)


def _description(data: bytes) -> str:
    """The profile's ``desc`` tag (ICC v2 text or v4 multi-localised), or ''."""
    (count,) = struct.unpack(">I", data[128:132])
    for index in range(min(count, 100)):
        signature, offset, size = struct.unpack(">4sII", data[132 + 12 * index : 144 + 12 * index])
        if signature != b"desc":
            continue
        tag = data[offset : offset + size]
        if tag[:4] == b"desc":
            (length,) = struct.unpack(">I", tag[8:12])
            return tag[12 : 12 + length].split(b"\0")[0].decode("latin-1").strip()
        if tag[:4] == b"mluc":
            record, first = struct.unpack(">II", tag[8:16]), 16
            length, start = struct.unpack(">II", tag[first + 4 : first + 12])
            return tag[start : start + length].decode("utf-16-be", "replace").strip() if record[0] else ""
    return ""


def mark_pdfx(pdf: pikepdf.Pdf, variant: str, profile: Profile, document_id: str) -> None:
    """Give ``pdf`` the markers of ``variant``: output intent, Info keys, XMP (save it with
    :func:`save_options`). ``document_id``: 32 hex digits or more, the same for the same content."""
    conformance, _ = CONFORMANCE[variant]
    icc = pdf.make_stream(profile.data, N=profile.channels)
    intent = pikepdf.Dictionary(
        Type=pikepdf.Name.OutputIntent,
        S=pikepdf.Name.GTS_PDFX,
        OutputConditionIdentifier=profile.description,
        Info=profile.description,
        DestOutputProfile=icc,
    )
    pdf.Root.OutputIntents = pikepdf.Array([pdf.make_indirect(intent)])
    if variant == "pdf/x-1a":
        pdf.docinfo["/GTS_PDFXVersion"] = conformance
        pdf.docinfo["/GTS_PDFXConformance"] = conformance
    pdf.docinfo["/Trapped"] = pikepdf.Name("/False")
    xmp = _xmp(pdf.docinfo, variant, document_id)
    pdf.Root.Metadata = pdf.make_stream(xmp, Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML)
    if variant == "pdf/x-4":
        _srgb_defaults(pdf)


def save_options(variant: str) -> dict[str, Any]:
    """How to save a file of ``variant`` with pikepdf: its version, and no object streams in 1.4."""
    _, version = CONFORMANCE[variant]
    options: dict[str, Any] = {"force_version": version, "deterministic_id": True}
    if version < "1.5":
        options["object_stream_mode"] = pikepdf.ObjectStreamMode.disable
    return options


def _srgb_defaults(pdf: pikepdf.Pdf) -> None:
    """``/DefaultRGB`` = sRGB in the resources of every page and form: their RGB is sRGB, not a
    device's (PDF/X-4 takes device RGB only remapped so)."""
    srgb = pikepdf.Array([pikepdf.Name.ICCBased, pdf.make_stream(srgb_profile(), N=3)])
    holders: list[Any] = [page.obj for page in pdf.pages]
    holders += [o for o in pdf.objects if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Form"]
    for holder in holders:
        resources = holder.get("/Resources")
        if not isinstance(resources, pikepdf.Dictionary):
            resources = holder.Resources = pikepdf.Dictionary()
        spaces = resources.get("/ColorSpace")
        if not isinstance(spaces, pikepdf.Dictionary):
            spaces = resources.ColorSpace = pikepdf.Dictionary()
        spaces.DefaultRGB = srgb


def _xmp(info: pikepdf.Dictionary, variant: str, document_id: str) -> bytes:
    """The XMP packet WeasyPrint writes for ``variant``, from the Info dictionary's values."""
    conformance, _ = CONFORMANCE[variant]
    rdf = Element(f"{{{NS['rdf']}}}RDF")
    about = SubElement(rdf, f"{{{NS['rdf']}}}Description", {f"{{{NS['rdf']}}}about": ""})
    if variant != "pdf/x-4":
        about.set(f"{{{NS['pdfxid']}}}part", "1")
    for key in ("pdfxid:GTS_PDFXVersion", "pdfx:GTS_PDFXVersion", "pdfx:GTS_PDFXConformance"):
        _text(about, key, conformance)
    _text(about, "pdf:Trapped", "False")
    created, modified = _iso(info.get("/CreationDate")), _iso(info.get("/ModDate"))
    if variant == "pdf/x-4":
        _text(about, "xmp:MetadataDate", modified or created)
        digest = document_id
        _text(
            about,
            "xmpMM:DocumentID",
            f"uuid:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}",
        )
        _text(about, "xmpMM:RenditionClass", "proof:pdf")
        _text(about, "xmpMM:VersionID", "1")
    for key, name in (
        ("pdf:Producer", "/Producer"),
        ("pdf:Keywords", "/Keywords"),
        ("xmp:CreatorTool", "/Creator"),
    ):
        if name in info:
            _text(about, key, str(info[name]))
    if created:
        _text(about, "xmp:CreateDate", created)
    if modified:
        _text(about, "xmp:ModifyDate", modified)
    for key, name in (("dc:title", "/Title"), ("dc:description", "/Subject")):
        if name in info:
            alternative = SubElement(SubElement(about, _qname(key)), f"{{{NS['rdf']}}}Alt")
            item = SubElement(alternative, f"{{{NS['rdf']}}}li", {"xml:lang": "x-default"})
            item.text = str(info[name])
    if "/Author" in info:
        authors = SubElement(SubElement(about, _qname("dc:creator")), f"{{{NS['rdf']}}}Seq")
        SubElement(authors, f"{{{NS['rdf']}}}li").text = str(info["/Author"])
    return (
        b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        + tostring(rdf, encoding="utf-8", xml_declaration=False)
        + b'</x:xmpmeta>\n<?xpacket end="r"?>'
    )


def _qname(key: str) -> str:
    prefix, name = key.split(":")
    return f"{{{NS[prefix]}}}{name}"


def _text(parent: Element, key: str, value: str) -> None:
    SubElement(parent, _qname(key)).text = value


def _iso(value: Any) -> str:
    """A PDF date (``D:20261130005320Z``, ``D:20261130085320+08'00'``) in ISO 8601, or ''."""
    found = re.match(r"D:(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(Z|[+-]\d\d'?\d\d'?)?", str(value or ""))
    if not found:
        return ""
    year, month, day, hour, minute, second, zone = found.groups()
    moment = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    offset = "+00:00" if zone in (None, "Z") else f"{zone[:3]}:{zone.replace(chr(39), '')[3:5]}"
    return moment.isoformat() + offset
