"""What WeasyPrint knows of a laid-out page but keeps private: its kind (page name, blank)."""

from __future__ import annotations

from typing import Any


def page_kinds(document: Any) -> list[tuple[str, bool]] | None:
    """(page name, blank) of each page of a WeasyPrint 70 ``Document``; None if it does not say."""
    try:
        return [
            (str(page._page_box.page_type.name or ""), bool(page._page_box.page_type.blank))
            for page in document.pages
        ]
    except AttributeError:
        return None
