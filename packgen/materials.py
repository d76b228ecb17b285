"""Study materials read from disk: Markdown chapters (rendered to HTML) and PDF courseware.

Nothing here knows the config (which says where a material is: ``Config.resolve_material``); a
material is read once per process unless its file changes.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import markdown

from packgen.errors import ConfigError

MATERIAL_KINDS = {".md": "markdown", ".markdown": "markdown", ".pdf": "pdf"}


@dataclass(frozen=True)
class Material:
    """One study chapter (Markdown rendered to HTML) or a PDF courseware file included as is."""

    title: str
    path: Path
    kind: str  #: "markdown" or "pdf"
    html: str = ""
    anchor: str = ""
    pages: int = 0  #: for a PDF: its page count, as the booklet will include it
    images: tuple[Path, ...] = ()  #: for a chapter: the image files it shows

    @property
    def label(self) -> str:
        """The title as lists show it, with the page count of a PDF."""
        return f"{self.title} (PDF, {self.pages} 页)" if self.kind == "pdf" else self.title


def load_material(path: Path, title: str = "") -> Material:
    """One material, read once per process unless the file changes."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(f"material '{path}' cannot be read ({exc.strerror or exc})") from None
    return _load_material(path, title, stamp)


@functools.lru_cache(maxsize=128)
def _load_material(path: Path, title: str, stamp: int) -> Material:
    anchor = "m-" + hashlib.sha1(str(path).encode()).hexdigest()[:10]
    if path.suffix.lower() == ".pdf":
        return Material(title=title or path.stem, path=path, kind="pdf", anchor=anchor, pages=pdf_pages(path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"material '{path}' cannot be read as UTF-8 Markdown ({exc})") from None
    if not text.strip():
        raise ConfigError(
            f"material '{path}' is empty; write the chapter or take it out of the plan's materials"
        )
    heading = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), path.stem)
    body = markdown.markdown(text, extensions=["tables", "sane_lists"], output_format="html")
    images: list[Path] = []
    body = _IMAGE_SRC.sub(lambda m: m[1] + _image_url(path, m[2], images) + m[3], body)
    return Material(
        title=title or heading, path=path, kind="markdown", html=body, anchor=anchor, images=tuple(images)
    )


_IMAGE_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]*)(")')


def _image_url(chapter: Path, src: str, images: list[Path]) -> str:
    """An image a chapter shows by its path (relative to the chapter, or absolute), as a file URL
    (it must exist, and is added to ``images``, which the config checks are inside the workspace)."""
    if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", src):
        return src  # a URL: the booklet's fetcher decides
    image = (chapter.parent / urllib.parse.unquote(html.unescape(src))).resolve()
    if not image.is_file():
        raise ConfigError(
            f"material '{chapter}' shows the image '{html.unescape(src)}', which is not at {image}"
        )
    images.append(image)
    return html.escape(image.as_uri())


def pdf_pages(path: Path) -> int:
    """The page count of PDF courseware; a file pikepdf cannot read is a config error."""
    import pikepdf

    encrypted = ConfigError(f"material '{path}' is an encrypted PDF; save an unprotected copy")
    try:
        with pikepdf.Pdf.open(path) as pdf:
            if pdf.is_encrypted:  # opened without a password, but still protected
                raise encrypted
            pages = len(pdf.pages)
    except pikepdf.PasswordError:
        raise encrypted from None
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        raise ConfigError(f"material '{path}' is not a readable PDF ({exc})") from None
    if pages == 0:
        raise ConfigError(f"material '{path}' is a PDF without pages")
    return pages
